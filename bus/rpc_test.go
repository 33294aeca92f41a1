package bus_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/bustest"
)

// A responder that keeps sending progress holds its caller past ResponderIdle; one
// that goes silent lets the caller give up within ResponderIdle and retry.
func TestCallProgressAndLostResponder(t *testing.T) {
	b := bustest.Start(t)
	srv := b.Conn(t, "responder")
	hold := 2*bus.ResponderIdle + time.Second
	_, err := srv.Subscribe("test.slow", func(m *nats.Msg) {
		go func() {
			stop := bus.KeepAlive(srv, m.Reply)
			time.Sleep(hold)
			stop()
			_ = m.Respond([]byte(`{"dockerId":"done"}`))
		}()
	})
	if err != nil {
		t.Fatal(err)
	}
	// A responder killed while it holds the request: it never answers.
	if _, err := srv.Subscribe("test.dead", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Flush(); err != nil {
		t.Fatal(err)
	}
	client := b.Conn(t, "caller")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	start := time.Now()
	rep, err := bus.Call[struct{}, bus.ContainerState](ctx, client, "test.slow", struct{}{})
	if err != nil || rep.DockerID != "done" {
		t.Fatalf("slow call with progress: %+v, %v", rep, err)
	}
	if d := time.Since(start); d < hold {
		t.Fatalf("slow call answered after %v, before the responder did", d)
	}

	start = time.Now()
	_, err = bus.Call[struct{}, bus.ContainerState](ctx, client, "test.dead", struct{}{})
	if !errors.Is(err, bus.ErrResponderLost) || !bus.IsRetryable(err) {
		t.Fatalf("silent responder: %v, want ErrResponderLost", err)
	}
	if d := time.Since(start); d < bus.ResponderIdle || d > bus.ResponderIdle+2*time.Second {
		t.Fatalf("silent responder given up after %v, want about %v", d, bus.ResponderIdle)
	}
}

// A responder's status text reaches a caller that listens, between its waits.
func TestCallProgressCarriesStatus(t *testing.T) {
	b := bustest.Start(t)
	srv := b.Conn(t, "responder")
	_, err := srv.Subscribe("test.status", func(m *nats.Msg) {
		go func() {
			var mu sync.Mutex
			status := ""
			ctx := bus.WithStatus(context.Background(), func(s string) { mu.Lock(); status = s; mu.Unlock() })
			stop := bus.KeepAliveStatus(srv, m.Reply, func() string { mu.Lock(); defer mu.Unlock(); return status })
			for _, s := range []string{"1.0MB of 4.0MB", "3.0MB of 4.0MB"} {
				bus.SetStatus(ctx, s)
				time.Sleep(2 * bus.ProgressInterval)
			}
			stop()
			_ = m.Respond([]byte(`{"dockerId":"done"}`))
		}()
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = srv.Flush()
	var seen []string
	rep, err := bus.CallProgress[struct{}, bus.ContainerState](context.Background(), b.Conn(t, "caller"), "test.status", struct{}{},
		func(s string) { seen = append(seen, s) })
	if err != nil || rep.DockerID != "done" {
		t.Fatalf("%+v %v", rep, err)
	}
	if len(seen) < 2 || seen[0] != "1.0MB of 4.0MB" || seen[len(seen)-1] != "3.0MB of 4.0MB" {
		t.Errorf("statuses seen %q", seen)
	}
	bus.SetStatus(context.Background(), "nobody listens") // no WithStatus: nothing happens
}

// A subject nobody serves answers at once with ErrNoResponders, and a call's inbox
// is gone once it returned.
func TestCallNoResponders(t *testing.T) {
	b := bustest.Start(t)
	client := b.Conn(t, "caller")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err := bus.Call[struct{}, bus.ContainerState](ctx, client, "test.nobody", struct{}{})
	if !errors.Is(err, bus.ErrNoResponders) {
		t.Fatalf("call without responders: %v, want ErrNoResponders", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("no responders told after %v", d)
	}
	if n := client.NumSubscriptions(); n != 0 {
		t.Fatalf("%d subscriptions left after the call", n)
	}
}
