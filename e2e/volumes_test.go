package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// dockerVolume is what `docker volume inspect` says of a volume; ok is false when
// the volume does not exist.
type dockerVolume struct {
	Driver  string
	Labels  map[string]string
	Options map[string]string
}

func inspectVolume(t *testing.T, name string) (dockerVolume, bool) {
	t.Helper()
	out, err := exec.Command("docker", "volume", "inspect", name).Output()
	if err != nil {
		return dockerVolume{}, false
	}
	var vs []dockerVolume
	if err := json.Unmarshal(out, &vs); err != nil || len(vs) != 1 {
		t.Fatalf("docker volume inspect %s: %s (%v)", name, out, err)
	}
	return vs[0], true
}

// taskVolumeNames lists the volumes labelled with a task's ARN.
func taskVolumeNames(t *testing.T, taskArn string) []string {
	t.Helper()
	out, err := exec.Command("docker", "volume", "ls", "-q", "--filter", "label=com.amazonaws.ecs.task-arn="+taskArn).Output()
	if err != nil {
		t.Fatalf("docker volume ls: %v", err)
	}
	return strings.Fields(string(out))
}

// onTmpfs is a shell test that /data is a tmpfs mount.
const onTmpfs = `grep -q ' /data tmpfs ' /proc/mounts`

func registerVolumeTaskDef(t *testing.T, c *ecs.Client, family string, vol types.Volume, containers ...types.ContainerDefinition) string {
	t.Helper()
	out, err := c.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), Volumes: []types.Volume{vol}, ContainerDefinitions: containers,
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition %s: %v", family, err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

func shellContainer(name string, essential bool, script string, mounts ...types.MountPoint) types.ContainerDefinition {
	return types.ContainerDefinition{
		Name: aws.String(name), Image: aws.String(testImage), Memory: aws.Int32(32), Essential: aws.Bool(essential),
		Command: []string{"sh", "-c", script}, MountPoints: mounts, StopTimeout: aws.Int32(2),
	}
}

func exitCodes(task types.Task) map[string]int32 {
	m := map[string]int32{}
	for _, c := range task.Containers {
		if c.ExitCode != nil {
			m[aws.ToString(c.Name)] = *c.ExitCode
		} else {
			m[aws.ToString(c.Name)] = -1
		}
	}
	return m
}

// Docker volumes of every kind a task definition can ask for, against the real
// engine: a task-scoped tmpfs volume with labels shared by two containers, a shared
// autoprovisioned volume that outlives its task, and a shared volume that is absent
// and may not be provisioned.
func TestDockerVolumes(t *testing.T) {
	b := newBackend(t)
	c, env, cp := b.ECS, b.Env, b.CP
	agent := startProc(t, "amazon-ecs-agent", binary(t, "amazon-ecs-agent"),
		append(env.vars(), "ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION=5s"))
	waitInstance(t, c, env.Cluster, agent, cp)
	data := func(vol string) types.MountPoint {
		return types.MountPoint{SourceVolume: aws.String(vol), ContainerPath: aws.String("/data")}
	}

	t.Run("task-scoped tmpfs", func(t *testing.T) {
		td := registerVolumeTaskDef(t, c, "vol-tmpfs", types.Volume{Name: aws.String("scratch"),
			DockerVolumeConfiguration: &types.DockerVolumeConfiguration{Scope: types.ScopeTask, Driver: aws.String("local"),
				DriverOpts: map[string]string{"type": "tmpfs", "device": "tmpfs"},
				Labels:     map[string]string{"e2e.cluster": env.Cluster, "e2e.kind": "tmpfs"}}},
			// Both see /data as tmpfs (their exit codes say so) and share its files.
			shellContainer("writer", false, onTmpfs+` && echo shared > /data/x`, data("scratch")),
			shellContainer("reader", true, onTmpfs+` && sleep 3 && test "$(cat /data/x)" = shared && sleep 3`, data("scratch")))
		arn := runTask(t, c, env.Cluster, td)
		waitTaskStatus(t, c, env.Cluster, arn, "RUNNING", 60*time.Second, agent, cp)
		names := taskVolumeNames(t, arn)
		if len(names) != 1 || !strings.HasPrefix(names[0], "ecs-vol-tmpfs-1-scratch-") {
			t.Fatalf("volumes labelled with the task: %q", names)
		}
		v, _ := inspectVolume(t, names[0])
		if v.Driver != "local" || v.Options["type"] != "tmpfs" || v.Labels["e2e.kind"] != "tmpfs" ||
			v.Labels["e2e.cluster"] != env.Cluster || v.Labels["com.amazonaws.ecs.cluster"] != env.Cluster {
			t.Errorf("volume %s: %+v", names[0], v)
		}
		task := waitTaskStatus(t, c, env.Cluster, arn, "STOPPED", 60*time.Second, agent, cp)
		if codes := exitCodes(task); codes["writer"] != 0 || codes["reader"] != 0 {
			t.Fatalf("exit codes %v, want 0 and 0 (non-zero: /data not tmpfs or not shared); reason %q",
				codes, aws.ToString(task.StoppedReason))
		}
		waitFor(t, 60*time.Second, "the task's volume to be removed at cleanup", func() (bool, string) {
			_, exists := inspectVolume(t, names[0])
			return !exists && len(dockerTaskContainers(t, arn)) == 0, "volume still there"
		})
	})

	t.Run("shared autoprovisioned survives its task", func(t *testing.T) {
		name := "e2e-shared-" + env.Cluster
		t.Cleanup(func() { _ = exec.Command("docker", "volume", "rm", "-f", name).Run() })
		td := registerVolumeTaskDef(t, c, "vol-shared", types.Volume{Name: aws.String(name),
			DockerVolumeConfiguration: &types.DockerVolumeConfiguration{Scope: types.ScopeShared, Autoprovision: aws.Bool(true),
				Driver: aws.String("local"), Labels: map[string]string{"e2e.cluster": env.Cluster}}},
			shellContainer("app", true, `echo kept > /data/kept`, data(name)))
		arn := runTask(t, c, env.Cluster, td)
		task := waitTaskStatus(t, c, env.Cluster, arn, "STOPPED", 60*time.Second, agent, cp)
		if codes := exitCodes(task); codes["app"] != 0 {
			t.Fatalf("exit codes %v; reason %q", codes, aws.ToString(task.StoppedReason))
		}
		waitFor(t, 60*time.Second, "the task's containers to be removed at cleanup", func() (bool, string) {
			return len(dockerTaskContainers(t, arn)) == 0, "containers still there"
		})
		time.Sleep(2 * time.Second) // the volumes go after the containers, in the same cleanup
		v, ok := inspectVolume(t, name)
		if !ok || v.Labels["e2e.cluster"] != env.Cluster {
			t.Fatalf("shared volume %s after its task's cleanup: exists %v, %+v", name, ok, v)
		}
		if _, ok := v.Labels["com.amazonaws.ecs.task-arn"]; ok {
			t.Errorf("a shared volume carries a task's label: %v", v.Labels)
		}
	})

	t.Run("shared absent without autoprovision", func(t *testing.T) {
		name := "e2e-absent-" + env.Cluster
		td := registerVolumeTaskDef(t, c, "vol-absent", types.Volume{Name: aws.String(name),
			DockerVolumeConfiguration: &types.DockerVolumeConfiguration{Scope: types.ScopeShared, Autoprovision: aws.Bool(false)}},
			shellContainer("app", true, `true`, data(name)))
		arn := runTask(t, c, env.Cluster, td)
		task := waitTaskStatus(t, c, env.Cluster, arn, "STOPPED", 60*time.Second, agent, cp)
		reason := aws.ToString(task.StoppedReason)
		if !strings.HasPrefix(reason, "ResourceInitializationError:") ||
			!strings.Contains(reason, "volume '"+name+"' does not exist and autoprovision is set to false") {
			t.Errorf("stopped reason %q", reason)
		}
		if n := len(dockerTaskContainers(t, arn)); n != 0 {
			t.Errorf("%d containers created for a task whose volume is missing", n)
		}
		if _, ok := inspectVolume(t, name); ok {
			_ = exec.Command("docker", "volume", "rm", "-f", name).Run()
			t.Errorf("volume %s was created though autoprovision is false", name)
		}
	})
}

// A task with task-level CPU and memory runs its containers under its own cgroup
// with those limits, removed at cleanup. It needs what the agent needs for it: the
// cgroupfs driver and a cgroup file system this process can write.
func TestTaskCgroup(t *testing.T) {
	requireDocker(t)
	out, err := exec.Command("docker", "info", "--format", "{{.CgroupDriver}} {{.CgroupVersion}}").Output()
	if err != nil {
		t.Fatalf("docker info: %v", err)
	}
	driver, version, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if driver != "cgroupfs" {
		t.Skipf("the engine's cgroup driver is %q: task cgroups need cgroupfs", driver)
	}
	if os.Geteuid() != 0 {
		t.Skip("not root: the agent cannot make cgroups here")
	}
	root := "/sys/fs/cgroup"
	memDir, cpuDir := filepath.Join(root, "memory"), filepath.Join(root, "cpu")
	memFile, cpuFile, cpuWant := "memory.limit_in_bytes", "cpu.cfs_quota_us", "25000"
	if version == "2" {
		memDir, cpuDir, memFile, cpuFile, cpuWant = root, root, "memory.max", "cpu.max", "25000 100000"
	}
	probe := filepath.Join(memDir, "ecs", "e2e-probe")
	if err := os.MkdirAll(probe, 0o755); err != nil {
		t.Skipf("the cgroup file system cannot be written here: %v", err)
	}
	_ = os.Remove(probe)

	b := newBackend(t)
	c, env, cp := b.ECS, b.Env, b.CP
	agent := startProc(t, "amazon-ecs-agent", binary(t, "amazon-ecs-agent"),
		append(env.vars(), "ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION=5s"))
	waitInstance(t, c, env.Cluster, agent, cp)
	reg, err := c.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("cgroup"), Cpu: aws.String("256"), Memory: aws.String("128"),
		ContainerDefinitions: []types.ContainerDefinition{shellContainer("app", true, `sleep 3600`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := runTask(t, c, env.Cluster, aws.ToString(reg.TaskDefinition.TaskDefinitionArn))
	waitTaskStatus(t, c, env.Cluster, arn, "RUNNING", 60*time.Second, agent, cp)
	id := arn[strings.LastIndex(arn, "/")+1:]
	ctrs := dockerTaskContainers(t, arn)
	if len(ctrs) != 1 {
		t.Fatalf("%d containers", len(ctrs))
	}
	parent, err := exec.Command("docker", "inspect", "--format", "{{.HostConfig.CgroupParent}}", ctrs[0].ID).Output()
	if err != nil || strings.TrimSpace(string(parent)) != "/ecs/"+id {
		t.Fatalf("container's cgroup parent %q (%v), want /ecs/%s", parent, err, id)
	}
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("reading %s: %v", p, err)
		}
		return strings.TrimSpace(string(b))
	}
	if got := read(filepath.Join(memDir, "ecs", id, memFile)); got != "134217728" {
		t.Errorf("task memory limit %s, want 134217728", got)
	}
	if got := read(filepath.Join(cpuDir, "ecs", id, cpuFile)); got != cpuWant {
		t.Errorf("task CPU quota %q, want %q", got, cpuWant)
	}
	if _, err := c.StopTask(context.Background(), &ecs.StopTaskInput{Cluster: &env.Cluster, Task: &arn}); err != nil {
		t.Fatal(err)
	}
	waitTaskStatus(t, c, env.Cluster, arn, "STOPPED", 60*time.Second, agent, cp)
	waitFor(t, 60*time.Second, "the task's cgroup to be removed at cleanup", func() (bool, string) {
		for _, d := range []string{memDir, cpuDir} {
			if _, err := os.Stat(filepath.Join(d, "ecs", id)); err == nil {
				return false, filepath.Join(d, "ecs", id) + " still there"
			}
		}
		return true, ""
	})
}
