package task

import (
	"testing"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
)

func TestHealthKeepsSinceWhen(t *testing.T) {
	rec := newRec(spec(ctr("web", true)))
	at := t0.Add(5 * time.Second)
	ApplyEvent(rec, bus.ContainerEvent{ContainerName: "web", Action: "health_status", Health: bus.HealthHealthy, TimeNano: at.UnixNano()}, t0)
	c := Container(rec, "web")
	if c.Health != bus.HealthHealthy || c.HealthSince == nil || !c.HealthSince.Equal(at) {
		t.Fatalf("health %q since %v, want HEALTHY since %v", c.Health, c.HealthSince, at)
	}
	// The same status again (a periodic inspect) keeps the time of the change.
	ApplyState(rec, "web", bus.ContainerState{Status: bus.StatusRunning, Health: bus.HealthHealthy}, t0.Add(time.Minute))
	if !c.HealthSince.Equal(at) {
		t.Fatalf("since moved to %v on an unchanged status", c.HealthSince)
	}
	later := t0.Add(2 * time.Minute)
	ApplyState(rec, "web", bus.ContainerState{Status: bus.StatusRunning, Health: bus.HealthUnhealthy}, later)
	if c.Health != bus.HealthUnhealthy || !c.HealthSince.Equal(later) {
		t.Fatalf("health %q since %v, want UNHEALTHY since %v", c.Health, c.HealthSince, later)
	}
}
