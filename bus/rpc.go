package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// Request/reply between services carries its own liveness: while a responder works
// on a request it sends a progress message (header HeaderProgress, no body) to the
// request's reply subject every ProgressInterval, and the caller gives up waiting
// after ResponderIdle without any message. A long operation (a pull, a stop with a
// long grace period) is thereby never confused with a responder that died while
// holding the request, and a caller whose responder was killed retries within
// seconds instead of waiting out the operation's whole timeout.
//
//	caller ──request──▶ responder
//	       ◀─progress── (every ProgressInterval while working)
//	       ◀──reply──── (once: the result, or an error in the headers)
//	no message for ResponderIdle: ErrResponderLost (retryable)
//	nobody subscribed:            ErrNoResponders  (retryable)
const (
	HeaderProgress   = "Ecs-Progress"
	ProgressInterval = 500 * time.Millisecond
	ResponderIdle    = 2 * time.Second
)

// The status header the server puts on the message it sends to a reply subject when
// nobody is subscribed to the request's subject.
const (
	statusHeader       = "Status"
	statusNoResponders = "503"
)

// Transport failures of Call; both are worth retrying, soon.
var (
	ErrNoResponders  = errors.New("no responder is subscribed")
	ErrResponderLost = errors.New("the responder went silent")
)

// Call sends req to a request/reply endpoint and decodes the reply into a Rep (an
// empty reply body decodes into the zero Rep). An endpoint error comes back as
// *Error; a responder that is absent or goes silent as ErrNoResponders or
// ErrResponderLost; the end of ctx as ctx's error.
func Call[Req, Rep any](ctx context.Context, nc *nats.Conn, subject string, req Req) (Rep, error) {
	return CallProgress[Req, Rep](ctx, nc, subject, req, nil)
}

// CallProgress is Call, and hands onProgress the status text a responder puts in its
// progress messages (SetStatus): how far the request has got, "12.3MB of 40.1MB" for
// a pull. onProgress runs on the calling goroutine, between waits.
func CallProgress[Req, Rep any](ctx context.Context, nc *nats.Conn, subject string, req Req, onProgress func(string)) (Rep, error) {
	var rep Rep
	data, err := json.Marshal(req)
	if err != nil {
		return rep, fmt.Errorf("encoding %s request: %w", subject, err)
	}
	msg, err := request(ctx, nc, subject, data, onProgress)
	if err != nil {
		return rep, err
	}
	if err := ErrorFromReply(msg); err != nil {
		return rep, err
	}
	if len(msg.Data) == 0 {
		return rep, nil
	}
	if err := json.Unmarshal(msg.Data, &rep); err != nil {
		return rep, fmt.Errorf("decoding %s reply: %w", subject, err)
	}
	return rep, nil
}

// replyBuffer is how many messages a caller's inbox holds before the bus drops them
// (the caller reads each as it comes; a responder sends one a ProgressInterval).
const replyBuffer = 16

// request publishes data with a private reply subject and waits for the final reply,
// skipping progress messages.
func request(ctx context.Context, nc *nats.Conn, subject string, data []byte, onProgress func(string)) (*nats.Msg, error) {
	inbox := nc.NewInbox()
	// A few messages come on the inbox (progress now and then, the reply): a small
	// channel of its own, not SubscribeSync's 64K-slot one (512 KiB a call, which a
	// burst of tasks turns into hundreds of megabytes of garbage).
	replies := make(chan *nats.Msg, replyBuffer)
	sub, err := nc.ChanSubscribe(inbox, replies)
	if err != nil {
		return nil, fmt.Errorf("calling %s: %w", subject, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.PublishMsg(&nats.Msg{Subject: subject, Reply: inbox, Data: data}); err != nil {
		return nil, fmt.Errorf("calling %s: %w", subject, err)
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, ResponderIdle)
		var m *nats.Msg
		var err error
		select {
		case m = <-replies:
		case <-wctx.Done():
			err = wctx.Err()
		}
		cancel()
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return nil, fmt.Errorf("calling %s: %w", subject, ctx.Err())
		case errors.Is(err, nats.ErrNoResponders):
			return nil, fmt.Errorf("calling %s: %w", subject, ErrNoResponders)
		case errors.Is(err, context.DeadlineExceeded):
			return nil, fmt.Errorf("calling %s: no answer for %s: %w", subject, ResponderIdle, ErrResponderLost)
		default:
			return nil, fmt.Errorf("calling %s: %w", subject, err)
		}
		if m.Header != nil {
			if m.Header.Get(statusHeader) == statusNoResponders {
				return nil, fmt.Errorf("calling %s: %w", subject, ErrNoResponders)
			}
			if v := m.Header.Get(HeaderProgress); v != "" && len(m.Data) == 0 {
				if v != progressBare && onProgress != nil {
					onProgress(v)
				}
				continue
			}
		}
		return m, nil
	}
}

// KeepAlive tells the caller waiting on reply that its request is being worked on,
// every ProgressInterval, until the returned stop is called. A responder calls it as
// soon as it takes a request and stops it just before replying.
func KeepAlive(nc *nats.Conn, reply string) (stop func()) {
	return KeepAliveStatus(nc, reply, nil)
}

// progressBare is the progress header of a responder with nothing to say.
const progressBare = "1"

// KeepAliveStatus is KeepAlive, each progress message carrying status() (when not
// empty) for a caller that listens (CallProgress).
func KeepAliveStatus(nc *nats.Conn, reply string, status func() string) (stop func()) {
	if reply == "" {
		return func() {}
	}
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(ProgressInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				v := progressBare
				if status != nil {
					if st := status(); st != "" {
						v = st
					}
				}
				_ = nc.PublishMsg(&nats.Msg{Subject: reply, Header: nats.Header{HeaderProgress: []string{v}}})
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

// DockerEngineVersion asks a running dockerexec, through its service info, which
// Docker engine version it drives. It fails when no dockerexec answers.
func DockerEngineVersion(ctx context.Context, nc *nats.Conn) (string, error) {
	subject, err := micro.ControlSubject(micro.InfoVerb, DockerService, "")
	if err != nil {
		return "", err
	}
	msg, err := request(ctx, nc, subject, nil, nil)
	if err != nil {
		return "", fmt.Errorf("asking %s for its info: %w", DockerService, err)
	}
	var info micro.Info
	if err := json.Unmarshal(msg.Data, &info); err != nil {
		return "", fmt.Errorf("decoding %s info: %w", DockerService, err)
	}
	v := info.Metadata[MetadataDockerVersion]
	if v == "" {
		return "", fmt.Errorf("%s does not know the engine's version", DockerService)
	}
	return v, nil
}

type statusKey struct{}

// WithStatus gives a request's handler, through its ctx, the way to say how far it
// has got (SetStatus).
func WithStatus(ctx context.Context, set func(string)) context.Context {
	return context.WithValue(ctx, statusKey{}, set)
}

// SetStatus records how far the request of ctx has got; the next progress message
// carries it. Without WithStatus it does nothing.
func SetStatus(ctx context.Context, status string) {
	if set, ok := ctx.Value(statusKey{}).(func(string)); ok {
		set(status)
	}
}
