package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// releaseImage is the image make release builds (ECS_E2E_AGENT_IMAGE overrides it);
// tests that need it skip when it is absent.
func releaseImage(t *testing.T) string {
	t.Helper()
	img := os.Getenv("ECS_E2E_AGENT_IMAGE")
	if img == "" {
		img = "amazon/amazon-ecs-agent:latest"
	}
	if err := exec.Command("docker", "image", "inspect", img).Run(); err != nil {
		t.Skipf("image %s missing (run make release)", img)
	}
	return img
}

// TestReleaseImageDockerRun runs the release image as the seed's README does:
//
//	docker run --name ecs-agent -d -v /var/run/docker.sock:/var/run/docker.sock \
//	  -v /var/log/ecs:/log -v /var/lib/ecs/data:/data --env-file /etc/ecs/ecs.config \
//	  -e ECS_LOGFILE=/log/ecs-agent.log amazon/amazon-ecs-agent
//
// plus --network host and ECS_BACKEND_HOST for the local control plane, with its own
// name, directories, env file and ports; no /etc/ecs/ecs.config exists in the image.
// The agent registers, runs the README's tasks, logs to /log and reports healthy.
func TestReleaseImageDockerRun(t *testing.T) {
	b := newBackend(t)
	img := releaseImage(t)
	dir := t.TempDir()
	logDir, dataDir := filepath.Join(dir, "log"), filepath.Join(dir, "data")
	for _, d := range []string{logDir, dataDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	intro := freePort(t)
	envFile := filepath.Join(dir, "ecs.config")
	config := strings.Join([]string{
		"ECS_CLUSTER=" + b.Env.Cluster,
		"AWS_DEFAULT_REGION=" + region,
		"AWS_ACCESS_KEY_ID=" + devAccessKey,
		"AWS_SECRET_ACCESS_KEY=" + devSecretKey,
		"AWS_EC2_METADATA_DISABLED=true", // off EC2: nothing to ask 169.254.169.254
		"ECS_HOST_PORT_BIND_IP=127.0.0.1",
		"ECS_IMAGE_PULL_BEHAVIOR=prefer-cached",
		"ECS_INTROSPECTION_PORT=" + strconv.Itoa(intro),
		"ECS_TASK_ENDPOINT_PORT=" + strconv.Itoa(freePort(t)),
		"ECS_METRICS_PORT=0",
	}, "\n") + "\n"
	if err := os.WriteFile(envFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("ecs-agent-e2e-%d", time.Now().UnixNano()%1e9)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command("docker", "logs", "--tail", "40", name).CombinedOutput()
			t.Logf("docker logs %s:\n%s", name, out)
		}
		_ = exec.Command("docker", "rm", "-f", "-v", name).Run()
	})
	docker(t, "run", "--name", name, "-d",
		"-v", "/var/run/docker.sock:/var/run/docker.sock",
		"-v", logDir+":/log", "-v", dataDir+":/data",
		"--env-file", envFile, "-e", "ECS_LOGFILE=/log/ecs-agent.log",
		"--network", "host", "-e", "ECS_BACKEND_HOST="+b.URL,
		img)

	c, ctx := b.ECS, context.Background()
	instance := waitInstance(t, c, b.Env.Cluster)
	td := registerTaskDefFile(t, c, sharedTestdata(t, "simple-exit.taskdef.json"))
	arn := runTask(t, c, b.Env.Cluster, aws.ToString(td.TaskDefinitionArn))
	task := waitTaskStatus(t, c, b.Env.Cluster, arn, "STOPPED", 90*time.Second)
	if ec := task.Containers[0].ExitCode; ec == nil || *ec != 42 || aws.ToString(task.StoppedReason) != "Essential container in task exited" {
		t.Fatalf("simple-exit: exit code %v, reason %q; want 42, Essential container in task exited", ec, aws.ToString(task.StoppedReason))
	}

	sleep := runTask(t, c, b.Env.Cluster, sleepTaskDef(t, c, "release-sleep"))
	waitTaskStatus(t, c, b.Env.Cluster, sleep, "RUNNING", time.Minute)
	var md struct{ Cluster, ContainerInstanceArn string }
	getJSON(t, "http://127.0.0.1:"+strconv.Itoa(intro)+"/v1/metadata", &md)
	if md.Cluster != b.Env.Cluster || md.ContainerInstanceArn != instance {
		t.Errorf("introspection /v1/metadata %+v, want %s and %s", md, b.Env.Cluster, instance)
	}
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: &b.Env.Cluster, Task: &sleep}); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	waitTaskStatus(t, c, b.Env.Cluster, sleep, "STOPPED", time.Minute)

	waitHealthy(t, name, "the agent's container", 45*time.Second)
	logged, err := os.ReadFile(filepath.Join(logDir, "ecs-agent.log"))
	if err != nil || !strings.Contains(string(logged), arn) {
		t.Errorf("/log/ecs-agent.log (%d bytes, %v) does not mention task %s", len(logged), err, arn)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "bus")); err != nil {
		t.Errorf("no bus store in the /data volume: %v", err)
	}
}
