package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// composeProject runs docker-compose on deploy/compose.yaml under its own project name.
type composeProject struct {
	t       *testing.T
	file    string
	project string
	env     []string
}

func (p composeProject) run(args ...string) string {
	p.t.Helper()
	cmd := exec.Command("docker-compose", append([]string{"-p", p.project, "-f", p.file}, args...)...)
	cmd.Env = append(os.Environ(), p.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("docker-compose %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestCompose runs the agent as the compose pod (five processes and the control plane,
// each in its own container of the agent image) and checks the same path as the
// in-process tests, including a SIGKILL of the scheduler's container. It needs the
// image ecs-agent:local and the pod's fixed loopback ports, so it runs only from
// `make test-in-docker` (ECS_E2E_COMPOSE=1).
func TestCompose(t *testing.T) {
	if os.Getenv("ECS_E2E_COMPOSE") != "1" {
		t.Skip("compose pod test: run with make test-in-docker")
	}
	requireDocker(t)
	if err := exec.Command("docker", "image", "inspect", "ecs-agent:local").Run(); err != nil {
		t.Fatalf("image ecs-agent:local missing (make test-in-docker builds it)")
	}
	for _, port := range []string{"4222", "51700", "51678", "51680"} {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 200*time.Millisecond); err == nil {
			c.Close()
			t.Fatalf("127.0.0.1:%s is already in use; the pod needs it (is another agent running?)", port)
		}
	}
	cluster := fmt.Sprintf("compose-%d", time.Now().UnixNano()%1e9)
	p := composeProject{t: t, file: filepath.Join(repoRoot(t), "deploy", "compose.yaml"),
		project: "ecs-e2e", env: []string{"ECS_CLUSTER=" + cluster, "ECS_LOGLEVEL=debug"}}
	t.Cleanup(func() {
		if t.Failed() {
			cmd := exec.Command("docker-compose", "-p", p.project, "-f", p.file, "logs", "--tail", "40")
			out, _ := cmd.CombinedOutput()
			t.Logf("pod logs:\n%s", out)
		}
		cmd := exec.Command("docker-compose", "-p", p.project, "-f", p.file, "down", "-v", "--timeout", "5")
		cmd.Env = append(os.Environ(), p.env...)
		_ = cmd.Run()
		removeClusterContainers(cluster)
	})
	p.run("up", "-d", "controlplane")
	url := "http://127.0.0.1:51700"
	waitFor(t, 20*time.Second, "control plane", func() (bool, string) {
		c, err := net.DialTimeout("tcp", "127.0.0.1:51700", time.Second)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	})
	c := ecsClient(url)
	ctx := context.Background()
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: &cluster}); err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	p.run("up", "-d")
	waitInstance(t, c, cluster)

	td := registerTaskDefFile(t, c, sharedTestdata(t, "simple-exit.taskdef.json"))
	exitArn := runTask(t, c, cluster, aws.ToString(td.TaskDefinitionArn))
	task := waitTaskStatus(t, c, cluster, exitArn, "STOPPED", 90*time.Second)
	if ec := task.Containers[0].ExitCode; ec == nil || *ec != 42 {
		t.Fatalf("simple-exit exit code %v, want 42", ec)
	}

	arn := runTask(t, c, cluster, sleepTaskDef(t, c, "compose-sleep"))
	waitTaskStatus(t, c, cluster, arn, "RUNNING", 60*time.Second)
	before := dockerTaskContainers(t, arn)
	if len(before) != 1 || !before[0].Running {
		t.Fatalf("docker shows %+v", before)
	}
	p.run("kill", "-s", "SIGKILL", "scheduler")
	p.run("up", "-d", "scheduler")
	time.Sleep(5 * time.Second)
	after := dockerTaskContainers(t, arn)
	if len(after) != 1 || after[0].ID != before[0].ID || !after[0].Running {
		t.Fatalf("after the scheduler's restart docker shows %+v, want only %s running", after, before[0].ID)
	}
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: &cluster, Task: &arn}); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	waitTaskStatus(t, c, cluster, arn, "STOPPED", 60*time.Second)
}
