package bus

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rs/zerolog"
)

// DefaultPort is where the pod's bus listens (on 127.0.0.1 only).
const DefaultPort = 4222

// ServerConfig configures the embedded bus.
type ServerConfig struct {
	// StoreDir holds JetStream's files ($ECS_DATADIR/bus).
	StoreDir string
	// Port to listen on, on 127.0.0.1. 0 means DefaultPort, -1 a random port.
	Port int
	// DontListen keeps the server in-process only (the all-in-one binary).
	DontListen bool
	// Users are the password of every user that may connect; each gets its
	// Permissions. At least one is required.
	Users map[User]string
	// Log receives the server's warnings and errors (a refused login among them).
	Log zerolog.Logger
}

// Server is the embedded NATS server with JetStream.
type Server struct {
	ns *server.Server
}

// StartServer starts the bus and waits until it accepts connections.
func StartServer(cfg ServerConfig) (*Server, error) {
	if cfg.StoreDir == "" {
		return nil, errors.New("bus: StoreDir is required")
	}
	if len(cfg.Users) == 0 {
		return nil, errors.New("bus: at least one user is required")
	}
	port := cfg.Port
	if port == 0 {
		port = DefaultPort
	}
	if port < 0 {
		port = server.RANDOM_PORT
	}
	var users []*server.User
	for _, u := range Users() {
		pw, ok := cfg.Users[u]
		if !ok {
			continue
		}
		if pw == "" {
			return nil, fmt.Errorf("bus: user %s has an empty password", u)
		}
		users = append(users, &server.User{Username: string(u), Password: pw, Permissions: Permissions(u)})
	}
	opts := &server.Options{
		ServerName:         "ecs-bus",
		Host:               "127.0.0.1",
		Port:               port,
		DontListen:         cfg.DontListen,
		NoSigs:             true,
		JetStream:          true,
		StoreDir:           cfg.StoreDir,
		JetStreamMaxMemory: 64 << 20,
		JetStreamMaxStore:  1 << 30,
		Users:              users,
		MaxPayload:         8 << 20,
		HTTPPort:           0,
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("bus: configuring server: %w", err)
	}
	ns.SetLoggerV2(serverLog{log: cfg.Log.With().Str("component", "nats").Logger()}, false, false, false)
	go ns.Start()
	if !ns.ReadyForConnections(15 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("bus: server not ready after 15s")
	}
	return &Server{ns: ns}, nil
}

// ClientURL is the URL clients dial (nats://127.0.0.1:PORT); empty for an in-process
// server.
func (s *Server) ClientURL() string {
	if s.ns.Addr() == nil {
		return ""
	}
	return s.ns.ClientURL()
}

// NATS exposes the server for in-process connections (Dial's InProcess).
func (s *Server) NATS() *server.Server { return s.ns }

// Shutdown stops the server and waits for it.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// serverLog sends the server's own log to zerolog: its notices at debug (they are
// many and routine), warnings and errors as such, so that a refused login or a
// permission violation shows in the bus's log.
type serverLog struct{ log zerolog.Logger }

func (l serverLog) Noticef(format string, v ...any) { l.log.Debug().Msgf(format, v...) }
func (l serverLog) Warnf(format string, v ...any) {
	// The passwords are random and never leave the data directory; the server's
	// advice to hash them concerns configuration files.
	if strings.HasPrefix(format, "Plaintext passwords detected") {
		return
	}
	l.log.Warn().Msgf(format, v...)
}
func (l serverLog) Errorf(format string, v ...any) { l.log.Error().Msgf(format, v...) }
func (l serverLog) Fatalf(format string, v ...any) { l.log.Error().Msgf(format, v...) }
func (l serverLog) Debugf(format string, v ...any) {}
func (l serverLog) Tracef(format string, v ...any) {}
