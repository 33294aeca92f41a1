package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// The image lifecycle against the real engine and Debian's docker-registry: pull
// behaviours, one pull per image, and image cleanup. The engine is shared with
// other users, so every image here has a name and an ID of this test's own (built
// from the busybox test image with a label), and cleanup is never let loose on
// images the test did not make.

// buildImage builds an image of its own ID (the busybox test image with a unique
// label) tagged tag, removed when the test ends, and returns its ID.
func buildImage(t *testing.T, tag string) string {
	t.Helper()
	cmd := exec.Command("docker", "build", "-q", "-t", tag, "-")
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	cmd.Stdin = strings.NewReader(fmt.Sprintf("FROM %s\nLABEL ecs-agent-e2e=%q\n", testImage, tag+"/"+strconv.FormatInt(time.Now().UnixNano(), 36)))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker build %s: %v", tag, err)
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command("docker", "image", "rm", "-f", id).Run() })
	return id
}

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// localImageID is the ID of a local image, "" when absent.
func localImageID(ref string) string {
	out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", ref).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// imageTaskDef registers a one-container task definition that runs command in image.
func imageTaskDef(t *testing.T, c *ecs.Client, family, image string, command ...string) string {
	t.Helper()
	out, err := c.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(image), Memory: aws.Int32(16), Cpu: 2,
			Essential: aws.Bool(true), Command: command, StopTimeout: aws.Int32(2),
		}},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

// taskImageID is the image ID the task's one container was created from.
func taskImageID(t *testing.T, taskArn string) string {
	t.Helper()
	cs := dockerTaskContainers(t, taskArn)
	if len(cs) != 1 {
		t.Fatalf("task %s has %d containers", taskArn, len(cs))
	}
	return docker(t, "inspect", "--format", "{{.Image}}", cs[0].ID)
}

// staleLatest serves image ref with a new image in the registry while the engine
// holds the old one under the same name, as after someone pushed a new :latest. It
// returns the old and new image IDs.
func staleLatest(t *testing.T, ref string) (oldID, newID string) {
	t.Helper()
	newID = buildImage(t, ref)
	docker(t, "push", ref)
	oldID = buildImage(t, ref+"-old")
	docker(t, "tag", oldID, ref)
	t.Cleanup(func() { _ = exec.Command("docker", "image", "rm", "-f", ref).Run() })
	return oldID, newID
}

// TestPullBehaviorLatest: a new :latest pushed to the registry is pulled under
// default and always, so that the task runs the new image; under prefer-cached the
// cached one runs.
func TestPullBehaviorLatest(t *testing.T) {
	requireDocker(t)
	registry := startRegistry(t, freePort(t), "")
	for _, behavior := range []string{"default", "always", "prefer-cached"} {
		t.Run(behavior, func(t *testing.T) {
			ref := fmt.Sprintf("%s/latest-%s:latest", registry, behavior)
			oldID, newID := staleLatest(t, ref)
			b := newBackend(t)
			agent := startProc(t, "amazon-ecs-agent", binary(t, "amazon-ecs-agent"),
				append(b.Env.vars(), "ECS_IMAGE_PULL_BEHAVIOR="+behavior))
			waitInstance(t, b.ECS, b.Env.Cluster, agent, b.CP)
			arn := runTask(t, b.ECS, b.Env.Cluster, imageTaskDef(t, b.ECS, "latest-"+behavior, ref, "true"))
			task := waitTaskStatus(t, b.ECS, b.Env.Cluster, arn, "STOPPED", 90*time.Second, agent, b.CP)
			if ec := task.Containers[0].ExitCode; ec == nil || *ec != 0 {
				t.Fatalf("exit code %v, reason %q", ec, aws.ToString(task.Containers[0].Reason))
			}
			got := taskImageID(t, arn)
			want, pulled := newID, true
			if behavior == "prefer-cached" {
				want, pulled = oldID, false
			}
			if got != want {
				t.Errorf("the container runs image %s, want %s (old %s, new %s)", got, want, oldID, newID)
			}
			if has := task.PullStartedAt != nil && task.PullStoppedAt != nil; has != pulled {
				t.Errorf("pullStartedAt %v pullStoppedAt %v, want them only for a pull", task.PullStartedAt, task.PullStoppedAt)
			}
		})
	}
}

// TestPullOnceSurvivesRestart: under once the image is pulled by the first task,
// and neither by a second task nor by one after the agent restarted, though the
// registry has a newer image by then.
func TestPullOnceSurvivesRestart(t *testing.T) {
	requireDocker(t)
	registry := startRegistry(t, freePort(t), "")
	ref := registry + "/once:latest"
	firstID := buildImage(t, ref)
	docker(t, "push", ref)
	docker(t, "image", "rm", ref)
	t.Cleanup(func() { _ = exec.Command("docker", "image", "rm", "-f", ref).Run() })

	b := newBackend(t)
	proxy := startDockerProxy(t)
	env := append(b.Env.vars(), "ECS_IMAGE_PULL_BEHAVIOR=once", "DOCKER_HOST=unix://"+proxy.Socket)
	agent := startProc(t, "amazon-ecs-agent", binary(t, "amazon-ecs-agent"), env)
	waitInstance(t, b.ECS, b.Env.Cluster, agent, b.CP)
	td := imageTaskDef(t, b.ECS, "once", ref, "true")
	run := func(procs ...*proc) string {
		t.Helper()
		arn := runTask(t, b.ECS, b.Env.Cluster, td)
		waitTaskStatus(t, b.ECS, b.Env.Cluster, arn, "STOPPED", 90*time.Second, append(procs, b.CP)...)
		return arn
	}
	first := run(agent)
	if n := proxy.count("POST", "/images/create"); n != 1 {
		t.Fatalf("%d pulls for the first task, want 1", n)
	}
	// A newer image in the registry changes nothing under once.
	buildImage(t, ref+"-new")
	docker(t, "tag", ref+"-new", ref)
	docker(t, "push", ref)
	docker(t, "tag", firstID, ref)
	run(agent)
	agent.stop(t)
	agent = startProc(t, "amazon-ecs-agent", binary(t, "amazon-ecs-agent"), env)
	waitInstance(t, b.ECS, b.Env.Cluster, agent, b.CP)
	third := run(agent)
	if n := proxy.count("POST", "/images/create"); n != 1 {
		t.Errorf("%d pulls after three tasks and a restart, want 1", n)
	}
	if a, c := taskImageID(t, first), taskImageID(t, third); a != firstID || c != firstID {
		t.Errorf("the tasks ran %s and %s, want the first pull's %s", a, c, firstID)
	}
}

// TestPullRegistryDown: with the registry down, default runs the task with the
// cached image (and reports the failed pull's times); always stops it with
// CannotPullContainerError.
func TestPullRegistryDown(t *testing.T) {
	requireDocker(t)
	down := "127.0.0.1:" + strconv.Itoa(freePort(t)) // nothing listens there
	for _, behavior := range []string{"default", "always"} {
		t.Run(behavior, func(t *testing.T) {
			ref := fmt.Sprintf("%s/down-%s:latest", down, behavior)
			cached := buildImage(t, ref)
			b := newBackend(t)
			agent := startProc(t, "amazon-ecs-agent", binary(t, "amazon-ecs-agent"),
				append(b.Env.vars(), "ECS_IMAGE_PULL_BEHAVIOR="+behavior))
			waitInstance(t, b.ECS, b.Env.Cluster, agent, b.CP)
			arn := runTask(t, b.ECS, b.Env.Cluster, imageTaskDef(t, b.ECS, "down-"+behavior, ref, "true"))
			task := waitTaskStatus(t, b.ECS, b.Env.Cluster, arn, "STOPPED", 2*time.Minute, agent, b.CP)
			ct := task.Containers[0]
			reason := aws.ToString(ct.Reason)
			switch behavior {
			case "default":
				if ct.ExitCode == nil || *ct.ExitCode != 0 || reason != "" {
					t.Fatalf("exit code %v reason %q, want the cached image to run", ct.ExitCode, reason)
				}
				if got := taskImageID(t, arn); got != cached {
					t.Errorf("ran %s, want the cached %s", got, cached)
				}
				if task.PullStartedAt == nil || task.PullStoppedAt == nil {
					t.Errorf("the failed pull's times are not reported")
				}
			case "always":
				if !strings.HasPrefix(reason, "CannotPullContainerError:") || !strings.Contains(reason, down) {
					t.Fatalf("reason %q, want CannotPullContainerError naming the registry", reason)
				}
				if len(dockerTaskContainers(t, arn)) != 0 {
					t.Errorf("a container was created for a task whose pull failed")
				}
			}
		})
	}
}

// TestTenTasksOnePull: ten tasks started at once on one absent image make one pull.
func TestTenTasksOnePull(t *testing.T) {
	requireDocker(t)
	registry := startRegistry(t, freePort(t), "")
	ref := registry + "/ten:latest"
	buildImage(t, ref)
	docker(t, "push", ref)
	docker(t, "image", "rm", ref)
	t.Cleanup(func() { _ = exec.Command("docker", "image", "rm", "-f", ref).Run() })

	b := newBackend(t)
	proxy := startDockerProxy(t)
	agent := startProc(t, "amazon-ecs-agent", binary(t, "amazon-ecs-agent"),
		append(b.Env.vars(), "ECS_IMAGE_PULL_BEHAVIOR=always", "DOCKER_HOST=unix://"+proxy.Socket))
	waitInstance(t, b.ECS, b.Env.Cluster, agent, b.CP)
	td := imageTaskDef(t, b.ECS, "ten", ref, "true")
	out, err := b.ECS.RunTask(context.Background(), &ecs.RunTaskInput{Cluster: &b.Env.Cluster, TaskDefinition: &td, Count: aws.Int32(10)})
	if err != nil || len(out.Tasks) != 10 {
		t.Fatalf("RunTask: %d tasks, %v, failures %s", len(out.Tasks), err, failures(out.Failures))
	}
	for _, task := range out.Tasks {
		got := waitTaskStatus(t, b.ECS, b.Env.Cluster, aws.ToString(task.TaskArn), "STOPPED", 2*time.Minute, agent, b.CP)
		if ec := got.Containers[0].ExitCode; ec == nil || *ec != 0 {
			t.Fatalf("task %s: exit code %v reason %q", aws.ToString(task.TaskArn), ec, aws.ToString(got.Containers[0].Reason))
		}
	}
	if n := proxy.count("POST", "/images/create"); n != 1 {
		t.Fatalf("%d pulls for ten tasks, want 1", n)
	}
}

// TestImageCleanup: an image of a finished task, older than the minimum age, is
// removed; the image of a running task is kept.
func TestImageCleanup(t *testing.T) {
	requireDocker(t)
	registry := startRegistry(t, freePort(t), "")
	unused, used := registry+"/cleanup-unused:latest", registry+"/cleanup-used:latest"
	for _, ref := range []string{unused, used} {
		buildImage(t, ref)
		docker(t, "push", ref)
		docker(t, "image", "rm", ref)
		t.Cleanup(func() { _ = exec.Command("docker", "image", "rm", "-f", ref).Run() })
	}
	b := newBackend(t)
	agent := startProc(t, "amazon-ecs-agent", binary(t, "amazon-ecs-agent"), append(b.Env.vars(),
		"ECS_IMAGE_CLEANUP_INTERVAL=2s", "ECS_IMAGE_MINIMUM_CLEANUP_AGE=5s",
		"ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION=1s", "ECS_EXCLUDE_UNTRACKED_IMAGE="+testImage))
	waitInstance(t, b.ECS, b.Env.Cluster, agent, b.CP)
	done := runTask(t, b.ECS, b.Env.Cluster, imageTaskDef(t, b.ECS, "cleanup-unused", unused, "true"))
	running := runTask(t, b.ECS, b.Env.Cluster, imageTaskDef(t, b.ECS, "cleanup-used", used, "sleep", "3600"))
	waitTaskStatus(t, b.ECS, b.Env.Cluster, done, "STOPPED", 90*time.Second, agent, b.CP)
	waitTaskStatus(t, b.ECS, b.Env.Cluster, running, "RUNNING", 90*time.Second, agent, b.CP)
	usedID := localImageID(used)
	if usedID == "" || localImageID(unused) == "" {
		t.Fatal("the tasks' images were not pulled")
	}
	start := time.Now()
	waitFor(t, 60*time.Second, "the unused image to be removed", func() (bool, string) {
		if id := localImageID(unused); id != "" {
			return false, unused + " is still " + id
		}
		return true, ""
	})
	t.Logf("unused image removed %v after its task stopped", time.Since(start).Round(time.Second))
	time.Sleep(5 * time.Second) // two more cycles
	if id := localImageID(used); id != usedID {
		t.Fatalf("the running task's image is %q, want it kept (%s)", id, usedID)
	}
	if cs := dockerTaskContainers(t, running); len(cs) != 1 || !cs[0].Running {
		t.Fatalf("the running task's container: %+v", cs)
	}
	if localImageID(testImage) == "" {
		t.Fatal("the shared test image is gone")
	}
}
