package e2e

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// TestAllInOne runs the all-in-one agent against the local control plane: the
// simple-exit task ends STOPPED with exit code 42; a sleep task runs with the five
// labels, shows in introspection, and stops on StopTask.
func TestAllInOne(t *testing.T) {
	b := newBackend(t)
	c, env, cp := b.ECS, b.Env, b.CP
	ctx := context.Background()
	agent := startProc(t, "amazon-ecs-agent", binary(t, "amazon-ecs-agent"), env.vars())
	instance := waitInstance(t, c, env.Cluster, agent, cp)
	t.Logf("instance %s registered", instance)

	t.Run("versions", func(t *testing.T) {
		out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").Output()
		if err != nil {
			t.Fatal(err)
		}
		d, err := c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{
			Cluster: &env.Cluster, ContainerInstances: []string{instance}})
		if err != nil || len(d.ContainerInstances) != 1 || d.ContainerInstances[0].VersionInfo == nil {
			t.Fatalf("DescribeContainerInstances: %+v, %v", d, err)
		}
		v := d.ContainerInstances[0].VersionInfo
		if want := "DockerVersion: " + strings.TrimSpace(string(out)); aws.ToString(v.DockerVersion) != want {
			t.Errorf("dockerVersion %q, want %q", aws.ToString(v.DockerVersion), want)
		}
		if aws.ToString(v.AgentVersion) != "1.105.1" {
			t.Errorf("agentVersion %q", aws.ToString(v.AgentVersion))
		}
		// agentHash is the commit the binary was built from, as the real agent's.
		if head, err := exec.Command("git", "-C", repoRoot(t), "rev-parse", "--short=8", "HEAD").Output(); err == nil {
			if want := strings.TrimSpace(string(head)); aws.ToString(v.AgentHash) != want {
				t.Errorf("agentHash %q, want the build's commit %q", aws.ToString(v.AgentHash), want)
			}
		}
	})

	t.Run("simple-exit", func(t *testing.T) {
		td := registerTaskDefFile(t, c, sharedTestdata(t, "simple-exit.taskdef.json"))
		start := time.Now()
		arn := runTask(t, c, env.Cluster, aws.ToString(td.TaskDefinitionArn))
		task := waitTaskStatus(t, c, env.Cluster, arn, "STOPPED", 90*time.Second, agent, cp)
		t.Logf("simple-exit STOPPED after %v", time.Since(start).Round(time.Millisecond))
		if len(task.Containers) != 1 {
			t.Fatalf("task has %d containers", len(task.Containers))
		}
		ct := task.Containers[0]
		if aws.ToString(ct.Name) != "exit" || ct.ExitCode == nil || *ct.ExitCode != 42 {
			t.Fatalf("container %s exit code %v, want exit / 42", aws.ToString(ct.Name), ct.ExitCode)
		}
		if aws.ToString(ct.LastStatus) != "STOPPED" {
			t.Errorf("container lastStatus %s", aws.ToString(ct.LastStatus))
		}
	})

	t.Run("sleep-run-stop", func(t *testing.T) {
		tdArn := sleepTaskDef(t, c, "e2e-sleep")
		arn := runTask(t, c, env.Cluster, tdArn)
		task := waitTaskStatus(t, c, env.Cluster, arn, "RUNNING", 60*time.Second, agent, cp)
		cs := dockerTaskContainers(t, arn)
		if len(cs) != 1 || !cs[0].Running {
			t.Fatalf("docker shows %d containers for the task: %+v", len(cs), cs)
		}
		want := map[string]string{
			"com.amazonaws.ecs.task-arn":                arn,
			"com.amazonaws.ecs.container-name":          "sleep",
			"com.amazonaws.ecs.task-definition-family":  "e2e-sleep",
			"com.amazonaws.ecs.task-definition-version": "1",
			"com.amazonaws.ecs.cluster":                 env.Cluster,
		}
		for k, v := range want {
			if cs[0].Labels[k] != v {
				t.Errorf("label %s = %q, want %q", k, cs[0].Labels[k], v)
			}
		}
		if rid := aws.ToString(task.Containers[0].RuntimeId); rid != cs[0].ID {
			t.Errorf("runtimeId %q, docker ID %q", rid, cs[0].ID)
		}

		base := "http://127.0.0.1:" + strconv.Itoa(env.IntrospectionPort)
		var md struct{ Cluster, ContainerInstanceArn, Version string }
		if code := getJSON(t, base+"/v1/metadata", &md); code != 200 || md.Cluster != env.Cluster || md.ContainerInstanceArn != instance {
			t.Errorf("/v1/metadata %d %+v, want cluster %s instance %s", code, md, env.Cluster, instance)
		}
		var tasks struct {
			Tasks []struct {
				Arn, KnownStatus string
				Containers       []struct{ DockerId, Name string }
			}
		}
		getJSON(t, base+"/v1/tasks", &tasks)
		found := false
		for _, tk := range tasks.Tasks {
			if tk.Arn == arn {
				found = true
				if tk.KnownStatus != "RUNNING" || len(tk.Containers) != 1 || tk.Containers[0].DockerId != cs[0].ID {
					t.Errorf("/v1/tasks entry %+v, want RUNNING with docker ID %s", tk, cs[0].ID)
				}
			}
		}
		if !found {
			t.Errorf("/v1/tasks does not list %s: %+v", arn, tasks)
		}

		if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: &env.Cluster, Task: &arn, Reason: aws.String("e2e")}); err != nil {
			t.Fatalf("StopTask: %v", err)
		}
		stopped := waitTaskStatus(t, c, env.Cluster, arn, "STOPPED", 60*time.Second, agent, cp)
		if r := aws.ToString(stopped.StoppedReason); r != "e2e" {
			t.Errorf("stoppedReason %q, want the StopTask reason", r)
		}
		cs = dockerTaskContainers(t, arn)
		if len(cs) != 1 || cs[0].Running {
			t.Fatalf("after StopTask docker shows %+v, want one stopped container", cs)
		}
	})
}

// TestFiveProcesses runs bus, session, scheduler, dockerexec and reporter as separate
// processes, then kills the scheduler with SIGKILL while a task runs and starts it
// again: the task stays RUNNING with the same single container, and still stops.
func TestFiveProcesses(t *testing.T) {
	b := newBackend(t)
	c, env, cp := b.ECS, b.Env, b.CP
	ctx := context.Background()
	vars := env.vars()
	busP := startProc(t, "ecs-bus", binary(t, "ecs-bus"), vars)
	dockerexec := startProc(t, "ecs-dockerexec", binary(t, "ecs-dockerexec"), vars)
	scheduler := startProc(t, "ecs-scheduler", binary(t, "ecs-scheduler"), vars)
	reporter := startProc(t, "ecs-reporter", binary(t, "ecs-reporter"), vars)
	session := startProc(t, "ecs-session", binary(t, "ecs-session"), vars)
	all := []*proc{busP, dockerexec, scheduler, reporter, session, cp}
	waitInstance(t, c, env.Cluster, all...)

	tdArn := sleepTaskDef(t, c, "e2e-restart")
	arn := runTask(t, c, env.Cluster, tdArn)
	waitTaskStatus(t, c, env.Cluster, arn, "RUNNING", 60*time.Second, all...)
	before := dockerTaskContainers(t, arn)
	if len(before) != 1 || !before[0].Running {
		t.Fatalf("before the kill docker shows %+v", before)
	}

	scheduler.kill()
	time.Sleep(time.Second)
	scheduler = startProc(t, "ecs-scheduler-2", binary(t, "ecs-scheduler"), vars)
	all[2] = scheduler
	// Give the new scheduler time to reconcile, then check nothing changed.
	time.Sleep(5 * time.Second)
	if scheduler.exited() {
		t.Fatalf("restarted scheduler exited:\n%s", scheduler.tail(40))
	}
	after := dockerTaskContainers(t, arn)
	if len(after) != 1 || after[0].ID != before[0].ID || !after[0].Running {
		t.Fatalf("after the restart docker shows %+v, want only %s running", after, before[0].ID)
	}
	if s := aws.ToString(describeTask(t, c, env.Cluster, arn).LastStatus); s != "RUNNING" {
		t.Fatalf("after the restart the task is %s", s)
	}

	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: &env.Cluster, Task: &arn}); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	stopped := waitTaskStatus(t, c, env.Cluster, arn, "STOPPED", 60*time.Second, all...)
	if r := aws.ToString(stopped.StoppedReason); r != "Task stopped by user" {
		t.Errorf("stoppedReason %q, want %q", r, "Task stopped by user")
	}
	final := dockerTaskContainers(t, arn)
	if len(final) != 1 || final[0].ID != before[0].ID || final[0].Running {
		t.Fatalf("after StopTask docker shows %+v", final)
	}
}

// TestAgentRestart kills the all-in-one agent with SIGKILL while a task runs and starts
// it again on the same data directory: the instance keeps its ARN (no second
// registration), the container keeps running untouched, and the task still stops.
func TestAgentRestart(t *testing.T) {
	b := newBackend(t)
	c, env, cp := b.ECS, b.Env, b.CP
	ctx := context.Background()
	agent := startProc(t, "amazon-ecs-agent", binary(t, "amazon-ecs-agent"), env.vars())
	instance := waitInstance(t, c, env.Cluster, agent, cp)
	arn := runTask(t, c, env.Cluster, sleepTaskDef(t, c, "e2e-agent-restart"))
	waitTaskStatus(t, c, env.Cluster, arn, "RUNNING", time.Minute, agent, cp)
	before := dockerTaskContainers(t, arn)

	agent.kill()
	agent = startProc(t, "amazon-ecs-agent-2", binary(t, "amazon-ecs-agent"), env.vars())
	if again := waitInstance(t, c, env.Cluster, agent, cp); again != instance {
		t.Fatalf("after the restart the instance is %s, want %s", again, instance)
	}
	l, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: &env.Cluster})
	if err != nil || len(l.ContainerInstanceArns) != 1 {
		t.Fatalf("cluster lists %v (%v), want the one instance", l.ContainerInstanceArns, err)
	}
	time.Sleep(3 * time.Second)
	after := dockerTaskContainers(t, arn)
	if len(before) != 1 || len(after) != 1 || after[0].ID != before[0].ID || !after[0].Running {
		t.Fatalf("containers before %+v, after %+v", before, after)
	}
	if s := aws.ToString(describeTask(t, c, env.Cluster, arn).LastStatus); s != "RUNNING" {
		t.Fatalf("after the restart the task is %s", s)
	}
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: &env.Cluster, Task: &arn}); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	waitTaskStatus(t, c, env.Cluster, arn, "STOPPED", time.Minute, agent, cp)
}
