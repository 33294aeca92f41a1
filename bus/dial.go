package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DialConfig says how a service reaches the bus.
type DialConfig struct {
	// Name identifies the connection in the server (the service name).
	Name string
	// URL of a bus listening on TCP (nats://127.0.0.1:4222). Ignored when InProcess
	// is set.
	URL string
	// InProcess is an embedded server in the same process.
	InProcess *Server
	// User and Password authenticate. When Password is empty, PasswordFile is read
	// on every (re)connect, so a restarted bus with a new password is followed.
	User         string
	Password     string
	PasswordFile string
}

// Dial connects to the bus. It never gives up: the connection retries the first
// connect and reconnects forever, so a service may start before the bus.
func Dial(cfg DialConfig) (*nats.Conn, error) {
	user := cfg.User
	if user == "" {
		user = DefaultUser
	}
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.PingInterval(10 * time.Second),
	}
	switch {
	case cfg.Password != "":
		opts = append(opts, nats.UserInfo(user, cfg.Password))
	case cfg.PasswordFile != "":
		file := cfg.PasswordFile
		opts = append(opts, nats.UserInfoHandler(func() (string, string) {
			p, _ := ReadPassword(file)
			return user, p
		}))
	default:
		return nil, errors.New("bus: no password and no password file")
	}
	url := cfg.URL
	if cfg.InProcess != nil {
		opts = append(opts, nats.InProcessServer(cfg.InProcess.NATS()))
		url = ""
	} else if url == "" {
		return nil, errors.New("bus: no URL to dial")
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("bus: connecting to %q: %w", url, err)
	}
	return nc, nil
}

// JetStream returns the JetStream context of a connection.
func JetStream(nc *nats.Conn) (jetstream.JetStream, error) {
	return jetstream.New(nc)
}

// Retry calls fn until it succeeds or ctx ends, waiting between attempts (250 ms
// doubling up to 5 s). Services use it for stream and bucket set-up, which fails
// while the bus is still starting.
func Retry(ctx context.Context, fn func(context.Context) error) error {
	wait := 250 * time.Millisecond
	for {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(wait):
		}
		if wait *= 2; wait > 5*time.Second {
			wait = 5 * time.Second
		}
	}
}
