package dockerexec_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/bustest"
	"github.com/ecs-agent/ecs-agent/services/dockerexec"
)

// harness is a running service on a private bus.
type harness struct {
	bus *bustest.Bus
	nc  *nats.Conn
}

// startService runs a Service over docker on a fresh bus until the test ends.
func startService(t *testing.T, cfg dockerexec.Config, docker dockerexec.Docker) *harness {
	t.Helper()
	b := bustest.Start(t)
	svcConn := b.Conn(t, "dockerexec")
	svc, err := dockerexec.New(cfg, dockerexec.Deps{
		Conn: svcConn, Docker: docker,
		Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	h := &harness{bus: b, nc: b.Conn(t, "test")}
	// The endpoints are up once the service answers its PING.
	deadline := time.Now().Add(5 * time.Second)
	for {
		subj, _ := micro.ControlSubject(micro.PingVerb, bus.DockerService, "")
		if _, err := h.nc.Request(subj, nil, 200*time.Millisecond); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("service did not come up")
		}
	}
	return h
}

func call[Req, Rep any](t *testing.T, h *harness, subject string, req Req) (Rep, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return bus.Call[Req, Rep](ctx, h.nc, subject, req)
}

// events reads ContainerEvents from the ECS_EVENTS stream.
type eventReader struct {
	t    *testing.T
	cons jetstream.Consumer
}

func (h *harness) events(t *testing.T) *eventReader {
	t.Helper()
	js, err := jetstream.New(h.nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := bus.Retry(ctx, func(ctx context.Context) error { return bus.EnsureStreams(ctx, js) }); err != nil {
		t.Fatal(err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, bus.StreamEvents, jetstream.ConsumerConfig{
		Durable: "test", AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &eventReader{t: t, cons: cons}
}

type storedEvent struct {
	bus.ContainerEvent
	Subject string
	MsgID   string
}

// next returns the next event, failing the test after timeout.
func (r *eventReader) next(timeout time.Duration) storedEvent {
	r.t.Helper()
	msg, err := r.cons.Next(jetstream.FetchMaxWait(timeout))
	if err != nil {
		r.t.Fatalf("no container event within %v: %v", timeout, err)
	}
	_ = msg.Ack()
	var ev storedEvent
	if err := json.Unmarshal(msg.Data(), &ev.ContainerEvent); err != nil {
		r.t.Fatal(err)
	}
	ev.Subject = msg.Subject()
	ev.MsgID = msg.Headers().Get(jetstream.MsgIDHeader)
	return ev
}

// until skips events until one with the action and container arrives.
func (r *eventReader) until(action, dockerID string, timeout time.Duration) storedEvent {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			r.t.Fatalf("no %s event of %s within %v", action, dockerID, timeout)
		}
		ev := r.next(left)
		if ev.Action == action && ev.DockerID == dockerID {
			return ev
		}
	}
}
