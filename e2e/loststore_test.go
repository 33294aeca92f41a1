package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// containerState is what a test reads of a container through docker inspect.
type containerState struct {
	ID           string
	Running      bool
	StartedAt    string
	RestartCount int
	HostPorts    []string
}

func inspectContainer(t *testing.T, id string) containerState {
	t.Helper()
	out, err := exec.Command("docker", "inspect", "--format",
		`{"ID":{{json .Id}},"Running":{{json .State.Running}},"StartedAt":{{json .State.StartedAt}},"RestartCount":{{json .RestartCount}},"Ports":{{json .NetworkSettings.Ports}}}`, id).Output()
	if err != nil {
		t.Fatalf("docker inspect %s: %v", id, err)
	}
	var raw struct {
		ID           string
		Running      bool
		StartedAt    string
		RestartCount int
		Ports        map[string][]struct{ HostPort string }
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatalf("docker inspect %s: %v: %s", id, err, out)
	}
	st := containerState{ID: raw.ID, Running: raw.Running, StartedAt: raw.StartedAt, RestartCount: raw.RestartCount}
	for _, bs := range raw.Ports {
		for _, b := range bs {
			st.HostPorts = append(st.HostPorts, b.HostPort)
		}
	}
	return st
}

// portTaskDef is a sleep task publishing container port 80 on hostPort (0: dynamic).
func portTaskDef(t *testing.T, c *ecs.Client, family string, hostPort int32) string {
	t.Helper()
	out, err := c.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("web"), Image: aws.String(testImage), Memory: aws.Int32(32), Cpu: 10,
			Essential: aws.Bool(true), Command: []string{"sleep", "3600"}, StopTimeout: aws.Int32(2),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(hostPort)}},
		}},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

// TestLostStore is DESIGN.md §4.3 as an operator meets it: three tasks run, the agent
// is killed and its data directory wiped; the agent started again registers as the
// same container instance, adopts the three containers without restarting them,
// keeps their host ports from new tasks, and stops each on stop-task. A task the
// operator stopped while the agent was down is stopped on its return.
func TestLostStore(t *testing.T) {
	b := newBackend(t)
	c, env, cp := b.ECS, b.Env, b.CP
	ctx := context.Background()
	agent := startProc(t, "amazon-ecs-agent", binary(t, "amazon-ecs-agent"), env.vars())
	instance := waitInstance(t, c, env.Cluster, agent, cp)

	static := portTaskDef(t, c, "lost-static", int32(freePort(t)))
	dynamic := portTaskDef(t, c, "lost-dynamic", 0)
	plain := sleepTaskDef(t, c, "lost-plain")
	var arns []string
	for _, td := range []string{static, dynamic, plain, plain} {
		arns = append(arns, runTask(t, c, env.Cluster, td))
	}
	before := map[string]containerState{}
	for _, arn := range arns {
		waitTaskStatus(t, c, env.Cluster, arn, "RUNNING", time.Minute, agent, cp)
		cs := dockerTaskContainers(t, arn)
		if len(cs) != 1 {
			t.Fatalf("task %s has %d containers", arn, len(cs))
		}
		before[arn] = inspectContainer(t, cs[0].ID)
	}

	agent.kill()
	if err := os.RemoveAll(env.DataDir); err != nil {
		t.Fatal(err)
	}
	// While the agent is down the operator stops the last task.
	down := arns[3]
	arns = arns[:3]
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: &env.Cluster, Task: &down, Reason: aws.String("while away")}); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	agent = startProc(t, "amazon-ecs-agent-2", binary(t, "amazon-ecs-agent"), env.vars())
	if again := waitInstance(t, c, env.Cluster, agent, cp); again != instance {
		t.Fatalf("after the lost store the instance is %s, want %s", again, instance)
	}
	l, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: &env.Cluster})
	if err != nil || len(l.ContainerInstanceArns) != 1 {
		t.Fatalf("the cluster lists %v (%v), want the one instance", l.ContainerInstanceArns, err)
	}
	waitTaskStatus(t, c, env.Cluster, down, "STOPPED", time.Minute, agent, cp)
	t.Logf("re-registered as %s; the task stopped while away is STOPPED %v after the restart", instance, time.Since(start).Round(time.Millisecond))

	// The adopted containers: the same ones, never restarted, still RUNNING for ECS.
	time.Sleep(2 * time.Second)
	for _, arn := range arns {
		cs := dockerTaskContainers(t, arn)
		if len(cs) != 1 {
			t.Fatalf("task %s has %d containers after the restart", arn, len(cs))
		}
		after := inspectContainer(t, cs[0].ID)
		was := before[arn]
		if after.ID != was.ID || !after.Running || after.RestartCount != 0 || after.StartedAt != was.StartedAt {
			t.Fatalf("task %s: container before %+v, after %+v", arn, was, after)
		}
		if s := aws.ToString(describeTask(t, c, env.Cluster, arn).LastStatus); s != "RUNNING" {
			t.Fatalf("task %s is %s after the restart", arn, s)
		}
	}

	// Their host ports stay theirs: a task asking for the static port is refused by
	// placement, one asking for another port runs.
	clash, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: &env.Cluster, TaskDefinition: &static})
	if err != nil {
		t.Fatal(err)
	}
	if len(clash.Tasks) != 0 || len(clash.Failures) == 0 || !strings.Contains(aws.ToString(clash.Failures[0].Reason), "RESOURCE:PORTS") {
		t.Fatalf("a task on the adopted task's port: tasks %d, failures %s", len(clash.Tasks), failures(clash.Failures))
	}
	fresh := runTask(t, c, env.Cluster, portTaskDef(t, c, "lost-fresh", int32(freePort(t))))
	waitTaskStatus(t, c, env.Cluster, fresh, "RUNNING", time.Minute, agent, cp)
	// A new dynamic port comes from the same range as the adopted one's: the ledger
	// must know that one is held.
	freshDynamic := runTask(t, c, env.Cluster, dynamic)
	waitTaskStatus(t, c, env.Cluster, freshDynamic, "RUNNING", time.Minute, agent, cp)
	got := inspectContainer(t, dockerTaskContainers(t, freshDynamic)[0].ID).HostPorts
	for _, p := range before[arns[1]].HostPorts {
		for _, q := range got {
			if p == q {
				t.Fatalf("the new task got port %s of the adopted task", p)
			}
		}
	}
	t.Logf("adopted dynamic port %v, new task's %v", before[arns[1]].HostPorts, got)

	// stop-task works on every adopted task.
	all := append(arns, fresh, freshDynamic)
	for _, arn := range all {
		if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: &env.Cluster, Task: aws.String(arn)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, arn := range all {
		waitTaskStatus(t, c, env.Cluster, arn, "STOPPED", time.Minute, agent, cp)
		if cs := dockerTaskContainers(t, arn); len(cs) != 1 || cs[0].Running {
			t.Fatalf("after stop-task task %s has %+v", arn, cs)
		}
	}
}
