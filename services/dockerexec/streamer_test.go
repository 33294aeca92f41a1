package dockerexec_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/services/dockerexec"
)

func TestStatsAreStreamedOnlyWhileWanted(t *testing.T) {
	for _, tc := range []struct {
		name string
		poll bool
	}{{"stream", false}, {"poll", true}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.StatsPoll, cfg.StatsPollInterval = tc.poll, 200*time.Millisecond
			statsOnDemand(t, cfg, tc.poll)
		})
	}
}

func statsOnDemand(t *testing.T, cfg dockerexec.Config, poll bool) {
	engine := fakeEngine()
	h := startService(t, cfg, engine)
	created, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, createReq("app"))
	if err != nil {
		t.Fatal(err)
	}
	ref := bus.ContainerRef{TaskArn: taskArn, ContainerName: "app"}
	if _, err := call[bus.StartRequest, bus.ContainerState](t, h, bus.SubjectDockerStart, bus.StartRequest{ContainerRef: ref}); err != nil {
		t.Fatal(err)
	}
	rep := h.bus.ConnAs(t, bus.UserReporter, "reporter")
	samples := make(chan *nats.Msg, 64)
	if _, err := rep.ChanSubscribe(bus.SubjectStatsSamplesAll, samples); err != nil {
		t.Fatal(err)
	}
	_ = rep.Flush()
	select {
	case m := <-samples:
		t.Fatalf("a sample before any demand: %s", m.Data)
	case <-time.After(6 * time.Second): // more than one reconcile period
	}
	demand, _ := json.Marshal(bus.StatsDemand{Type: bus.TypeStatsDemand, From: "test"})
	if err := rep.Publish(bus.SubjectStatsDemand, demand); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-samples:
		var s bus.ContainerStatsSample
		if err := json.Unmarshal(m.Data, &s); err != nil {
			t.Fatal(err)
		}
		if m.Subject != bus.StatsSampleSubject(taskArn, "app") || s.Type != bus.TypeContainerStatsSample ||
			s.TaskArn != taskArn || s.ContainerName != "app" || s.DockerID != created.DockerID ||
			s.MemoryBytes != 1<<20 || s.Read.IsZero() {
			t.Fatalf("sample on %s: %+v", m.Subject, s)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no sample within 3 s of a demand")
	}
	if poll { // a reading every poll interval, from the same poller
		for i := range 3 {
			select {
			case <-samples:
			case <-time.After(time.Second):
				t.Fatalf("poll %d did not come", i+2)
			}
		}
	}
	// A container started while the samples are wanted is followed at once: its
	// start event says so, long before the once-a-minute reconcile.
	if _, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, createReq("sidecar")); err != nil {
		t.Fatal(err)
	}
	side := bus.ContainerRef{TaskArn: taskArn, ContainerName: "sidecar"}
	if _, err := call[bus.StartRequest, bus.ContainerState](t, h, bus.SubjectDockerStart, bus.StartRequest{ContainerRef: side}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(3 * time.Second)
	for {
		select {
		case m := <-samples:
			if m.Subject == bus.StatsSampleSubject(taskArn, "sidecar") {
				return
			}
		case <-deadline:
			t.Fatal("no sample of a container started after the demand within 3 s")
		}
	}
}
