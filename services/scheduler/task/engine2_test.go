package task

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
)

// exitedAt is a die event at a given time.
func exitedAt(rec *bus.TaskRecord, name string, code int, at time.Time) {
	ApplyEvent(rec, bus.ContainerEvent{TaskArn: rec.Spec.Arn, ContainerName: name, DockerID: "id-" + name,
		Action: "die", Status: bus.StatusStopped, ExitCode: intp(code), TimeNano: at.UnixNano()}, at)
}

func restarting(period int, ignored ...int) bus.ContainerSpec {
	c := ctr("app", true)
	c.RestartPolicy = &bus.RestartPolicy{Enabled: true, IgnoredExitCodes: ignored, RestartAttemptPeriod: period}
	return c
}

func TestRestartPolicy(t *testing.T) {
	tests := []struct {
		name        string
		spec        bus.ContainerSpec
		ranFor      time.Duration
		code        int
		stopTask    bool
		wantRestart bool
	}{
		{"exit 1 after the period restarts", restarting(60), 61 * time.Second, 1, false, true},
		{"exit 0 restarts too", restarting(60), 61 * time.Second, 0, false, true},
		{"an ignored exit code does not", restarting(60, 1, 2), 61 * time.Second, 1, false, false},
		{"an exit within the period does not", restarting(60), 59 * time.Second, 1, false, false},
		{"a task meant to stop does not", restarting(60), 61 * time.Second, 1, true, false},
		{"no policy does not", ctr("app", true), 61 * time.Second, 1, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRec(spec(tt.spec))
			drive(rec)
			rep, _ := NextReport(rec, nil, false)
			MarkSent(rec, rep)
			if tt.stopTask {
				SetDesired(rec, bus.StatusStopped)
				Step(rec, map[string]bool{"app": true}, t0) // its stop is in flight
			}
			exitedAt(rec, "app", tt.code, t0.Add(tt.ranFor))
			c := Container(rec, "app")
			p := Step(rec, nil, t0.Add(tt.ranFor))
			if !tt.wantRestart {
				if c.KnownStatus != bus.StatusStopped || c.RestartCount != 0 {
					t.Fatalf("container %s restarts %d, want STOPPED and no restart", c.KnownStatus, c.RestartCount)
				}
				return
			}
			if !reflect.DeepEqual(p.Actions, []Action{{Start, "app"}}) {
				t.Fatalf("actions %v, want a start of app", p.Actions)
			}
			if c.KnownStatus != bus.StatusRunning || rec.KnownStatus != bus.StatusRunning || rec.DesiredStatus != bus.StatusRunning ||
				c.RestartCount != 1 || !c.RestartPending || c.ExitCode != nil {
				t.Fatalf("after the exit: container %+v task %s/%s", c, rec.KnownStatus, rec.DesiredStatus)
			}
			restartedAt := t0.Add(tt.ranFor + time.Second)
			Started(rec, "app", bus.ContainerState{Status: bus.StatusRunning, StartedAt: &restartedAt}, restartedAt)
			if c.RestartPending || !c.LastRestartAt.Equal(restartedAt) {
				t.Fatalf("after the restart: %+v", c)
			}
			// Restarted in place: no report, the control plane still sees it RUNNING.
			if rep, ok := NextReport(rec, nil, true); ok {
				t.Fatalf("a restart reported: %+v", rep)
			}
			// Not faster than the period, counted from the restart.
			exitedAt(rec, "app", 1, restartedAt.Add(30*time.Second))
			if c.KnownStatus != bus.StatusStopped || c.RestartCount != 1 || *c.ExitCode != 1 {
				t.Fatalf("second exit within the period: %+v", c)
			}
			// The run stages: one per run.
			var runs int
			for _, s := range c.Stages {
				if s.Name == StageRun {
					runs++
					if s.EndedAt == nil {
						t.Fatalf("an open run stage after the exit: %+v", c.Stages)
					}
				}
			}
			if runs != 2 {
				t.Fatalf("%d run stages, want 2: %+v", runs, c.Stages)
			}
		})
	}
}

// StopTask while a restart is pending stops the container for good.
func TestRestartPendingThenStopTask(t *testing.T) {
	rec := newRec(spec(restarting(60)))
	drive(rec)
	exitedAt(rec, "app", 1, t0.Add(2*time.Minute))
	Step(rec, nil, t0.Add(2*time.Minute))
	SetDesired(rec, bus.StatusStopped)
	p := Step(rec, nil, t0.Add(2*time.Minute))
	if !reflect.DeepEqual(p.Actions, []Action{{Stop, "app"}}) {
		t.Fatalf("actions %v, want a stop", p.Actions)
	}
	Stopped(rec, "app", bus.ContainerState{Status: bus.StatusStopped, ExitCode: intp(1)}, t0.Add(2*time.Minute))
	Step(rec, nil, t0.Add(2*time.Minute))
	if c := Container(rec, "app"); rec.KnownStatus != bus.StatusStopped || c.RestartPending || *c.ExitCode != 1 {
		t.Fatalf("task %s container %+v", rec.KnownStatus, c)
	}
}

func TestStoppedContainerSeenRunningIsStoppedOnce(t *testing.T) {
	rec := newRec(spec(ctr("a", false), ctr("b", true)))
	drive(rec)
	exitedAt(rec, "a", 2, t0.Add(time.Second))
	seenRunning := func(at time.Time) {
		ApplyEvent(rec, bus.ContainerEvent{ContainerName: "a", DockerID: "id-a", Action: "start",
			Status: bus.StatusRunning, TimeNano: at.UnixNano()}, at)
	}
	seenRunning(t0.Add(500 * time.Millisecond)) // an old start, delivered late: nothing to do
	if p := Step(rec, nil, t0.Add(2*time.Second)); len(p.Actions) != 0 {
		t.Fatalf("actions %v for an old start event", p.Actions)
	}
	seenRunning(t0.Add(3 * time.Second))
	p := Step(rec, nil, t0.Add(3*time.Second))
	if !reflect.DeepEqual(p.Actions, []Action{{Stop, "a"}}) {
		t.Fatalf("actions %v, want a stop of a", p.Actions)
	}
	Stopped(rec, "a", bus.ContainerState{Status: bus.StatusStopped, ExitCode: intp(137)}, t0.Add(4*time.Second))
	if c := Container(rec, "a"); *c.ExitCode != 2 || c.StopAgain {
		t.Fatalf("after the second stop: %+v", c)
	}
	seenRunning(t0.Add(5 * time.Second))
	if p := Step(rec, nil, t0.Add(5*time.Second)); len(p.Actions) != 0 {
		t.Fatalf("stopped twice: %v", p.Actions)
	}
	if rec.DesiredStatus != bus.StatusRunning {
		t.Fatal("a non-essential container's second stop stopped the task")
	}
}

// A restored task whose containers cannot be stopped in any order (a cycle the
// validation never saw) is forced to STOPPED with TaskStateError.
func TestTaskStateError(t *testing.T) {
	a, b := ctr("a", true), ctr("b", true)
	a.DependsOn = []bus.Dependency{{ContainerName: "b", Condition: CondStart}}
	b.DependsOn = []bus.Dependency{{ContainerName: "a", Condition: CondStart}}
	rec := newRec(spec(a, b))
	for i := range rec.Containers {
		c := &rec.Containers[i]
		c.KnownStatus, c.DockerID, c.StartedAt = bus.StatusRunning, "id-"+c.Name, &t0
	}
	rec.KnownStatus = bus.StatusRunning
	SetDesired(rec, bus.StatusStopped)
	if p := Step(rec, map[string]bool{"a": true}, t0); len(p.Actions) != 0 || rec.KnownStatus == bus.StatusStopped {
		t.Fatal("forced while a step is in flight")
	}
	Step(rec, nil, t0)
	if rec.KnownStatus != bus.StatusStopped || rec.Reason != TaskStateErrorReason {
		t.Fatalf("task %s reason %q", rec.KnownStatus, rec.Reason)
	}
}

func TestPendingReportWithDigest(t *testing.T) {
	rec := newRec(spec(ctr("exit", true)))
	p := Step(rec, nil, t0)
	Pulled(rec, "exit", bus.PullReply{ImageID: "sha256:img", Digest: "sha256:d1g", Pulled: true})
	_ = p
	Step(rec, nil, t0)
	rep, ok := NextReport(rec, nil, false)
	if !ok || rep.Status != "PENDING" || len(rep.Containers) != 1 || rep.Containers[0].Status != "PENDING" ||
		rep.Containers[0].ImageDigest != "sha256:d1g" {
		t.Fatalf("report %+v %v, want PENDING with the digest", rep, ok)
	}
	MarkSent(rec, rep)
	if rec.SentStatus != bus.StatusManifestPulled {
		t.Fatalf("sent %s", rec.SentStatus)
	}
	drive(rec)
	rep, ok = NextReport(rec, nil, false)
	if !ok || rep.Status != "RUNNING" || rep.Containers[0].Status != "RUNNING" {
		t.Fatalf("report %+v, want RUNNING", rep)
	}
	// Without a digest there is no PENDING report.
	rec = newRec(spec(ctr("exit", true)))
	Pulled(rec, "exit", bus.PullReply{ImageID: "sha256:img"})
	Step(rec, nil, t0)
	if rep, ok := NextReport(rec, nil, false); ok {
		t.Fatalf("PENDING without a digest: %+v", rep)
	}
}

func TestStartTimeoutWakesOnTime(t *testing.T) {
	app := ctr("app", true)
	app.DependsOn = []bus.Dependency{{ContainerName: "db", Condition: CondHealthy}}
	db := ctr("db", true)
	db.StartTimeout = 3
	rec := newRec(spec(db, app))
	for range 3 {
		for _, a := range Step(rec, nil, t0).Actions {
			act(rec, a)
		}
	}
	p := Step(rec, nil, t0.Add(time.Second))
	if !p.Waiting || !p.WakeAt.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("waiting %v wake %v, want at the dependency's start + 3s", p.Waiting, p.WakeAt)
	}
	why := WaitReasons(rec, nil, t0.Add(time.Second), Options{})
	if !reflect.DeepEqual(why, []string{"waiting for container db to be HEALTHY (gives up in 2s) before app can start"}) {
		t.Fatalf("wait reasons %q", why)
	}
	Step(rec, nil, t0.Add(3*time.Second))
	c := Container(rec, "app")
	if c.KnownStatus != bus.StatusStopped || !strings.Contains(c.Reason, "dependency container db timed out") ||
		!strings.HasPrefix(c.Reason, "CannotStartContainerError: ") {
		t.Fatalf("app %s reason %q", c.KnownStatus, c.Reason)
	}
}

func TestPullUpfront(t *testing.T) {
	app := ctr("app", true)
	app.DependsOn = []bus.Dependency{{ContainerName: "db", Condition: CondHealthy}}
	for _, upfront := range []bool{false, true} {
		rec := newRec(spec(ctr("db", true), app))
		p := StepWith(rec, nil, t0, Options{PullUpfront: upfront})
		var pulled []string
		for _, a := range p.Actions {
			pulled = append(pulled, a.Container)
		}
		want := []string{"db"}
		if upfront {
			want = []string{"db", "app"}
		}
		if !reflect.DeepEqual(pulled, want) {
			t.Fatalf("upfront %v: pulls %v, want %v", upfront, pulled, want)
		}
		why := WaitReasons(rec, map[string]Kind{"db": Pull}, t0, Options{PullUpfront: upfront})
		wantWhy := []string{"pulling image img-db", "waiting for container db to be HEALTHY before app can start"}
		if upfront {
			wantWhy = wantWhy[:1]
		}
		if !reflect.DeepEqual(why, wantWhy) {
			t.Fatalf("upfront %v: reasons %q, want %q", upfront, why, wantWhy)
		}
	}
}

func TestStagesAndPullTimes(t *testing.T) {
	rec := newRec(spec(ctr("a", true)))
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	BeginStep(rec, Pull, "a", at(0))
	EndStep(rec, Pull, "a", at(4))
	Pulled(rec, "a", bus.PullReply{ImageID: "x", Pulled: true})
	PullTimes(rec, at(0), at(4))
	BeginStep(rec, Create, "a", at(4))
	EndStep(rec, Create, "a", at(5))
	Created(rec, "a", bus.CreateReply{DockerID: "id-a"}, at(5))
	BeginStep(rec, Start, "a", at(5))
	EndStep(rec, Start, "a", at(6))
	Started(rec, "a", bus.ContainerState{Status: bus.StatusRunning, StartedAt: ptr(at(6))}, at(6))
	BeginStep(rec, Stop, "a", at(10))
	EndStep(rec, Stop, "a", at(12))
	Stopped(rec, "a", bus.ContainerState{Status: bus.StatusStopped, FinishedAt: ptr(at(11))}, at(12))
	var got []string
	for _, s := range Container(rec, "a").Stages {
		got = append(got, s.Name+" "+s.EndedAt.Sub(s.StartedAt).String())
	}
	want := []string{"pull 4s", "create 1s", "start 1s", "run 5s", "stop 2s"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("stages %q, want %q", got, want)
	}
	if !rec.PullStartedAt.Equal(at(0)) || !rec.PullStoppedAt.Equal(at(4)) {
		t.Fatalf("pull times %v %v", rec.PullStartedAt, rec.PullStoppedAt)
	}
}

func ptr[T any](v T) *T { return &v }
