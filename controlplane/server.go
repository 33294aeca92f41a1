package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/controlplane/creds"
	"github.com/ecs-agent/ecs-agent/controlplane/fault"
	"github.com/ecs-agent/ecs-agent/controlplane/sigv4"
	"github.com/ecs-agent/ecs-agent/controlplane/state"
)

// The documented development credentials, accepted when none are configured.
const (
	DevAccessKey = "AKIDECSLOCALDEV"
	DevSecretKey = "ecs-local-development-secret"
)

// Defaults for Config fields left zero.
const (
	DefaultRegion               = "us-west-2"
	DefaultAccount              = "123456789012"
	DefaultHeartbeatInterval    = 20 * time.Second
	DefaultPayloadRetryInterval = 5 * time.Second
	DefaultManifestInterval     = 60 * time.Second
	DefaultCredentialsDuration  = time.Hour
)

// Config configures a Server. Zero values take the defaults above.
type Config struct {
	Region  string
	Account string
	// Credentials maps access key IDs to secret keys; nil means the development pair.
	Credentials map[string]string
	// AllowUnsigned skips SigV4 verification entirely.
	AllowUnsigned bool
	// HeartbeatInterval is how often each ACS socket gets a HeartbeatMessage.
	HeartbeatInterval time.Duration
	// PayloadRetryInterval is how long an unacknowledged payload waits before it is
	// sent again.
	PayloadRetryInterval time.Duration
	// ManifestInterval is how often each ACS socket gets a TaskManifestMessage, besides
	// the one sent on every connect.
	ManifestInterval time.Duration
	// CredentialsDuration is the lifetime of the task role credentials handed to agents;
	// they are refreshed when less than a third of it is left. The command refuses less
	// than creds.MinDuration (CheckCredentialsDuration); tests may use less.
	CredentialsDuration time.Duration
	// STSEndpoint, when set, makes credentials with AssumeRole at that URL (signed with
	// the control plane's own credentials from the SDK's default chain); "" invents them.
	STSEndpoint string
	// Minter overrides both (tests).
	Minter creds.Minter
	// SnapshotPath names the state file; "" keeps state in memory only.
	SnapshotPath string
	Logger       zerolog.Logger
}

// Server is the control plane as an http.Handler.
type Server struct {
	cfg      Config
	log      zerolog.Logger
	store    *state.Store
	faults   *fault.Set
	verifier sigv4.Verifier
	upgrader websocket.Upgrader
	minter   creds.Minter
	book     *creds.Book

	mu       sync.Mutex
	sessions map[string]*acsSession // ACS sessions by container instance ARN
	tcs      map[*websocket.Conn]struct{}
	// telemetry is what the agents published over TCS.
	telemetry *telemetry
	closed    bool
}

var _ http.Handler = (*Server)(nil)

// New builds a server, loading the snapshot when one is configured.
func New(cfg Config) (*Server, error) {
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.Account == "" {
		cfg.Account = DefaultAccount
	}
	if cfg.Credentials == nil {
		cfg.Credentials = map[string]string{DevAccessKey: DevSecretKey}
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if cfg.PayloadRetryInterval <= 0 {
		cfg.PayloadRetryInterval = DefaultPayloadRetryInterval
	}
	if cfg.ManifestInterval <= 0 {
		cfg.ManifestInterval = DefaultManifestInterval
	}
	if cfg.CredentialsDuration <= 0 {
		cfg.CredentialsDuration = DefaultCredentialsDuration
	}
	minter := cfg.Minter
	switch {
	case minter != nil:
	case cfg.STSEndpoint != "":
		m, err := creds.NewSTS(context.Background(), cfg.STSEndpoint, cfg.Region, cfg.CredentialsDuration)
		if err != nil {
			return nil, err
		}
		minter = m
	default:
		minter = &creds.Local{Duration: cfg.CredentialsDuration}
	}
	store, err := state.New(state.Options{Region: cfg.Region, Account: cfg.Account, SnapshotPath: cfg.SnapshotPath})
	if err != nil {
		return nil, fmt.Errorf("opening state: %w", err)
	}
	return &Server{
		cfg:      cfg,
		log:      cfg.Logger.With().Str("component", "controlplane").Logger(),
		store:    store,
		faults:   &fault.Set{},
		verifier: sigv4.Verifier{Credentials: cfg.Credentials},
		minter:   minter,
		book:     creds.NewBook(),
		upgrader: websocket.Upgrader{
			ReadBufferSize:  4096,
			WriteBufferSize: 32 * 1024,
			CheckOrigin:     func(*http.Request) bool { return true },
		},
		sessions:  map[string]*acsSession{},
		tcs:       map[*websocket.Conn]struct{}{},
		telemetry: newTelemetry(),
	}, nil
}

// ServeHTTP routes the API, the websockets and the admin API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/admin/"):
		s.serveAdmin(w, r)
	case r.URL.Path == "/ws" || strings.HasPrefix(r.URL.Path, "/ws/"):
		s.serveWebsocket(w, r)
	case r.URL.Path == "/" && r.Method == http.MethodPost:
		s.serveAPI(w, r)
	case r.URL.Path == "/" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ecs-controlplane: ECS JSON 1.1 API on POST /, ACS and TCS on GET /ws")
	default:
		http.NotFound(w, r)
	}
}

// Close drops every websocket and writes the snapshot.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	sessions := make([]*acsSession, 0, len(s.sessions))
	for _, a := range s.sessions {
		sessions = append(sessions, a)
	}
	for c := range s.tcs {
		c.Close()
	}
	s.mu.Unlock()
	for _, a := range sessions {
		a.close()
	}
	if err := s.store.Save(); err != nil {
		return errors.Join(errors.New("closing control plane"), err)
	}
	return nil
}

// CheckCredentialsDuration refuses a credentials lifetime the command should not run
// with: below creds.MinDuration the agent would spend its time refreshing.
func CheckCredentialsDuration(d time.Duration) error {
	if d < creds.MinDuration {
		return fmt.Errorf("credentials duration %s is below the minimum of %s", d, creds.MinDuration)
	}
	return nil
}

// Store gives tests and embedders direct access to the state.
func (s *Server) Store() *state.Store { return s.store }
