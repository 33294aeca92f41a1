package dockerexec_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/bustest"
	"github.com/ecs-agent/ecs-agent/services/dockerexec"
)

// harness is a running service on a private bus.
type harness struct {
	bus   *bustest.Bus
	nc    *nats.Conn
	stops []func()
}

// stopAll stops every service the harness runs.
func (h *harness) stopAll(t *testing.T) {
	t.Helper()
	for _, stop := range h.stops {
		stop()
	}
	h.stops = nil
}

// startService runs a Service over docker on a fresh bus until the test ends.
func startService(t *testing.T, cfg dockerexec.Config, docker dockerexec.Docker) *harness {
	t.Helper()
	b := bustest.Start(t)
	registerInstance(t, b, instanceArn)
	h := &harness{bus: b, nc: b.Conn(t, "test")}
	h.run(t, cfg, docker)
	return h
}

// run starts a Service on the harness's bus and waits until it serves; the returned
// stop ends it (as a kill would: nothing of it survives but what it stored).
func (h *harness) run(t *testing.T, cfg dockerexec.Config, docker dockerexec.Docker) (stop func()) {
	t.Helper()
	svcConn := h.bus.ConnAs(t, bus.UserDockerexec, "dockerexec")
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
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Run did not return after cancel")
			}
			svcConn.Close()
		})
	}
	t.Cleanup(stop)
	h.stops = append(h.stops, stop)
	// The endpoints are up once the last one added (list) answers.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := bus.Call[bus.ListRequest, bus.ListReply](ctx, h.nc, bus.SubjectDockerList, bus.ListRequest{})
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service did not come up: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return stop
}

// instanceArn is the container instance the service under test serves.
const instanceArn = "arn:aws:ecs:us-west-2:123456789012:container-instance/default/0f1e2d3c"

// registerInstance stores the session's registration, which tells dockerexec which
// instance it serves.
func registerInstance(t *testing.T, b *bustest.Bus, arn string) {
	t.Helper()
	js, err := jetstream.New(b.Conn(t, "session"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := bus.OpenBucket(ctx, js, bus.BucketInstance)
	if err != nil {
		t.Fatal(err)
	}
	reg := bus.Registration{Type: bus.TypeRegistration, Cluster: "default", ContainerInstanceArn: arn}
	if err := bus.PutJSON(ctx, kv, bus.KeyRegistration, reg); err != nil {
		t.Fatal(err)
	}
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
