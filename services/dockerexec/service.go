package dockerexec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	busmetrics "github.com/ecs-agent/ecs-agent/bus/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/config"
	"github.com/ecs-agent/ecs-agent/bus/logger"
)

// Deps are the collaborators of a Service.
type Deps struct {
	// Conn is the bus connection (over TCP or in-process).
	Conn *nats.Conn
	// Docker is the engine; nil means a real client for Config.DockerHost.
	Docker Docker
	// Log is narrowed with the service name by New.
	Log zerolog.Logger
	// Metrics is where the latency of each Docker command is registered
	// (ecs_docker_call_seconds); nil keeps it unexported.
	Metrics prometheus.Registerer
}

// Service is a running dockerexec: the command endpoints and the event watcher.
type Service struct {
	cfg    Config
	nc     *nats.Conn
	docker Docker
	// engine gates the heavy calls (gate.go).
	engine *gate
	log    zerolog.Logger
	pull   *puller
	// callSeconds is the latency of each command, by operation and outcome.
	callSeconds *prometheus.HistogramVec
	images      *imageStore
	cleaner     *cleaner
	secrets     *secretStore
	keys        keyLocks
	inst        *instance
	cgroups     *cgroupController
	// closeDocker is set when New made the client, so Run closes it.
	closeDocker func() error
}

// New builds a Service. It makes no call yet: the engine and the bus may come up
// after it, and Run waits for both.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Conn == nil {
		return nil, errors.New("dockerexec: no bus connection")
	}
	cfg = cfg.withDefaults()
	s := &Service{
		cfg: cfg,
		nc:  deps.Conn,
		log: deps.Log.With().Str(logger.FieldService, "dockerexec").Logger(),
		callSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: busmetrics.Namespace, Name: "docker_call_seconds",
			Help:    "Time dockerexec took to carry out a Docker command, by operation and outcome (ok or error), from the moment it had one of its in-flight slots.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"operation", "outcome"}),
	}
	if deps.Metrics != nil {
		if err := deps.Metrics.Register(s.callSeconds); err != nil {
			return nil, fmt.Errorf("dockerexec: registering metrics: %w", err)
		}
	}
	if deps.Docker == nil {
		c, err := NewDockerClient(cfg.DockerHost)
		if err != nil {
			return nil, fmt.Errorf("dockerexec: DOCKER_HOST=%q: %w", cfg.DockerHost, err)
		}
		deps.Docker, s.closeDocker = c, c.Close
	}
	s.docker = deps.Docker
	s.engine = newGate(cfg.EngineSlots)
	s.secrets = newSecretStore(cfg, deps.Conn)
	s.images = newImageStore(s.log.With().Str("component", "images").Logger())
	s.pull = newPuller(s.docker, cfg, s.images, s.log, s.secrets.registryAuth)
	s.cleaner = newCleaner(s.docker, s.images, cfg, s.log)
	s.keys = keyLocks{m: map[string]*keyLock{}}
	s.inst = newInstance(cfg.Cluster)
	s.cgroups = newCgroupController(cfg.CgroupPath)
	return s, nil
}

// Run serves the endpoints and publishes container events until ctx ends, then
// stops taking requests, waits for the requests in flight and returns nil. It fails
// only if the service cannot be registered on the bus.
func (s *Service) Run(ctx context.Context) error {
	if s.closeDocker != nil {
		defer s.closeDocker()
	}
	js, err := bus.JetStream(s.nc)
	if err != nil {
		return fmt.Errorf("dockerexec: %w", err)
	}
	var background sync.WaitGroup
	defer background.Wait()
	background.Go(func() { s.inst.follow(ctx, js, s.log) })
	background.Go(func() { s.images.open(ctx, js) })
	background.Go(func() { s.cleaner.run(ctx) })

	var inflight sync.WaitGroup
	sem := make(chan struct{}, s.cfg.MaxInFlight)
	svc, err := micro.AddService(s.nc, micro.Config{
		Name:        bus.DockerService,
		Version:     config.Version,
		Description: "runs task containers on the local Docker engine",
		Metadata:    s.metadata(ctx),
	})
	if err != nil {
		return fmt.Errorf("dockerexec: registering %s on the bus: %w", bus.DockerService, err)
	}
	endpoints := []struct {
		name, subject string
		fn            func(context.Context, []byte) (any, error)
	}{
		{"pull", bus.SubjectDockerPull, decoded(s.handlePull)},
		{"create", bus.SubjectDockerCreate, decoded(s.handleCreate)},
		{"start", bus.SubjectDockerStart, decoded(s.handleStart)},
		{"stop", bus.SubjectDockerStop, decoded(s.handleStop)},
		{"remove", bus.SubjectDockerRemove, decoded(s.handleRemove)},
		{"inspect", bus.SubjectDockerInspect, decoded(s.handleInspect)},
		{"list", bus.SubjectDockerList, decoded(s.handleList)},
		{"stats", bus.SubjectDockerStats, decoded(s.handleStats)},
		{"ping", bus.SubjectDockerPing, decoded(s.handlePing)},
		{"volume-create", bus.SubjectDockerVolumeCreate, decoded(s.handleVolumeCreate)},
		{"volume-remove", bus.SubjectDockerVolumeRemove, decoded(s.handleVolumeRemove)},
		{"cgroup-create", bus.SubjectDockerCgroupCreate, decoded(s.handleCgroupCreate)},
		{"cgroup-remove", bus.SubjectDockerCgroupRemove, decoded(s.handleCgroupRemove)},
	}
	for _, ep := range endpoints {
		h := s.dispatch(ctx, ep.name, ep.fn, sem, &inflight)
		if err := svc.AddEndpoint(ep.name, h, micro.WithEndpointSubject(ep.subject)); err != nil {
			_ = svc.Stop()
			return fmt.Errorf("dockerexec: adding endpoint %s: %w", ep.subject, err)
		}
	}
	s.log.Info().Str("docker_host", s.cfg.DockerHost).Msg("serving Docker commands")

	var poll time.Duration
	if s.cfg.StatsPoll {
		poll = s.cfg.StatsPollInterval
	}
	st := newStreamer(s.docker, s.nc, s.inst, poll, s.log)
	background.Go(func() { st.run(ctx) })
	w := newWatcher(s.docker, js, s.inst, s.log)
	w.excludeIPv6 = s.cfg.ExcludeIPv6PortBinding
	w.changed = st.changed
	background.Go(func() { w.run(ctx) })

	<-ctx.Done()
	if err := svc.Stop(); err != nil {
		s.log.Warn().Err(err).Msg("stopping the service")
	}
	inflight.Wait()
	s.log.Info().Msg("stopped")
	return nil
}

// dispatch runs each request on its own goroutine. The micro package calls a
// handler on the endpoint's subscription goroutine, one message at a time, so the
// handler only hands the request over: the goroutine tells the caller at once and then
// every bus.ProgressInterval that the request is being worked on (bus.KeepAlive), waits
// for one of MaxInFlight slots, runs it and replies. A caller therefore tells a slow
// request from a dead dockerexec within seconds. The reply goes out through a detached
// copy of the request (see detach), so the endpoint's $SRV.STATS count requests but
// not their errors or their full processing time.
func (s *Service) dispatch(ctx context.Context, name string, fn func(context.Context, []byte) (any, error),
	sem chan struct{}, inflight *sync.WaitGroup) micro.Handler {
	return micro.HandlerFunc(func(in micro.Request) {
		req := detach(s.nc, in)
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			var status atomic.Value // what the handler says of its progress (bus.SetStatus)
			stop := bus.KeepAliveStatus(s.nc, req.reply, func() string { v, _ := status.Load().(string); return v })
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				stop()
				bus.RespondError(req, bus.Errorf(bus.CodeUnavailable, "%s: dockerexec is shutting down", name))
				return
			}
			began := time.Now()
			rep, err := fn(bus.WithStatus(ctx, func(v string) { status.Store(v) }), req.Data())
			<-sem
			stop()
			outcome := "ok"
			if err != nil {
				outcome = "error"
			}
			s.callSeconds.WithLabelValues(name, outcome).Observe(time.Since(began).Seconds())
			if err != nil {
				ev := s.log.Warn()
				if bus.CodeOf(err) == bus.CodeBadRequest || bus.CodeOf(err) == bus.CodeNotFound {
					ev = s.log.Debug()
				}
				ev.Err(err).Str("op", name).Msg("request failed")
				bus.RespondError(req, err)
				return
			}
			if err := req.RespondJSON(rep); err != nil {
				s.log.Warn().Err(err).Str("op", name).Msg("replying")
			}
		}()
	})
}

// decoded adapts a typed handler to raw request bytes; undecodable JSON is a bad
// request.
func decoded[Req, Rep any](fn func(context.Context, Req) (Rep, error)) func(context.Context, []byte) (any, error) {
	return func(ctx context.Context, data []byte) (any, error) {
		var req Req
		if err := json.Unmarshal(data, &req); err != nil {
			return nil, badRequest("malformed request: %v", err)
		}
		rep, err := fn(ctx, req)
		if err != nil {
			return nil, err
		}
		return rep, nil
	}
}

// keyLocks serialises the commands of one container (task ARN + container name)
// within this process, so that two creates racing each other do not both create.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

func (k *keyLocks) lock(key string) (unlock func()) {
	k.mu.Lock()
	l, ok := k.m[key]
	if !ok {
		l = &keyLock{}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}

// detachedRequest answers a request after its handler has returned. The micro
// package's own request records the reply's outcome in a field it reads as soon as
// the handler returns, so answering it from another goroutine would race; this copy
// publishes the same reply (same headers) straight on the connection.
type detachedRequest struct {
	nc      *nats.Conn
	data    []byte
	headers micro.Headers
	subject string
	reply   string
}

var _ micro.Request = (*detachedRequest)(nil)

func detach(nc *nats.Conn, r micro.Request) *detachedRequest {
	return &detachedRequest{nc: nc, data: r.Data(), headers: r.Headers(), subject: r.Subject(), reply: r.Reply()}
}

func (r *detachedRequest) Respond(data []byte, opts ...micro.RespondOpt) error {
	msg := &nats.Msg{Subject: r.reply, Data: data, Header: nats.Header{}}
	for _, o := range opts {
		o(msg)
	}
	if r.reply == "" {
		return errors.New("request has no reply subject")
	}
	if err := r.nc.PublishMsg(msg); err != nil {
		return fmt.Errorf("%w: %w", micro.ErrRespond, err)
	}
	return nil
}

func (r *detachedRequest) RespondJSON(v any, opts ...micro.RespondOpt) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%w: %w", micro.ErrMarshalResponse, err)
	}
	return r.Respond(data, opts...)
}

func (r *detachedRequest) Error(code, description string, data []byte, opts ...micro.RespondOpt) error {
	if code == "" || description == "" {
		return fmt.Errorf("%w: error code and description", micro.ErrArgRequired)
	}
	hdr := func(m *nats.Msg) {
		m.Header.Set(micro.ErrorHeader, description)
		m.Header.Set(micro.ErrorCodeHeader, code)
	}
	return r.Respond(data, append([]micro.RespondOpt{hdr}, opts...)...)
}

func (r *detachedRequest) Data() []byte           { return r.data }
func (r *detachedRequest) Headers() micro.Headers { return r.headers }
func (r *detachedRequest) Subject() string        { return r.subject }
func (r *detachedRequest) Reply() string          { return r.reply }

// metadata is the service's micro metadata: the engine's version when the engine
// answers within a few seconds (it is informational; requests work without it).
func (s *Service) metadata(ctx context.Context) map[string]string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	v, err := s.docker.ServerVersion(ctx)
	if err != nil {
		s.log.Warn().Err(err).Msg("Docker engine version unknown")
		return nil
	}
	return map[string]string{bus.MetadataDockerVersion: v.Version}
}
