package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// fiveProcesses starts bus, dockerexec, scheduler, reporter and session as separate
// processes and waits for the instance.
func fiveProcesses(t *testing.T, b backend) map[string]*proc {
	t.Helper()
	vars := b.Env.vars()
	ps := map[string]*proc{}
	for _, name := range []string{"ecs-bus", "ecs-dockerexec", "ecs-scheduler", "ecs-reporter", "ecs-session"} {
		ps[name] = startProc(t, name, binary(t, name), vars)
	}
	waitInstance(t, b.ECS, b.Env.Cluster, b.CP, ps["ecs-session"], ps["ecs-dockerexec"])
	return ps
}

// TestDockerexecKilledWhileTasksStart kills dockerexec with SIGKILL while ten tasks
// are being started: once it is back, every task reaches RUNNING within seconds (the
// requests it held are retried as soon as it answers again, not after their
// timeouts), with exactly one container each.
func TestDockerexecKilledWhileTasksStart(t *testing.T) {
	b := newBackend(t)
	c, env := b.ECS, b.Env
	ps := fiveProcesses(t, b)
	td := sleepTaskDef(t, c, "dx-kill")
	out, err := c.RunTask(context.Background(), &ecs.RunTaskInput{Cluster: &env.Cluster, TaskDefinition: &td, Count: aws.Int32(10)})
	if err != nil || len(out.Tasks) != 10 {
		t.Fatalf("RunTask: %d tasks, %v, failures %s", len(out.Tasks), err, failures(out.Failures))
	}
	// Kill it as soon as the first containers exist: the rest are in flight.
	waitFor(t, 30*time.Second, "the first containers", func() (bool, string) {
		n := clusterContainers(t, env.Cluster)
		return n >= 1, ""
	})
	ps["ecs-dockerexec"].kill()
	created := clusterContainers(t, env.Cluster)
	time.Sleep(time.Second)
	restarted := time.Now()
	ps["ecs-dockerexec"] = startProc(t, "ecs-dockerexec-2", binary(t, "ecs-dockerexec"), env.vars())
	all := []*proc{b.CP, ps["ecs-dockerexec"], ps["ecs-scheduler"]}
	for _, task := range out.Tasks {
		left := 10*time.Second - time.Since(restarted)
		waitTaskStatus(t, c, env.Cluster, aws.ToString(task.TaskArn), "RUNNING", max(left, time.Millisecond), all...)
	}
	t.Logf("dockerexec killed with %d of 10 containers created; every task RUNNING %v after its restart",
		created, time.Since(restarted).Round(time.Millisecond))
	for _, task := range out.Tasks {
		cs := dockerTaskContainers(t, aws.ToString(task.TaskArn))
		if len(cs) != 1 || !cs[0].Running {
			t.Fatalf("task %s has %+v, want one running container", aws.ToString(task.TaskArn), cs)
		}
	}
}

// clusterContainers counts the containers of a cluster.
func clusterContainers(t *testing.T, cluster string) int {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "-q", "--filter", "label=com.amazonaws.ecs.cluster="+cluster).Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	return len(strings.Fields(string(out)))
}
