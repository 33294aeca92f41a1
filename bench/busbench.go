package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
)

// busResult is the bus's request/reply round trip and JetStream publish-with-ack
// latency, measured on the pod's bus.
type busResult struct {
	RequestReply dist `json:"request_reply"`
	JSPublishAck dist `json:"jetstream_publish_ack"`
}

const benchStream = "ECS_BENCH"

// benchBus measures n round trips between two connections of the admin user: one
// answers on a subject, the other requests; then n publishes with ack to a small
// file stream made for the purpose and deleted at the end.
func benchBus(ctx context.Context, a *agent, n int) (busResult, error) {
	var res busResult
	dial := func(name string) (*nats.Conn, error) {
		nc, err := bus.Dial(bus.DialConfig{
			Name: name, User: bus.UserAdmin,
			URL:          "nats://127.0.0.1:" + strconv.Itoa(a.BusPort),
			PasswordFile: bus.CredentialFile(a.DataDir, bus.UserAdmin),
			Log:          zerolog.Nop(),
		})
		if err != nil {
			return nil, err
		}
		if err := waitUntil(ctx, 10*time.Second, nc.IsConnected); err != nil {
			nc.Close()
			return nil, fmt.Errorf("connecting to the bus as %s: %w", name, err)
		}
		return nc, nil
	}
	server, err := dial("bench-responder")
	if err != nil {
		return res, err
	}
	defer server.Close()
	client, err := dial("bench-requester")
	if err != nil {
		return res, err
	}
	defer client.Close()

	sub, err := server.Subscribe("bench.echo", func(m *nats.Msg) { _ = m.Respond(m.Data) })
	if err != nil {
		return res, err
	}
	defer sub.Unsubscribe()
	if err := server.Flush(); err != nil {
		return res, err
	}
	payload := make([]byte, 256)
	rr := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		if _, err := client.Request("bench.echo", payload, 2*time.Second); err != nil {
			return res, fmt.Errorf("request: %w", err)
		}
		rr = append(rr, time.Since(t0))
	}
	res.RequestReply = newDist(rr)

	js, err := jetstream.New(client)
	if err != nil {
		return res, err
	}
	_ = js.DeleteStream(ctx, benchStream)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: benchStream, Subjects: []string{"bench.stream.>"},
		Storage: jetstream.FileStorage, MaxMsgs: int64(n), Discard: jetstream.DiscardOld,
	}); err != nil {
		return res, fmt.Errorf("creating stream %s: %w", benchStream, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = js.DeleteStream(dctx, benchStream)
	}()
	pub := make([]time.Duration, 0, n)
	for i := range n {
		t0 := time.Now()
		if _, err := js.Publish(ctx, "bench.stream."+strconv.Itoa(i%10), payload); err != nil {
			return res, fmt.Errorf("publish: %w", err)
		}
		pub = append(pub, time.Since(t0))
	}
	res.JSPublishAck = newDist(pub)
	return res, nil
}
