package bus_test

import (
	"context"
	"errors"
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
