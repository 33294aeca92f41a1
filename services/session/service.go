package session

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/ecs-agent/ecs-agent/awsclient"
	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/logger"
	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Service is the session: registration, then the ACS connection for as long as Run
// runs.
type Service struct {
	m      *sessionMetrics
	cfg    Config
	log    zerolog.Logger
	nc     *nats.Conn
	js     jetstream.JetStream
	aws    aws.Config // credentials, region, the IMDS settings
	api    ECSAPI
	creds  aws.CredentialsProvider
	signer *v4.Signer
	dialer *websocket.Dialer
	now    func() time.Time

	// Set by Run before the ACS loop starts.
	kv      jetstream.KeyValue // the registration (owner: the session)
	tasks   jetstream.KeyValue // the scheduler's task records, read for stop verification
	credKV  jetstream.KeyValue // the tasks' role credentials (owner: the session), sealed
	started time.Time
	keyring *bus.Keyring

	// needCredentials asks the next ACS connection for every task's credentials
	// (sendCredentials=true): on the first connection, and after the bus lost them.
	needCredentials atomic.Bool
	// everConnected tells the first ACS connection from reconnects (metrics).
	everConnected atomic.Bool
	// kick ends the current ACS connection, which is then made again at once.
	kick chan struct{}

	// Owned by Run's goroutine.
	endpoints          map[string]cachedEndpoint
	storedTelemetry    string // the telemetry endpoint last stored in the registration
	dockerVersion      string // learnt from dockerexec; cfg.DockerVersion wins when set
	askedDockerVersion bool

	// Owned by the payload worker; workers of successive connections never overlap.
	latestSeq int64
	// manifestID is the messageId of the last manifest accepted; a stop
	// verification ack is honoured only when it names it.
	manifestID string
}

// New builds the session from its configuration and an open bus connection, which
// may be a TCP or an in-process one. It checks the configuration but makes no call;
// Run does the work.
func New(cfg Config, nc *nats.Conn, log zerolog.Logger) (*Service, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if nc == nil {
		return nil, errors.New("session: no bus connection")
	}
	cfg.Timers = cfg.Timers.withDefaults()
	if cfg.MemInfoPath == "" {
		cfg.MemInfoPath = "/proc/meminfo"
	}
	if cfg.AgentVersionString == "" {
		cfg.AgentVersionString = "Amazon ECS Agent - v" + cfg.AgentVersion
	}
	js, err := bus.JetStream(nc)
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	m, err := newSessionMetrics(cfg.Metrics)
	if err != nil {
		return nil, fmt.Errorf("session: registering metrics: %w", err)
	}
	// Credentials are fetched at the first call; only a missing region may need
	// IMDS here (its identity document), bounded by the IMDS client's timeouts.
	actx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	ac, err := awsConfig(actx, cfg)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	cfg.Region = ac.Region
	svc := &Service{
		m:         m,
		cfg:       cfg,
		log:       log.With().Str(logger.FieldService, "session").Str(logger.FieldCluster, cfg.Cluster).Logger(),
		nc:        nc,
		js:        js,
		aws:       ac,
		api:       newECSClient(ac, cfg),
		creds:     ac.Credentials,
		signer:    v4.NewSigner(),
		dialer:    awsclient.WebsocketDialer(cfg.Timers.HandshakeTimeout, cfg.SkipTLSVerify),
		now:       time.Now,
		endpoints: map[string]cachedEndpoint{},
		latestSeq: -1,
		keyring:   bus.NewKeyring(bus.SealKeyFile(cfg.DataDir)),
		kick:      make(chan struct{}, 1),
	}
	svc.needCredentials.Store(true)
	return svc, nil
}

// reconnect ends the current ACS connection; runACS makes a new one at once.
func (s *Service) reconnect() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run sets up the bus's streams and the instance bucket, registers the instance,
// stores the registration, and then keeps the ACS connection until ctx ends, when
// it returns nil. It returns an error only when the instance cannot be registered;
// errors.Is(err, ErrTerminal) says that trying again will not help. Run may be
// called once.
func (s *Service) Run(ctx context.Context) error {
	s.started = s.now()
	err := bus.OpenStreams(ctx, s.js, bus.StreamDesired)
	if err == nil {
		s.kv, err = bus.OpenBucket(ctx, s.js, bus.BucketInstance)
	}
	if err == nil {
		s.tasks, err = bus.OpenBucket(ctx, s.js, bus.BucketTasks)
	}
	if err == nil {
		s.credKV, err = bus.OpenBucket(ctx, s.js, bus.BucketCredentials)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("setting up the bus: %w", err)
	}
	reg, err := s.register(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	s.log = s.log.With().Str(logger.FieldInstance, reg.ContainerInstanceArn).Logger()
	done := make(chan struct{})
	go func() { defer close(done); s.keepCredentials(ctx) }()
	s.runACS(ctx, reg)
	<-done
	return nil
}
