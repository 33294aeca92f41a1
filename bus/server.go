package bus

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// DefaultPort is where the pod's bus listens (on 127.0.0.1 only).
const DefaultPort = 4222

// DefaultUser is the bus user every service authenticates as.
const DefaultUser = "ecs"

// ServerConfig configures the embedded bus.
type ServerConfig struct {
	// StoreDir holds JetStream's files ($ECS_DATADIR/bus).
	StoreDir string
	// Port to listen on, on 127.0.0.1. 0 means DefaultPort, -1 a random port.
	Port int
	// DontListen keeps the server in-process only (the all-in-one binary).
	DontListen bool
	// User and Password are the credentials clients must present.
	User, Password string
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
	if cfg.Password == "" {
		return nil, errors.New("bus: a password is required")
	}
	if cfg.User == "" {
		cfg.User = DefaultUser
	}
	port := cfg.Port
	if port == 0 {
		port = DefaultPort
	}
	if port < 0 {
		port = server.RANDOM_PORT
	}
	opts := &server.Options{
		ServerName:         "ecs-bus",
		Host:               "127.0.0.1",
		Port:               port,
		DontListen:         cfg.DontListen,
		NoSigs:             true,
		NoLog:              true,
		JetStream:          true,
		StoreDir:           cfg.StoreDir,
		JetStreamMaxMemory: 64 << 20,
		JetStreamMaxStore:  1 << 30,
		Users:              []*server.User{{Username: cfg.User, Password: cfg.Password}},
		MaxPayload:         8 << 20,
		HTTPPort:           0,
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("bus: configuring server: %w", err)
	}
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

// CredentialsFile is where the bus keeps its password, inside the data directory, so
// that every process sharing $ECS_DATADIR can read it.
func CredentialsFile(dataDir string) string {
	return filepath.Join(dataDir, "bus", "password")
}

// LoadOrCreatePassword returns the password stored in path, creating a random one
// (file mode 0600) when the file does not exist.
func LoadOrCreatePassword(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		if p := strings.TrimSpace(string(b)); p != "" {
			return p, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("reading bus password: %w", err)
	}
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	p := hex.EncodeToString(buf)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("creating bus directory: %w", err)
	}
	if err := os.WriteFile(path, []byte(p+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing bus password: %w", err)
	}
	return p, nil
}

// ReadPassword reads the password stored in path.
func ReadPassword(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading bus password (is the bus running with the same ECS_DATADIR?): %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
