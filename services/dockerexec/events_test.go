package dockerexec_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
)

func TestEventsReachTheStream(t *testing.T) {
	engine := fakeEngine()
	h := startService(t, testConfig(), engine)
	events := h.events(t)

	created, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, createReq("app"))
	if err != nil {
		t.Fatal(err)
	}
	id := created.DockerID
	ev := events.until("create", id, 5*time.Second)
	if ev.Status != bus.StatusCreated || ev.TaskArn != taskArn || ev.ContainerName != "app" || ev.Type != bus.TypeContainerEvent {
		t.Errorf("create event %+v", ev)
	}
	if ev.Subject != bus.EventSubject(taskArn, "app") {
		t.Errorf("subject %q", ev.Subject)
	}
	if want := fmt.Sprintf("%s/create/%d", id, ev.TimeNano); ev.MsgID != want {
		t.Errorf("message ID %q, want %q", ev.MsgID, want)
	}

	ref := bus.ContainerRef{DockerID: id}
	if _, err := call[bus.StartRequest, bus.ContainerState](t, h, bus.SubjectDockerStart, bus.StartRequest{ContainerRef: ref}); err != nil {
		t.Fatal(err)
	}
	if ev := events.until("start", id, 5*time.Second); ev.Status != bus.StatusRunning {
		t.Errorf("start event %+v", ev)
	}
	engine.EmitHealth(id, "healthy")
	if ev := events.until("health_status", id, 5*time.Second); ev.Health != bus.HealthHealthy || ev.Status != "" {
		t.Errorf("health event %+v", ev)
	}
	if err := engine.Exit(id, 137, true); err != nil {
		t.Fatal(err)
	}
	ev = events.until("die", id, 5*time.Second)
	if ev.Status != bus.StatusStopped || ev.ExitCode == nil || *ev.ExitCode != 137 || !ev.OOMKilled {
		t.Errorf("die event %+v", ev)
	}
}

// An engine restart breaks the event stream; events of the outage are replayed from
// the last one seen, so none is lost.
func TestEventsResumeAfterABreak(t *testing.T) {
	engine := fakeEngine()
	h := startService(t, testConfig(), engine)
	events := h.events(t)

	created, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, createReq("app"))
	if err != nil {
		t.Fatal(err)
	}
	id := created.DockerID
	events.until("create", id, 5*time.Second)

	// The engine goes down and comes back; meanwhile the container starts and exits
	// (the fake keeps its history, as the engine's event log would within a run).
	engine.SetDown(true)
	engine.SetDown(false)
	engine.BreakEvents(errors.New("unexpected EOF"))
	if _, err := call[bus.StartRequest, bus.ContainerState](t, h, bus.SubjectDockerStart,
		bus.StartRequest{ContainerRef: bus.ContainerRef{DockerID: id}}); err != nil {
		t.Fatal(err)
	}
	if err := engine.Exit(id, 42, false); err != nil {
		t.Fatal(err)
	}
	engine.BreakEvents(errors.New("unexpected EOF"))

	seen := map[string]int{}
	deadline := time.Now().Add(10 * time.Second)
	for seen["start"] == 0 || seen["die"] == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("events after the break: %v", seen)
		}
		ev := events.next(time.Until(deadline))
		seen[ev.Action]++
		if ev.Action == "die" && (ev.ExitCode == nil || *ev.ExitCode != 42) {
			t.Errorf("die event %+v", ev)
		}
	}
	// Replays are dropped by the stream's duplicate window: nothing else is pending.
	if seen["create"] != 0 || seen["start"] != 1 || seen["die"] != 1 {
		t.Errorf("events %v: replays must not be stored twice", seen)
	}
}
