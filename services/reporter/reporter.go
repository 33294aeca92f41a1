package reporter

import (
	"context"
	"errors"
	"fmt"
	busmetrics "github.com/ecs-agent/ecs-agent/bus/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/awsclient"
	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/config"
	"github.com/ecs-agent/ecs-agent/bus/logger"
	"github.com/ecs-agent/ecs-agent/services/reporter/ecsapi"
	"github.com/ecs-agent/ecs-agent/services/reporter/introspection"
	"github.com/ecs-agent/ecs-agent/services/reporter/metrics"
	"github.com/ecs-agent/ecs-agent/services/reporter/outbox"
	"github.com/ecs-agent/ecs-agent/services/reporter/taskserver"
	"github.com/ecs-agent/ecs-agent/services/reporter/telemetry"
)

// Name is the service name, used for the bus connection and logs.
const Name = "ecs-reporter"

// DefaultMetricsPort is where /metrics listens unless configured otherwise.
const DefaultMetricsPort = 51680

// Config is everything the reporter needs.
type Config struct {
	// Cluster is the configured cluster (ECS_CLUSTER), reported by /v1/metadata until
	// the session has registered the instance.
	Cluster string
	// ECS is how the control plane is reached (region, credentials, endpoint, -k).
	ECS ecsapi.Config
	// IntrospectionAddr is where the introspection API listens
	// (127.0.0.1:ECS_INTROSPECTION_PORT); empty disables it. Port 0 picks a free one.
	IntrospectionAddr string
	// RuntimeStats adds the Go runtime's profiles (/debug/pprof/) to the
	// introspection API (ECS_ENABLE_RUNTIME_STATS).
	RuntimeStats bool
	// MetricsAddr is where /metrics listens (127.0.0.1:51680); empty disables it.
	MetricsAddr string
	// Metrics is where the reporter registers its metrics and Gatherer what its
	// /metrics serves: the all-in-one agent gives one registry holding every
	// service's. Both nil: a registry of the reporter's own.
	Metrics  prometheus.Registerer
	Gatherer prometheus.Gatherer
	// TaskEndpointAddr is where the credentials and task metadata endpoints listen
	// (127.0.0.1:ECS_TASK_ENDPOINT_PORT); empty disables them. Port 0 picks a free one.
	TaskEndpointAddr string
	// DataDir is ECS_DATADIR, where the bus keeps the key credentials are sealed with;
	// required with TaskEndpointAddr.
	DataDir string
	// TaskMetadataRPS and TaskMetadataBurst throttle each task's requests to the task
	// endpoints (ECS_TASK_METADATA_RPS_LIMIT); zero takes the defaults, 40 and 60.
	TaskMetadataRPS, TaskMetadataBurst int
	// Outbox tunes delivery; zero values take the real agent's defaults.
	Outbox outbox.Config
	// Telemetry configures the TCS client (credentials and region are ECS's).
	Telemetry telemetry.Config
}

// ConfigFrom derives the reporter's configuration from the agent's.
func ConfigFrom(c config.Config) Config {
	cfg := Config{
		Cluster: c.Cluster,
		ECS: ecsapi.Config{
			Region:          c.Region,
			AccessKeyID:     c.AccessKeyID,
			SecretAccessKey: c.SecretAccessKey,
			SessionToken:    c.SessionToken,
			Profile:         c.CredentialProfile,
			External:        c.External,
			IMDSDisabled:    c.IMDSDisabled,
			Endpoint:        c.BackendHost,
			SkipTLSVerify:   c.SkipTLSVerify,
			UserAgent:       awsclient.UserAgent(config.VersionString()),
		},
	}
	if c.MetricsPort > 0 {
		cfg.MetricsAddr = hostPort(c.MetricsPort)
	}
	if c.IntrospectionPort > 0 {
		cfg.IntrospectionAddr = hostPort(c.IntrospectionPort)
	}
	if c.TaskEndpointPort > 0 {
		cfg.TaskEndpointAddr = hostPort(c.TaskEndpointPort)
	}
	cfg.DataDir = c.DataDir
	cfg.RuntimeStats = c.RuntimeStats
	cfg.Telemetry = telemetry.Config{
		SkipTLSVerify: c.SkipTLSVerify,
		AgentVersion:  config.Version, AgentHash: config.GitHash(), UserAgent: cfg.ECS.UserAgent,
		DisableMetrics: c.DisableMetrics, DisableHealth: c.DisableHealthCheck,
	}
	cfg.TaskMetadataRPS, cfg.TaskMetadataBurst = c.TaskMetadataRPS, c.TaskMetadataBurst
	return cfg
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// Reporter is the running service.
type Reporter struct {
	cfg     Config
	nc      *nats.Conn
	log     zerolog.Logger
	ecs     *ecsapi.Client
	metrics *metrics.Metrics
	state   *introspection.State

	ready     chan struct{}
	addrMu    sync.Mutex
	introAddr net.Addr
	metrAddr  net.Addr
	taskAddr  net.Addr
}

// New validates cfg and builds the reporter. nc is a bus connection the reporter
// uses but does not close. A missing region or credential is an error naming the
// variable.
func New(cfg Config, nc *nats.Conn, log zerolog.Logger) (*Reporter, error) {
	if nc == nil {
		return nil, errors.New("reporter: no bus connection")
	}
	if cfg.TaskEndpointAddr != "" && cfg.DataDir == "" {
		return nil, errors.New("reporter: the task endpoints need ECS_DATADIR, where the credentials key is")
	}
	client, err := ecsapi.New(cfg.ECS)
	if err != nil {
		return nil, fmt.Errorf("reporter: %w", err)
	}
	return &Reporter{
		cfg:     cfg,
		nc:      nc,
		log:     log.With().Str(logger.FieldService, "reporter").Logger(),
		ecs:     client,
		metrics: &metrics.Metrics{},
		state:   &introspection.State{},
		ready:   make(chan struct{}),
	}, nil
}

// Ready is closed once the streams, the consumer and the buckets exist and the HTTP
// listeners are bound.
func (r *Reporter) Ready() <-chan struct{} { return r.ready }

// IntrospectionAddr is the bound introspection address, nil before Ready or when
// disabled.
func (r *Reporter) IntrospectionAddr() net.Addr {
	r.addrMu.Lock()
	defer r.addrMu.Unlock()
	return r.introAddr
}

// MetricsAddr is the bound metrics address, nil before Ready or when disabled.
func (r *Reporter) MetricsAddr() net.Addr {
	r.addrMu.Lock()
	defer r.addrMu.Unlock()
	return r.metrAddr
}

// TaskEndpointAddr is the bound address of the credentials and task metadata
// endpoints, nil before Ready or when disabled.
func (r *Reporter) TaskEndpointAddr() net.Addr {
	r.addrMu.Lock()
	defer r.addrMu.Unlock()
	return r.taskAddr
}

// Metrics returns the live counters.
func (r *Reporter) Metrics() metrics.Snapshot { return r.metrics.Snapshot() }

// Run serves until ctx ends. It returns nil on a clean shutdown and an error only
// when a listener cannot be bound.
func (r *Reporter) Run(ctx context.Context) error {
	js, err := bus.JetStream(r.nc)
	if err != nil {
		return fmt.Errorf("reporter: %w", err)
	}
	ob := outbox.New(r.cfg.Outbox, js, ecsSubmitter{r.ecs}, r.metrics, r.log)
	if err := ob.Setup(ctx); err != nil {
		return nilOnCancel(ctx, err)
	}
	reg, gather := r.cfg.Metrics, r.cfg.Gatherer
	if reg == nil && gather == nil {
		own := busmetrics.NewRegistry()
		if err := busmetrics.RegisterBusRTT(own, r.nc); err != nil {
			return fmt.Errorf("reporter: metrics: %w", err)
		}
		reg, gather = own, own
	}
	if reg != nil {
		if err := r.metrics.Register(reg, ob.Backlog); err != nil {
			return fmt.Errorf("reporter: metrics: %w", err)
		}
	}
	var instanceKV, tasksKV, credsKV jetstream.KeyValue
	instanceKV, err = bus.OpenBucket(ctx, js, bus.BucketInstance)
	if err == nil {
		tasksKV, err = bus.OpenBucket(ctx, js, bus.BucketTasks)
	}
	if err == nil && r.cfg.TaskEndpointAddr != "" {
		credsKV, err = bus.OpenBucket(ctx, js, bus.BucketCredentials)
	}
	if err != nil {
		return nilOnCancel(ctx, err)
	}

	var servers []*http.Server
	if r.cfg.IntrospectionAddr != "" {
		h := introspection.Handler(r.cfg.Cluster, config.VersionString(), r.state, r.cfg.RuntimeStats)
		srv, addr, err := serve(r.cfg.IntrospectionAddr, h, r.log.With().Str("component", "introspection").Logger())
		if err != nil {
			return fmt.Errorf("reporter: introspection (ECS_INTROSPECTION_PORT): %w", err)
		}
		servers = append(servers, srv)
		r.addrMu.Lock()
		r.introAddr = addr
		r.addrMu.Unlock()
	}
	if r.cfg.MetricsAddr != "" && gather != nil {
		srv, addr, err := serve(r.cfg.MetricsAddr, busmetrics.Handler(gather, false), r.log.With().Str("component", "metrics").Logger())
		if err != nil {
			shutdown(servers)
			return fmt.Errorf("reporter: metrics (ECS_METRICS_PORT): %w", err)
		}
		servers = append(servers, srv)
		r.addrMu.Lock()
		r.metrAddr = addr
		r.addrMu.Unlock()
	}
	if r.cfg.TaskEndpointAddr != "" {
		log := r.log.With().Str("component", "taskserver").Logger()
		h := taskserver.Handler(
			taskserver.Config{Cluster: r.cfg.Cluster, RPS: r.cfg.TaskMetadataRPS, Burst: r.cfg.TaskMetadataBurst},
			r.state,
			taskserver.BucketCredentials{KV: credsKV, Keyring: bus.NewKeyring(bus.SealKeyFile(r.cfg.DataDir))},
			taskserver.DockerStats{Conn: r.nc},
			log)
		srv, addr, err := serve(r.cfg.TaskEndpointAddr, h, log)
		if err != nil {
			shutdown(servers)
			return fmt.Errorf("reporter: task endpoints (ECS_TASK_ENDPOINT_PORT): %w", err)
		}
		servers = append(servers, srv)
		r.addrMu.Lock()
		r.taskAddr = addr
		r.addrMu.Unlock()
	}
	defer shutdown(servers)

	var wg sync.WaitGroup
	wg.Go(func() {
		if err := r.state.Follow(ctx, instanceKV, tasksKV, r.log); err != nil && ctx.Err() == nil {
			r.log.Error().Err(err).Msg("watching the instance and task buckets failed; introspection will be stale")
		}
	})
	wg.Go(func() { _ = ob.Run(ctx) })
	// The TCS client always runs, as the real agent's does; what it publishes
	// follows ECS_DISABLE_METRICS and ECS_DISABLE_DOCKER_HEALTH_CHECK.
	tc := r.cfg.Telemetry
	// Signed with the credentials and region the ECS client resolved (the SDK's chain).
	tc.Region, tc.Credentials = r.ecs.AWS().Region, r.ecs.AWS().Credentials
	client := telemetry.New(tc, r.state, telemetry.BusEngine{Conn: r.nc}, r.nc, r.log)
	wg.Go(func() {
		if err := client.Run(ctx); err != nil {
			r.log.Error().Err(err).Msg("the TCS client stopped; no telemetry will be published")
		}
	})
	r.log.Info().Stringer("introspection", r.IntrospectionAddr()).Stringer("metrics", r.MetricsAddr()).
		Stringer("task_endpoints", r.TaskEndpointAddr()).Msg("reporter running")
	close(r.ready)
	wg.Wait()
	return nil
}

// serve binds addr and serves h in the background with the real agent's 5 s
// timeouts.
func serve(addr string, h http.Handler, log zerolog.Logger) (*http.Server, net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{
		Handler:           h,
		ReadTimeout:       5 * time.Second,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      5 * time.Second,
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("HTTP server stopped")
		}
	}()
	return srv, ln.Addr(), nil
}

func shutdown(servers []*http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(ctx)
	}
}

func nilOnCancel(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("reporter: %w", err)
}

// The introspection state is also what the task endpoints read.
var _ taskserver.Tasks = (*introspection.State)(nil)

// ecsSubmitter adapts the ECS client's rejection to the outbox's.
type ecsSubmitter struct{ c *ecsapi.Client }

func (s ecsSubmitter) Submit(ctx context.Context, sc bus.TaskStateChange) error {
	err := s.c.Submit(ctx, sc)
	if errors.Is(err, ecsapi.ErrRejected) {
		return fmt.Errorf("%w: %w", outbox.ErrRejected, err)
	}
	return err
}
