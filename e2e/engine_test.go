package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// cpReport is one report the control plane recorded (GET /admin/reports?task=).
type cpReport struct {
	Status     string    `json:"status"`
	Reason     string    `json:"reason"`
	ReceivedAt time.Time `json:"receivedAt"`
	Containers []struct {
		Name        string `json:"containerName"`
		Status      string `json:"status"`
		ExitCode    *int64 `json:"exitCode"`
		ImageDigest string `json:"imageDigest"`
	} `json:"containers"`
}

func reports(t *testing.T, b backend, arn string) []cpReport {
	t.Helper()
	var out struct {
		Reports []cpReport `json:"reports"`
	}
	if code := getJSON(t, b.URL+"/admin/reports?task="+arn, &out); code != http.StatusOK {
		t.Fatalf("GET /admin/reports: %d", code)
	}
	return out.Reports
}

// introspectionTask is the part of a /v1/tasks answer these tests read.
type introspectionTask struct {
	KnownStatus string
	Waiting     string
	Containers  []struct {
		Name         string
		DockerId     string
		RestartCount *int
	}
	Stages []struct {
		Name   string
		Stages []struct {
			Stage     string
			StartedAt time.Time
			EndedAt   *time.Time
		}
	}
}

func introspect(t *testing.T, b backend, arn string) (introspectionTask, int) {
	t.Helper()
	var task introspectionTask
	code := getJSON(t, fmt.Sprintf("http://127.0.0.1:%d/v1/tasks?taskarn=%s", b.Env.IntrospectionPort, arn), &task)
	return task, code
}

func registerTaskDef(t *testing.T, b backend, family string, cs ...types.ContainerDefinition) string {
	t.Helper()
	out, err := b.ECS.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), ContainerDefinitions: cs})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition %s: %v", family, err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

func busybox(name string, essential bool, cmd ...string) types.ContainerDefinition {
	return types.ContainerDefinition{Name: aws.String(name), Image: aws.String(testImage), Memory: aws.Int32(32),
		Essential: aws.Bool(essential), Command: cmd, StopTimeout: aws.Int32(1)}
}

// TestReportSequenceFromRegistry: simple-exit pulled from the local registry is
// reported PENDING (its container PENDING with the image digest), then RUNNING, then
// STOPPED with exit code 42, in that order.
func TestReportSequenceFromRegistry(t *testing.T) {
	_, _, b, arn, _ := simpleExitFromRegistry(t)
	got := reports(t, b, arn)
	var seq []string
	for _, r := range got {
		seq = append(seq, r.Status)
	}
	if strings.Join(seq, " ") != "PENDING RUNNING STOPPED" {
		t.Fatalf("reports %v, want PENDING RUNNING STOPPED: %+v", seq, got)
	}
	pending := got[0]
	if len(pending.Containers) != 1 || pending.Containers[0].Status != "PENDING" ||
		!strings.HasPrefix(pending.Containers[0].ImageDigest, "sha256:") {
		t.Fatalf("PENDING report %+v, want the container PENDING with its digest", pending)
	}
	if c := got[1].Containers; len(c) != 1 || c[0].Status != "RUNNING" {
		t.Fatalf("RUNNING report %+v", got[1])
	}
	if c := got[2].Containers; len(c) != 1 || c[0].Status != "STOPPED" || c[0].ExitCode == nil || *c[0].ExitCode != 42 {
		t.Fatalf("STOPPED report %+v", got[2])
	}
}

// TestNonEssentialExitBatched: a non-essential container's exit is not reported on
// its own when it happens: it rides on a later RUNNING report, sent by the batching
// ticker 10-30 s later (PROTOCOL.md §4.6).
func TestNonEssentialExitBatched(t *testing.T) {
	b := newBackend(t)
	agent := startProc(t, "amazon-ecs-agent", binary(t, "amazon-ecs-agent"), b.Env.vars())
	waitInstance(t, b.ECS, b.Env.Cluster, agent, b.CP)
	td := registerTaskDef(t, b, "batched",
		busybox("main", true, "sleep", "3600"),
		busybox("side", false, "sh", "-c", "sleep 1; exit 3"))
	arn := runTask(t, b.ECS, b.Env.Cluster, td)
	waitTaskStatus(t, b.ECS, b.Env.Cluster, arn, "RUNNING", time.Minute, agent, b.CP)
	var exitedAt time.Time
	waitFor(t, 45*time.Second, "the side container's exit reported", func() (bool, string) {
		rs := reports(t, b, arn)
		for _, r := range rs {
			for _, c := range r.Containers {
				if c.Name == "side" && c.Status == "STOPPED" {
					exitedAt = r.ReceivedAt
					return true, ""
				}
			}
		}
		return false, fmt.Sprintf("%+v", rs)
	})
	rs := reports(t, b, arn)
	var finished time.Time
	for _, c := range dockerTaskContainers(t, arn) {
		if c.Labels["com.amazonaws.ecs.container-name"] == "side" {
			out, err := exec.Command("docker", "inspect", "--format", "{{.State.FinishedAt}}", c.ID).Output()
			if err != nil {
				t.Fatal(err)
			}
			finished, _ = time.Parse(time.RFC3339Nano, strings.TrimSpace(string(out)))
		}
	}
	last := rs[len(rs)-1]
	if last.Status != "RUNNING" || len(last.Containers) != 1 || *last.Containers[0].ExitCode != 3 {
		t.Fatalf("the exit came in %+v, want a RUNNING task report with side STOPPED (3)", last)
	}
	if d := exitedAt.Sub(finished); finished.IsZero() || d < 9*time.Second {
		t.Fatalf("the exit at %v was reported %v later: not batched", finished, d)
	}
	t.Logf("side exited at %v, reported %v later, in report %d of %d", finished, exitedAt.Sub(finished).Round(time.Millisecond), len(rs), len(rs))
}

// TestStartTimeoutAndCycle: a dependency that does not become HEALTHY within its
// startTimeout of 3 s fails its dependent within 4 s with a reason saying it timed
// out; a dependency cycle stops the task with a reason naming the containers.
func TestStartTimeoutAndCycle(t *testing.T) {
	b := newBackend(t)
	agent := startProc(t, "amazon-ecs-agent", binary(t, "amazon-ecs-agent"), b.Env.vars())
	waitInstance(t, b.ECS, b.Env.Cluster, agent, b.CP)

	db := busybox("db", true, "sleep", "3600")
	db.StartTimeout = aws.Int32(3)
	app := busybox("app", true, "sleep", "3600")
	app.DependsOn = []types.ContainerDependency{{ContainerName: aws.String("db"), Condition: types.ContainerConditionHealthy}}
	arn := runTask(t, b.ECS, b.Env.Cluster, registerTaskDef(t, b, "starttimeout", db, app))

	a := busybox("a", true, "sleep", "3600")
	a.DependsOn = []types.ContainerDependency{{ContainerName: aws.String("b"), Condition: types.ContainerConditionStart}}
	bb := busybox("b", true, "sleep", "3600")
	bb.DependsOn = []types.ContainerDependency{{ContainerName: aws.String("a"), Condition: types.ContainerConditionStart}}
	cycle := runTask(t, b.ECS, b.Env.Cluster, registerTaskDef(t, b, "cycle", a, bb))

	task := waitTaskStatus(t, b.ECS, b.Env.Cluster, arn, "STOPPED", time.Minute, agent, b.CP)
	for _, c := range task.Containers {
		if aws.ToString(c.Name) == "app" && !strings.Contains(aws.ToString(c.Reason), "dependency container db timed out") {
			t.Errorf("app's reason %q does not say the dependency timed out", aws.ToString(c.Reason))
		}
	}
	// db's stages: it ran from its start until the agent gave up on app and stopped it.
	it, code := introspect(t, b, arn)
	if code != http.StatusOK {
		t.Fatalf("introspection %d", code)
	}
	var run, stop time.Time
	for _, cs := range it.Stages {
		if cs.Name != "db" {
			continue
		}
		for _, s := range cs.Stages {
			switch s.Stage {
			case "run":
				run = s.StartedAt
			case "stop":
				stop = s.StartedAt
			}
		}
	}
	if run.IsZero() || stop.IsZero() {
		t.Fatalf("db's stages %+v", it.Stages)
	}
	if gave := stop.Sub(run); gave < 3*time.Second || gave > 4*time.Second {
		t.Errorf("gave up %v after db started, want within 3-4 s", gave)
	}
	t.Logf("gave up %v after the dependency started", stop.Sub(run).Round(time.Millisecond))

	ct := waitTaskStatus(t, b.ECS, b.Env.Cluster, cycle, "STOPPED", time.Minute, agent, b.CP)
	if r := aws.ToString(ct.StoppedReason); !strings.Contains(r, "Task dependencies cannot be resolved") || !strings.Contains(r, "a -> b -> a") {
		rs := reports(t, b, cycle)
		t.Errorf("cycle: stopped reason %q, reports %+v: want the containers a -> b -> a named", r, rs)
	}
}

// TestRestartPolicy: a container with a restart policy that exits 1 after running
// longer than restartAttemptPeriod is restarted in place (same task, same Docker
// container, the task stays RUNNING, its restart count shown); with 1 in
// ignoredExitCodes it is not; StopTask stops the restarted one for good.
func TestRestartPolicy(t *testing.T) {
	b := newBackend(t)
	agent := startProc(t, "amazon-ecs-agent", binary(t, "amazon-ecs-agent"), b.Env.vars())
	waitInstance(t, b.ECS, b.Env.Cluster, agent, b.CP)
	// The minimum period is 60 s: the container runs a little longer, then exits 1.
	policy := func(ignored ...int32) types.ContainerDefinition {
		c := busybox("app", true, "sh", "-c", "sleep 62; exit 1")
		c.RestartPolicy = &types.ContainerRestartPolicy{Enabled: aws.Bool(true), IgnoredExitCodes: ignored, RestartAttemptPeriod: aws.Int32(60)}
		return c
	}
	restarted := runTask(t, b.ECS, b.Env.Cluster, registerTaskDef(t, b, "restarts", policy()))
	ignored := runTask(t, b.ECS, b.Env.Cluster, registerTaskDef(t, b, "ignores", policy(1)))
	waitTaskStatus(t, b.ECS, b.Env.Cluster, restarted, "RUNNING", time.Minute, agent, b.CP)
	first, _ := introspect(t, b, restarted)
	if len(first.Containers) != 1 || first.Containers[0].RestartCount == nil || *first.Containers[0].RestartCount != 0 {
		t.Fatalf("introspection before the exit: %+v", first.Containers)
	}
	id := first.Containers[0].DockerId

	task := waitTaskStatus(t, b.ECS, b.Env.Cluster, ignored, "STOPPED", 2*time.Minute, agent, b.CP)
	if ec := task.Containers[0].ExitCode; ec == nil || *ec != 1 {
		t.Errorf("ignored: exit code %v, want 1", ec)
	}
	waitFor(t, 30*time.Second, "the restart", func() (bool, string) {
		it, _ := introspect(t, b, restarted)
		return len(it.Containers) == 1 && it.Containers[0].RestartCount != nil && *it.Containers[0].RestartCount >= 1,
			fmt.Sprintf("%+v", it)
	})
	it, _ := introspect(t, b, restarted)
	if it.KnownStatus != "RUNNING" || it.Containers[0].DockerId != id {
		t.Fatalf("after the restart: %s, container %s (was %s)", it.KnownStatus, it.Containers[0].DockerId, id)
	}
	if s := aws.ToString(describeTask(t, b.ECS, b.Env.Cluster, restarted).LastStatus); s != "RUNNING" {
		t.Fatalf("the control plane sees the task %s", s)
	}
	waitFor(t, 15*time.Second, "the same container running again", func() (bool, string) {
		out, err := exec.Command("docker", "inspect", "--format", "{{.State.Running}} {{.RestartCount}}", id).Output()
		return err == nil && strings.HasPrefix(string(out), "true"), fmt.Sprintf("%s %v", out, err)
	})

	if _, err := b.ECS.StopTask(context.Background(), &ecs.StopTaskInput{Cluster: &b.Env.Cluster, Task: &restarted}); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	waitTaskStatus(t, b.ECS, b.Env.Cluster, restarted, "STOPPED", time.Minute, agent, b.CP)
	time.Sleep(3 * time.Second)
	out, _ := exec.Command("docker", "inspect", "--format", "{{.State.Running}}", id).Output()
	if strings.TrimSpace(string(out)) != "false" {
		t.Fatalf("running after StopTask: %s", out)
	}
	if after, _ := introspect(t, b, restarted); after.Containers[0].RestartCount == nil || *after.Containers[0].RestartCount != 1 {
		t.Fatalf("restart count after StopTask %+v", after.Containers)
	}
}
