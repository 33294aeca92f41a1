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

// TestDockerexecKilledWhileTasksStart kills dockerexec with SIGKILL while ten tasks
// are being started: once it is back, every task reaches RUNNING within seconds (the
// requests it held are retried as soon as it answers again, not after their
// timeouts), with exactly one container each.
func TestDockerexecKilledWhileTasksStart(t *testing.T) {
	b := newBackend(t)
	c, env := b.ECS, b.Env
	proxy := startDockerProxy(t)
	p := newPod(t, append(env.vars(), "DOCKER_HOST=unix://"+proxy.Socket))
	p.startAll()
	waitInstance(t, c, env.Cluster, append(p.all(), b.CP)...)
	td := sleepTaskDef(t, c, "dx-kill")
	// dockerexec dies right after the engine created the first container, before it
	// could answer: the other creates and every start are still to come.
	killed := make(chan bool, 1)
	go func() {
		killed <- proxy.arm(containerCreate, func() { p.kill("ecs-dockerexec") }, 30*time.Second)
	}()
	out, err := c.RunTask(context.Background(), &ecs.RunTaskInput{Cluster: &env.Cluster, TaskDefinition: &td, Count: aws.Int32(10)})
	if err != nil || len(out.Tasks) != 10 {
		t.Fatalf("RunTask: %d tasks, %v, failures %s", len(out.Tasks), err, failures(out.Failures))
	}
	if !<-killed {
		t.Fatal("no container was created within 30 s")
	}
	created := clusterContainers(t, env.Cluster)
	time.Sleep(time.Second)
	restarted := time.Now()
	p.start("ecs-dockerexec")
	all := append(p.all(), b.CP)
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
