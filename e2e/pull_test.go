package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// localRegistry starts Debian's docker-registry on 127.0.0.1 (on 51670, the port the
// peer task definitions name, when it is free) and pushes the busybox test image into
// it. It returns the registry's host:port; the image is removed from the local engine so
// that using it needs a pull.
func localRegistry(t *testing.T) string {
	t.Helper()
	port := 51670
	if l, err := net.Listen("tcp", "127.0.0.1:51670"); err != nil {
		port = freePort(t)
	} else {
		l.Close()
	}
	addr := startRegistry(t, port, "")
	image := addr + "/busybox:latest"
	for _, args := range [][]string{{"tag", testImage, image}, {"push", image}, {"image", "rm", image}} {
		if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return addr
}

// startRegistry runs Debian's docker-registry on 127.0.0.1:port with the extra
// configuration lines given (an auth section, say), and returns its host:port once
// it listens.
func startRegistry(t *testing.T, port int, extraConf string) string {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skip("docker-registry is not installed (apt-get install docker-registry)")
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n%shttp:\n  addr: %s\n",
		filepath.Join(dir, "data"), extraConf, addr)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	startProc(t, "docker-registry", bin, nil, "serve", cfg)
	waitFor(t, 15*time.Second, "the registry to listen", func() (bool, string) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	})
	return addr
}

// simpleExitFromRegistry runs simple-exit, its image served by a local registry and
// absent from the engine, on the all-in-one agent until it is STOPPED.
func simpleExitFromRegistry(t *testing.T) (registry, image string, b backend, arn string, task types.Task) {
	t.Helper()
	requireDocker(t)
	registry = localRegistry(t)
	image = registry + "/busybox:latest"
	t.Cleanup(func() { _ = exec.Command("docker", "image", "rm", "-f", image).Run() })

	b = newBackend(t)
	agent := startProc(t, "amazon-ecs-agent", binary(t, "amazon-ecs-agent"), b.Env.vars())
	waitInstance(t, b.ECS, b.Env.Cluster, agent, b.CP)
	in := peerTaskDef(t, "simple-exit")
	in.ContainerDefinitions[0].Image = aws.String(image)
	td, err := b.ECS.RegisterTaskDefinition(t.Context(), &in)
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	arn = runTask(t, b.ECS, b.Env.Cluster, aws.ToString(td.TaskDefinition.TaskDefinitionArn))
	task = waitTaskStatus(t, b.ECS, b.Env.Cluster, arn, "STOPPED", 2*time.Minute, agent, b.CP)
	return registry, image, b, arn, task
}

// TestPullFromLocalRegistry runs simple-exit with its original image name,
// 127.0.0.1:51670/busybox:latest, served by a local registry and absent from the
// engine: the agent pulls it, and the task ends as usual.
func TestPullFromLocalRegistry(t *testing.T) {
	registry, image, _, _, task := simpleExitFromRegistry(t)
	if ec := task.Containers[0].ExitCode; ec == nil || *ec != 42 {
		t.Fatalf("exit code %v (reason %q), want 42", ec, aws.ToString(task.Containers[0].Reason))
	}
	if task.PullStartedAt == nil || task.PullStoppedAt == nil {
		t.Errorf("pullStartedAt/pullStoppedAt not reported: %v %v", task.PullStartedAt, task.PullStoppedAt)
	}
	if out, err := exec.Command("docker", "image", "inspect", "--format", "{{json .RepoDigests}}", image).CombinedOutput(); err != nil {
		t.Fatalf("the image is not in the engine after the task: %v %s", err, out)
	} else if !strings.Contains(string(out), registry+"/busybox@sha256:") {
		t.Errorf("image has no digest from the registry: %s", out)
	}
}
