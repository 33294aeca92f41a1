package task

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func spec(containers ...bus.ContainerSpec) bus.TaskSpec {
	return bus.TaskSpec{Arn: "arn:aws:ecs:r:1:task/c/t1", Family: "fam", Version: "3",
		DesiredStatus: bus.StatusRunning, Containers: containers}
}

func ctr(name string, essential bool) bus.ContainerSpec {
	return bus.ContainerSpec{Name: name, Image: "img-" + name, Essential: essential}
}

func newRec(s bus.TaskSpec) *bus.TaskRecord {
	return NewRecord(bus.DesiredTask{Cluster: "default", Task: s}, t0)
}

func intp(n int) *int { return &n }

// act completes an action successfully, as dockerexec would.
func act(rec *bus.TaskRecord, a Action) {
	switch a.Kind {
	case Pull:
		Pulled(rec, a.Container, bus.PullReply{ImageID: "sha256:x"})
	case Create:
		Created(rec, a.Container, bus.CreateReply{DockerID: "id-" + a.Container}, t0)
	case Start:
		Started(rec, a.Container, bus.ContainerState{Status: bus.StatusRunning}, t0)
	case Stop:
		Stopped(rec, a.Container, bus.ContainerState{Status: bus.StatusStopped, ExitCode: intp(137)}, t0)
	}
}

// drive runs Step and completes every action until nothing moves, and returns the
// actions in the order they were taken.
func drive(rec *bus.TaskRecord) []Action {
	var all []Action
	for i := 0; i < 50; i++ {
		p := Step(rec, nil, t0)
		if len(p.Actions) == 0 {
			return all
		}
		for _, a := range p.Actions {
			act(rec, a)
		}
		all = append(all, p.Actions...)
	}
	panic("engine does not settle")
}

func exited(rec *bus.TaskRecord, name string, code int) {
	ApplyEvent(rec, bus.ContainerEvent{TaskArn: rec.Spec.Arn, ContainerName: name, DockerID: "id-" + name,
		Action: "die", Status: bus.StatusStopped, ExitCode: intp(code)}, t0)
}

func TestSingleContainerLifecycle(t *testing.T) {
	rec := newRec(spec(ctr("exit", true)))
	acts := drive(rec)
	want := []Action{{Pull, "exit"}, {Create, "exit"}, {Start, "exit"}}
	if !reflect.DeepEqual(acts, want) {
		t.Fatalf("actions = %v, want %v", acts, want)
	}
	if rec.KnownStatus != bus.StatusRunning {
		t.Fatalf("known = %s, want RUNNING", rec.KnownStatus)
	}
	rep, ok := NextReport(rec, nil, false)
	if !ok || rep.Status != "RUNNING" || len(rep.Containers) != 1 || rep.Containers[0].RuntimeID != "id-exit" {
		t.Fatalf("report = %+v %v", rep, ok)
	}
	rep.Seq = 1
	MarkSent(rec, rep)
	if _, ok := NextReport(rec, nil, false); ok {
		t.Fatal("second report with nothing new")
	}
	exited(rec, "exit", 42)
	if len(drive(rec)) != 0 {
		t.Fatal("actions after the only container exited")
	}
	if rec.KnownStatus != bus.StatusStopped || rec.ExecutionStoppedAt == nil || rec.StoppedAt == nil {
		t.Fatalf("after exit: %+v", rec)
	}
	rep, ok = NextReport(rec, nil, false)
	if !ok || rep.Status != "STOPPED" || rep.Containers[0].ExitCode == nil || *rep.Containers[0].ExitCode != 42 ||
		rep.ExecutionStoppedAt == nil {
		t.Fatalf("stopped report = %+v", rep)
	}
}

func TestEssentialExit(t *testing.T) {
	tests := []struct {
		name        string
		essential   bool
		wantTask    bus.Status
		wantStopped []string
		wantReport  string
	}{
		{"essential exit stops the task", true, bus.StatusStopped, []string{"a", "b"}, "STOPPED"},
		{"non-essential exit keeps it running", false, bus.StatusRunning, []string{"a"}, "RUNNING"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRec(spec(ctr("a", tt.essential), ctr("b", true)))
			drive(rec)
			rep, _ := NextReport(rec, nil, false)
			rep.Seq = 1
			MarkSent(rec, rep)
			exited(rec, "a", 1)
			acts := drive(rec)
			if tt.essential && !reflect.DeepEqual(acts, []Action{{Stop, "b"}}) {
				t.Fatalf("actions = %v, want stop b", acts)
			}
			if rec.KnownStatus != tt.wantTask {
				t.Fatalf("task = %s, want %s", rec.KnownStatus, tt.wantTask)
			}
			var stopped []string
			for _, c := range rec.Containers {
				if c.KnownStatus == bus.StatusStopped {
					stopped = append(stopped, c.Name)
				}
			}
			if !reflect.DeepEqual(stopped, tt.wantStopped) {
				t.Fatalf("stopped = %v, want %v", stopped, tt.wantStopped)
			}
			rep, ok := NextReport(rec, nil, false)
			if !tt.essential {
				// A non-essential exit waits for the batching ticker (PROTOCOL.md §4.6).
				if ok || !Batched(rec, nil) {
					t.Fatalf("a non-essential exit was not batched: report %+v %v", rep, ok)
				}
				rep, ok = NextReport(rec, nil, true)
			}
			if !ok || rep.Status != tt.wantReport || rep.Containers[0].ContainerName != "a" || *rep.Containers[0].ExitCode != 1 {
				t.Fatalf("report = %+v", rep)
			}
			rep.Seq = 2
			MarkSent(rec, rep)
			if Batched(rec, nil) {
				t.Fatal("still batched once sent")
			}
		})
	}
}

func TestDesiredStoppedBeforeStart(t *testing.T) {
	s := spec(ctr("a", true), ctr("b", false))
	s.DesiredStatus = bus.StatusStopped
	rec := newRec(s)
	if acts := drive(rec); len(acts) != 0 {
		t.Fatalf("Docker steps for a task that never ran: %v", acts)
	}
	if rec.KnownStatus != bus.StatusStopped {
		t.Fatalf("known = %s", rec.KnownStatus)
	}
	rep, ok := NextReport(rec, nil, false)
	if !ok || rep.Status != "STOPPED" || len(rep.Containers) != 2 {
		t.Fatalf("report = %+v", rep)
	}
}

func TestDesiredOnlyRises(t *testing.T) {
	rec := newRec(spec(ctr("a", true)))
	if !SetDesired(rec, bus.StatusStopped) {
		t.Fatal("RUNNING → STOPPED refused")
	}
	if SetDesired(rec, bus.StatusRunning) || rec.DesiredStatus != bus.StatusStopped {
		t.Fatal("desired status lowered")
	}
}

func TestStopRunningTaskShutdownOrder(t *testing.T) {
	web := ctr("web", true)
	web.Links = []string{"db:database"}
	rec := newRec(spec(ctr("db", true), web))
	acts := drive(rec)
	// db must be RUNNING before web is even pulled.
	if acts[0] != (Action{Pull, "db"}) || acts[3] != (Action{Pull, "web"}) {
		t.Fatalf("start order = %v", acts)
	}
	SetDesired(rec, bus.StatusStopped)
	p := Step(rec, nil, t0)
	if !reflect.DeepEqual(p.Actions, []Action{{Stop, "web"}}) {
		t.Fatalf("first stop = %v, want web only", p.Actions)
	}
	act(rec, p.Actions[0])
	p = Step(rec, nil, t0)
	if !reflect.DeepEqual(p.Actions, []Action{{Stop, "db"}}) {
		t.Fatalf("second stop = %v, want db", p.Actions)
	}
	act(rec, p.Actions[0])
	Step(rec, nil, t0)
	if rec.KnownStatus != bus.StatusStopped {
		t.Fatalf("known = %s", rec.KnownStatus)
	}
}

func TestDependencyConditions(t *testing.T) {
	tests := []struct {
		cond string
		// prepare brings the dependency "dep" to a state
		prepare    func(rec *bus.TaskRecord)
		wantPull   bool // the dependent may be pulled
		wantFailed bool // the dependent is given up
	}{
		{"START", func(*bus.TaskRecord) {}, true, false},
		{"COMPLETE", func(*bus.TaskRecord) {}, false, false},
		{"COMPLETE", func(r *bus.TaskRecord) { exited(r, "dep", 3) }, true, false},
		{"SUCCESS", func(r *bus.TaskRecord) { exited(r, "dep", 0) }, true, false},
		{"SUCCESS", func(r *bus.TaskRecord) { exited(r, "dep", 1) }, false, true},
		{"HEALTHY", func(*bus.TaskRecord) {}, false, false},
		{"HEALTHY", func(r *bus.TaskRecord) {
			ApplyEvent(r, bus.ContainerEvent{ContainerName: "dep", Action: "health_status", Health: bus.HealthHealthy}, t0)
		}, true, false},
		{"HEALTHY", func(r *bus.TaskRecord) { exited(r, "dep", 0) }, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			app := ctr("app", true)
			app.DependsOn = []bus.Dependency{{ContainerName: "dep", Condition: tt.cond}}
			rec := newRec(spec(ctr("dep", false), app))
			// Bring dep to RUNNING without touching app.
			for range 3 {
				for _, a := range Step(rec, nil, t0).Actions {
					if a.Container == "app" {
						t.Fatalf("app stepped (%v) before dep ran", a)
					}
					act(rec, a)
				}
			}
			tt.prepare(rec)
			p := Step(rec, nil, t0)
			pulled := false
			for _, a := range p.Actions {
				pulled = pulled || a == Action{Pull, "app"}
			}
			if pulled != tt.wantPull {
				t.Fatalf("app pulled = %v, want %v (%v)", pulled, tt.wantPull, p.Actions)
			}
			app2 := Container(rec, "app")
			failed := app2.KnownStatus == bus.StatusStopped && app2.ExitCode != nil && *app2.ExitCode == 143
			if failed != tt.wantFailed {
				t.Fatalf("app failed = %v, want %v (%+v)", failed, tt.wantFailed, app2)
			}
			if tt.wantFailed && rec.DesiredStatus != bus.StatusStopped {
				t.Fatal("essential dependent failed but the task goes on")
			}
		})
	}
}

func TestStartTimeout(t *testing.T) {
	app := ctr("app", true)
	app.DependsOn = []bus.Dependency{{ContainerName: "dep", Condition: CondComplete}}
	dep := ctr("dep", false)
	dep.StartTimeout = 10
	rec := newRec(spec(dep, app))
	for range 3 {
		for _, a := range Step(rec, nil, t0).Actions {
			act(rec, a)
		}
	}
	if p := Step(rec, nil, t0.Add(5*time.Second)); !p.Waiting {
		t.Fatal("not waiting within the start timeout")
	}
	Step(rec, nil, t0.Add(11*time.Second))
	if c := Container(rec, "app"); c.KnownStatus != bus.StatusStopped {
		t.Fatalf("app = %s after the dependency's start timeout", c.KnownStatus)
	}
}

func TestVolumesFromWaitsForCreate(t *testing.T) {
	app := ctr("app", true)
	app.VolumesFrom = []bus.VolumeFrom{{SourceContainer: "data"}}
	rec := newRec(spec(ctr("data", false), app))
	p := Step(rec, nil, t0)
	if !reflect.DeepEqual(p.Actions, []Action{{Pull, "data"}}) {
		t.Fatalf("actions = %v", p.Actions)
	}
	act(rec, p.Actions[0])
	act(rec, Step(rec, nil, t0).Actions[0]) // create data
	p = Step(rec, nil, t0)
	want := []Action{{Start, "data"}, {Pull, "app"}}
	if !reflect.DeepEqual(p.Actions, want) {
		t.Fatalf("actions = %v, want %v", p.Actions, want)
	}
}

func TestValidate(t *testing.T) {
	a, b := ctr("a", true), ctr("b", true)
	a.DependsOn = []bus.Dependency{{ContainerName: "b", Condition: "START"}}
	b.Links = []string{"a"}
	self := ctr("s", true)
	self.DependsOn = []bus.Dependency{{ContainerName: "s", Condition: "START"}}
	unknown := ctr("u", true)
	unknown.Links = []string{"ghost:g"}
	bad := ctr("x", true)
	bad.Links = []string{"a:b:c"}
	okLink := ctr("w", true)
	okLink.Links = []string{"a:alias"}
	tests := []struct {
		name  string
		spec  bus.TaskSpec
		want  error
		cycle string
	}{
		{"cycle", spec(a, b), ErrCircular, "a -> b -> a"},
		{"self", spec(self), ErrCircular, "s -> s"},
		{"unknown link", spec(unknown), ErrUnknownContainer, ""},
		{"malformed link", spec(ctr("a", true), bad), ErrBadDefinition, ""},
		{"no containers", spec(), ErrBadDefinition, ""},
		{"fine", spec(ctr("a", true), okLink), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.spec)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Validate = %v, want %v", err, tt.want)
			}
			// The real agent's words first, then the containers that close the cycle.
			if tt.want == ErrCircular && err.Error() != "Task dependencies cannot be resolved, taskArn: "+tt.spec.Arn+
				": circular dependency between containers "+tt.cycle {
				t.Fatalf("reason = %q", err.Error())
			}
		})
	}
}

func TestKnownStatusMin(t *testing.T) {
	tests := []struct {
		name      string
		statuses  []bus.Status
		essential []bool
		before    bus.Status
		want      bus.Status
	}{
		{"all none", []bus.Status{"NONE", "NONE"}, []bool{true, true}, "NONE", "NONE"},
		{"pulled maps to manifest pulled", []bus.Status{"PULLED", "CREATED"}, []bool{true, true}, "NONE", "MANIFEST_PULLED"},
		{"min of created and running", []bus.Status{"CREATED", "RUNNING"}, []bool{true, true}, "NONE", "CREATED"},
		{"all running", []bus.Status{"RUNNING", "RUNNING"}, []bool{true, true}, "CREATED", "RUNNING"},
		{"non-essential stopped", []bus.Status{"STOPPED", "RUNNING"}, []bool{false, true}, "RUNNING", "RUNNING"},
		{"essential stopped, other running: held", []bus.Status{"STOPPED", "RUNNING"}, []bool{true, false}, "CREATED", "CREATED"},
		{"all stopped", []bus.Status{"STOPPED", "STOPPED"}, []bool{true, false}, "RUNNING", "STOPPED"},
		{"never backwards", []bus.Status{"CREATED", "CREATED"}, []bool{true, true}, "RUNNING", "RUNNING"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &bus.TaskRecord{KnownStatus: tt.before, DesiredStatus: bus.StatusRunning}
			for i, s := range tt.statuses {
				rec.Containers = append(rec.Containers, bus.ContainerRecord{Name: string(rune('a' + i)),
					KnownStatus: s, DesiredStatus: bus.StatusRunning, Essential: tt.essential[i], DockerID: "x"})
			}
			// Only the status rule is under test: keep essential exits from changing
			// desired statuses by evaluating knownStatus directly, then settle.
			settle(rec, map[string]bool{"a": true, "b": true}, t0)
			if rec.KnownStatus != tt.want {
				t.Fatalf("known = %s, want %s", rec.KnownStatus, tt.want)
			}
		})
	}
}

func TestStepFailures(t *testing.T) {
	tests := []struct {
		name       string
		kind       Kind
		err        error
		wantReason string
	}{
		{"pull", Pull, bus.Errorf(bus.CodePullFailed, "no such image"), "CannotPullContainerError: no such image"},
		{"create", Create, bus.Errorf(bus.CodeCreateFailed, "bad config"), "CannotCreateContainerError: bad config"},
		{"start", Start, bus.Errorf(bus.CodeStartFailed, "port taken"), "CannotStartContainerError: port taken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRec(spec(ctr("a", true), ctr("b", false)))
			for {
				p := Step(rec, nil, t0)
				var hit bool
				for _, a := range p.Actions {
					if a.Container == "a" && a.Kind == tt.kind {
						Failed(rec, a.Kind, a.Container, tt.err, t0)
						hit = true
					} else {
						act(rec, a)
					}
				}
				if hit {
					break
				}
				if len(p.Actions) == 0 {
					t.Fatal("failing step never came")
				}
			}
			drive(rec)
			a := Container(rec, "a")
			if a.Reason != tt.wantReason || a.KnownStatus != bus.StatusStopped {
				t.Fatalf("a = %+v", a)
			}
			if rec.KnownStatus != bus.StatusStopped {
				t.Fatalf("task = %s, want STOPPED", rec.KnownStatus)
			}
		})
	}
}

func TestReportHeldWhileBusy(t *testing.T) {
	rec := newRec(spec(ctr("a", true)))
	drive(rec)
	if _, ok := NextReport(rec, map[string]bool{"a": true}, false); ok {
		t.Fatal("report while a's step is in flight")
	}
	if _, ok := NextReport(rec, nil, false); !ok {
		t.Fatal("no report once the step is done")
	}
}

func TestStaleEventIgnored(t *testing.T) {
	rec := newRec(spec(ctr("a", true)))
	drive(rec)
	if ApplyEvent(rec, bus.ContainerEvent{ContainerName: "a", DockerID: "other", Status: bus.StatusStopped}, t0) {
		t.Fatal("event of another container applied")
	}
	if ApplyEvent(rec, bus.ContainerEvent{ContainerName: "a", DockerID: "id-a", Status: bus.StatusCreated}, t0) {
		t.Fatal("status moved backwards")
	}
}

func TestDockerName(t *testing.T) {
	if got := DockerName("fam", "3", "my_web.1-x", "ab12"); got != "ecs-fam-3-myweb1-x-ab12" {
		t.Fatalf("DockerName = %q", got)
	}
}

// A scheduler restarted while a short container ran finds it exited: the task is
// reported RUNNING (with the container that ran), then STOPPED, never STOPPED alone.
func TestStoppedBeforeReportedRunningIsReportedRunningFirst(t *testing.T) {
	rec := newRec(spec(ctr("a", true), ctr("never", false)))
	now := time.Now()
	started, finished := now.Add(-2*time.Second), now.Add(-time.Second)
	code := 3
	a := Container(rec, "a")
	a.DockerID, a.KnownStatus = "d1", bus.StatusCreated
	ApplyState(rec, "a", bus.ContainerState{DockerID: "d1", Status: bus.StatusStopped, ExitCode: &code,
		StartedAt: &started, FinishedAt: &finished}, now)
	Step(rec, nil, now)
	if rec.KnownStatus != bus.StatusStopped {
		t.Fatalf("task %s", rec.KnownStatus)
	}
	first, ok := NextReport(rec, nil, false)
	if !ok || first.Status != "RUNNING" || len(first.Containers) != 1 || first.Containers[0].ContainerName != "a" ||
		first.Containers[0].Status != "RUNNING" || first.Containers[0].RuntimeID != "d1" {
		t.Fatalf("first report %+v, want RUNNING with container a", first)
	}
	MarkSent(rec, first)
	second, ok := NextReport(rec, nil, false)
	if !ok || second.Status != "STOPPED" || len(second.Containers) != 2 {
		t.Fatalf("second report %+v, want STOPPED with both containers", second)
	}
	MarkSent(rec, second)
	if _, ok := NextReport(rec, nil, false); ok {
		t.Fatal("a third report")
	}
}
