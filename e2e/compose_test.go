package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// podEnv is the pod under test, as deploy/test-in-docker.sh describes it to the test
// container.
type podEnv struct {
	Project, Cluster, Backend, Image string
}

func podFromEnv(t *testing.T) podEnv {
	t.Helper()
	if os.Getenv("ECS_E2E_POD") != "1" {
		t.Skip("pod test: run with make test-in-docker")
	}
	p := podEnv{
		Project: os.Getenv("ECS_E2E_POD_PROJECT"), Cluster: os.Getenv("ECS_E2E_POD_CLUSTER"),
		Backend: os.Getenv("ECS_E2E_POD_BACKEND"), Image: os.Getenv("ECS_E2E_AGENT_IMAGE"),
	}
	if p.Project == "" || p.Cluster == "" || p.Backend == "" || p.Image == "" {
		t.Fatalf("ECS_E2E_POD_PROJECT, _CLUSTER, _BACKEND and ECS_E2E_AGENT_IMAGE must all be set: %+v", p)
	}
	return p
}

// container is the ID of a service's container in the pod.
func (p podEnv) container(t *testing.T, service string) string {
	t.Helper()
	id := docker(t, "ps", "-aq", "--filter", "label=com.docker.compose.project="+p.Project,
		"--filter", "label=com.docker.compose.service="+service)
	if id == "" || strings.Contains(id, "\n") {
		t.Fatalf("pod %s: service %s has containers %q, want one", p.Project, service, id)
	}
	return id
}

// waitHealthy waits until the container's health check passes.
func waitHealthy(t *testing.T, id, what string, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, what+" healthy", func() (bool, string) {
		out, err := exec.Command("docker", "inspect", "-f", "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", id).Output()
		s := strings.TrimSpace(string(out))
		return err == nil && s == "running healthy", s
	})
}

// TestPod runs the end-to-end bus tests against the compose pod from inside a
// container on the host network (make test-in-docker): every peer task definition,
// then each of the pod's containers restarted (docker restart), killed (docker kill,
// then started) and crashed (its process SIGKILLed, the restart policy brings it
// back) under running tasks, each time followed by a new task run to its exit code;
// nothing may be lost or done twice. Then a cluster that does not exist: the agent
// says so and waits instead of restart-looping.
func TestPod(t *testing.T) {
	pod := podFromEnv(t)
	requireDocker(t)
	c := ecsClient(pod.Backend)
	ctx := context.Background()
	instance := waitInstance(t, c, pod.Cluster)
	t.Logf("container instance %s", instance)

	t.Run("peer-taskdefs", func(t *testing.T) { peerSuite(t, c, pod.Cluster) })
	if t.Failed() {
		return
	}

	t.Run("restarts", func(t *testing.T) {
		sleepTD := sleepTaskDef(t, c, "pod-sleep")
		exitTD := aws.ToString(registerTaskDefFile(t, c, sharedTestdata(t, "simple-exit.taskdef.json")).TaskDefinitionArn)
		var sleeping []string
		running := map[string]string{}
		for i := 0; i < 2; i++ {
			sleeping = append(sleeping, runTask(t, c, pod.Cluster, sleepTD))
		}
		for _, arn := range sleeping {
			waitTaskStatus(t, c, pod.Cluster, arn, "RUNNING", time.Minute)
			cs := dockerTaskContainers(t, arn)
			if len(cs) != 1 || !cs[0].Running {
				t.Fatalf("task %s: docker shows %+v", arn, cs)
			}
			running[arn] = cs[0].ID
		}
		for _, service := range []string{"bus", "dockerexec", "scheduler", "reporter", "session", "controlplane"} {
			for _, how := range []string{"restart", "kill", "crash"} {
				id := pod.container(t, service)
				start := time.Now()
				switch how {
				case "restart":
					docker(t, "restart", "-t", "10", id)
				case "kill":
					// docker kill is a manual stop to the engine (the restart policy
					// does not apply): start it again, as an operator would.
					docker(t, "kill", id)
					docker(t, "start", id)
				case "crash":
					// The process dies of SIGKILL behind the engine's back (the test
					// runs with --pid host): the pod's restart policy brings it back.
					before := docker(t, "inspect", "-f", "{{.RestartCount}}", id)
					pid, err := strconv.Atoi(docker(t, "inspect", "-f", "{{.State.Pid}}", id))
					if err != nil || pid <= 0 {
						t.Fatalf("%s: no process to kill (%d, %v)", service, pid, err)
					}
					if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
						t.Fatalf("killing %s (pid %d): %v (does the test run with --pid host?)", service, pid, err)
					}
					waitFor(t, 30*time.Second, service+" restarted by its policy", func() (bool, string) {
						now := docker(t, "inspect", "-f", "{{.RestartCount}}", id)
						return now != before, "restart count " + now
					})
				}
				waitHealthy(t, id, service, time.Minute)
				// A new task goes through every service after the restart.
				arn := runTask(t, c, pod.Cluster, exitTD)
				task := waitTaskStatus(t, c, pod.Cluster, arn, "STOPPED", 90*time.Second)
				if ec := task.Containers[0].ExitCode; ec == nil || *ec != 42 {
					t.Fatalf("after %s %s: simple-exit exit code %v, want 42", how, service, ec)
				}
				for arn, want := range running {
					cs := dockerTaskContainers(t, arn)
					if len(cs) != 1 || cs[0].ID != want || !cs[0].Running {
						t.Fatalf("after %s %s: task %s has %+v, want only %s running", how, service, arn, cs, want)
					}
					if got := aws.ToString(describeTask(t, c, pod.Cluster, arn).LastStatus); got != "RUNNING" {
						t.Fatalf("after %s %s: task %s is %s", how, service, arn, got)
					}
				}
				t.Logf("%s of %s: healthy again and a new task run to its exit code in %v", how, service, time.Since(start).Round(time.Millisecond))
			}
		}
		for _, arn := range sleeping {
			if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: &pod.Cluster, Task: aws.String(arn)}); err != nil {
				t.Fatalf("StopTask: %v", err)
			}
		}
		for _, arn := range sleeping {
			task := waitTaskStatus(t, c, pod.Cluster, arn, "STOPPED", time.Minute)
			if ec := task.Containers[0].ExitCode; ec == nil {
				t.Errorf("task %s STOPPED without the container's exit code", arn)
			}
		}
	})

	t.Run("unknown-cluster", func(t *testing.T) { unknownClusterWaits(t, pod) })
}

// unknownClusterWaits runs the agent image as the pod does (restart policy, and
// ECS_WAIT_ON_TERMINAL_ERROR) on a cluster that does not exist: it must log why and
// wait, unhealthy, without being restarted, and exit 5 when stopped.
func unknownClusterWaits(t *testing.T, pod podEnv) {
	name := fmt.Sprintf("ecs-e2e-nocluster-%d", time.Now().UnixNano()%1e9)
	cluster := "no-such-cluster-" + strconv.Itoa(os.Getpid())
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", "-v", name).Run() })
	docker(t, "run", "-d", "--name", name, "--network", "host", "--restart", "unless-stopped",
		"-e", "ECS_CLUSTER="+cluster, "-e", "ECS_WAIT_ON_TERMINAL_ERROR=true",
		"-e", "ECS_BACKEND_HOST="+pod.Backend, "-e", "AWS_DEFAULT_REGION="+region,
		"-e", "AWS_ACCESS_KEY_ID="+devAccessKey, "-e", "AWS_SECRET_ACCESS_KEY="+devSecretKey,
		"-e", "AWS_EC2_METADATA_DISABLED=true", // off EC2: nothing to ask 169.254.169.254
		"-e", "ECS_INTROSPECTION_PORT="+strconv.Itoa(freePort(t)), "-e", "ECS_TASK_ENDPOINT_PORT="+strconv.Itoa(freePort(t)),
		"-e", "ECS_METRICS_PORT=0", "-e", "ECS_LOGLEVEL=info",
		pod.Image)
	waitFor(t, 45*time.Second, "the terminal error in the log", func() (bool, string) {
		out, _ := exec.Command("docker", "logs", name).CombinedOutput()
		return strings.Contains(string(out), "waiting for SIGTERM"), lastLine(string(out))
	})
	time.Sleep(3 * time.Second)
	if got := docker(t, "inspect", "-f", "{{.RestartCount}} {{.State.Running}}", name); got != "0 true" {
		t.Fatalf("restart count and running: %q, want 0 true", got)
	}
	logs, _ := exec.Command("docker", "logs", name).CombinedOutput()
	if !strings.Contains(string(logs), cluster) {
		t.Errorf("the log does not name the cluster %s:\n%s", cluster, logs)
	}
	docker(t, "stop", "-t", "10", name)
	if got := docker(t, "inspect", "-f", "{{.State.ExitCode}} {{.RestartCount}}", name); got != "5 0" {
		t.Fatalf("after docker stop: exit code and restart count %q, want 5 0", got)
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
