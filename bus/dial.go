package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus/backoff"
)

// DialConfig says how a service reaches the bus.
type DialConfig struct {
	// Name identifies the connection in the server (the service name).
	Name string
	// User is the bus user to authenticate as; its permissions are the service's.
	User User
	// URL of a bus listening on TCP (nats://127.0.0.1:4222). Ignored when InProcess
	// is set.
	URL string
	// InProcess is an embedded server in the same process.
	InProcess *Server
	// Password authenticates User. When it is empty, PasswordFile is read on every
	// (re)connect, so that a restarted bus with a new password is followed.
	Password     string
	PasswordFile string
	// Log receives the connection's life: lost, back, refused credentials, denied
	// subjects.
	Log zerolog.Logger
}

// Dial connects to the bus. It never gives up: the connection retries the first
// connect and reconnects forever, so a service may start before the bus.
func Dial(cfg DialConfig) (*nats.Conn, error) {
	if cfg.User == "" {
		return nil, errors.New("bus: no user to connect as")
	}
	user := string(cfg.User)
	where := cfg.URL
	if cfg.InProcess != nil {
		where = "in-process"
	}
	log := cfg.Log.With().Str("bus", where).Str("bus_user", user).Logger()
	problems := &onceLog{log: log}
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.PingInterval(pingInterval),
		nats.CustomInboxPrefix(cfg.User.InboxPrefix()),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn().Err(err).Msg("bus connection lost; reconnecting")
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			problems.reset()
			log.Info().Str("server", nc.ConnectedUrlRedacted()).Msg("bus connection back")
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			if errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) {
				problems.warn("auth", err, "the bus refused the credentials of user "+user+
					" (check its password file or ECS_BUS_PASSWORD_"+upper(user)+")")
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrPermissionViolation) {
				log.Error().Err(err).Msg("the bus denied a subject to user " + user)
				return
			}
			log.Warn().Err(err).Msg("bus error")
		}),
	}
	switch {
	case cfg.Password != "":
		opts = append(opts, nats.UserInfo(user, cfg.Password))
	case cfg.PasswordFile != "":
		file := cfg.PasswordFile
		opts = append(opts, nats.UserInfoHandler(func() (string, string) {
			p, err := ReadPassword(file)
			if err != nil {
				problems.warn("file", err, "cannot read the bus password of user "+user)
			}
			return user, p
		}))
	default:
		return nil, fmt.Errorf("bus: no password and no password file for user %s", user)
	}
	url := cfg.URL
	if cfg.InProcess != nil {
		// An in-process connection has no network to go stale: no pings, which
		// would only wake an idle agent.
		opts = append(opts, nats.InProcessServer(cfg.InProcess.NATS()), nats.PingInterval(0))
		url = ""
	} else if url == "" {
		return nil, errors.New("bus: no URL to dial")
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("bus: connecting to %q as %s: %w", where, user, err)
	}
	return nc, nil
}

// pingInterval is how often a TCP connection to the bus is pinged: a bus process
// that dies closes its sockets at once, so pings only find a bus that hangs.
const pingInterval = 30 * time.Second

// onceLog logs each kind of connection problem once until the connection is back, so
// that a refused password is said clearly without a line per reconnect attempt.
type onceLog struct {
	log  zerolog.Logger
	mu   sync.Mutex
	said map[string]string
}

func (o *onceLog) warn(kind string, err error, msg string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.said == nil {
		o.said = map[string]string{}
	}
	if o.said[kind] == err.Error() {
		return
	}
	o.said[kind] = err.Error()
	o.log.Error().Err(err).Msg(msg)
}

func (o *onceLog) reset() {
	o.mu.Lock()
	o.said = nil
	o.mu.Unlock()
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// JetStream returns the JetStream context of a connection.
func JetStream(nc *nats.Conn) (jetstream.JetStream, error) {
	return jetstream.New(nc)
}

// Retry calls fn until it succeeds or ctx ends, waiting between attempts by
// backoff.Fast. Services use it for stream and bucket set-up and for stores, which fail
// while the bus is still starting or restarting.
func Retry(ctx context.Context, fn func(context.Context) error) error {
	return backoff.Retry(ctx, backoff.Fast, fn)
}
