package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/acs/tcs"
	"github.com/ecs-agent/ecs-agent/awsclient"
	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/backoff"
)

// Config is what the client needs.
type Config struct {
	Region        string
	Credentials   aws.CredentialsProvider
	SkipTLSVerify bool
	// AgentVersion and AgentHash go into the socket's query; UserAgent is the upgrade's.
	AgentVersion, AgentHash, UserAgent string
	// DisableMetrics is ECS_DISABLE_METRICS, DisableHealth ECS_DISABLE_DOCKER_HEALTH_CHECK.
	DisableMetrics, DisableHealth bool
	Timers                        Timers
}

// Timers are the client's waits; zero takes the real agent's value.
type Timers struct {
	PublishInterval  time.Duration // 20 s: metrics, health, instance status checks
	HeartbeatTimeout time.Duration // 1 min: a socket with no heartbeat for this + jitter is recycled
	HeartbeatJitter  time.Duration // 1 min
	MaxConnAge       time.Duration // 30 min
	MaxConnAgeJitter time.Duration // 5 min
	BackoffMin       time.Duration // 1 s
	BackoffMax       time.Duration // 1 min
	// BackoffResetAfter is how long a socket must stay up for the backoff to start
	// again from BackoffMin (1 min).
	BackoffResetAfter time.Duration
	// InstanceStatusEvery repeats an unchanged instance status (1 min).
	InstanceStatusEvery time.Duration
	// HealthPoll is the least wait between two looks at the task records for a
	// health change, made when they change (1 s).
	HealthPoll time.Duration
	// ReadWriteTimeout bounds one read or write (3 min: past the heartbeat timeout).
	ReadWriteTimeout time.Duration
	// HandshakeTimeout bounds the dial and the upgrade (30 s).
	HandshakeTimeout time.Duration
}

// DefaultTimers are the real agent's values.
func DefaultTimers() Timers {
	return Timers{
		PublishInterval: 20 * time.Second, HeartbeatTimeout: time.Minute, HeartbeatJitter: time.Minute,
		MaxConnAge: 30 * time.Minute, MaxConnAgeJitter: 5 * time.Minute,
		BackoffMin: time.Second, BackoffMax: time.Minute, BackoffResetAfter: time.Minute,
		InstanceStatusEvery: time.Minute, HealthPoll: time.Second,
		ReadWriteTimeout: 3 * time.Minute, HandshakeTimeout: 30 * time.Second,
	}
}

func (t Timers) withDefaults() Timers {
	d := DefaultTimers()
	for _, p := range []struct{ v, d *time.Duration }{
		{&t.PublishInterval, &d.PublishInterval}, {&t.HeartbeatTimeout, &d.HeartbeatTimeout},
		{&t.HeartbeatJitter, &d.HeartbeatJitter}, {&t.MaxConnAge, &d.MaxConnAge},
		{&t.MaxConnAgeJitter, &d.MaxConnAgeJitter}, {&t.BackoffMin, &d.BackoffMin},
		{&t.BackoffMax, &d.BackoffMax}, {&t.BackoffResetAfter, &d.BackoffResetAfter},
		{&t.InstanceStatusEvery, &d.InstanceStatusEvery}, {&t.HealthPoll, &d.HealthPoll},
		{&t.ReadWriteTimeout, &d.ReadWriteTimeout}, {&t.HandshakeTimeout, &d.HandshakeTimeout},
	} {
		if *p.v <= 0 {
			*p.v = *p.d
		}
	}
	return t
}

// Source is where the client reads the registration and the task records (the
// reporter's view of the bus buckets).
type Source interface {
	Registration() (bus.Registration, bool)
	Tasks() []bus.TaskRecord
	// TasksChanged is closed at the next change of the task records.
	TasksChanged() <-chan struct{}
}

// Engine is what the client asks of dockerexec.
type Engine interface {
	// Ping reports whether dockerexec gets an answer from Docker.
	Ping(ctx context.Context) error
	// Version is the Docker engine's version.
	Version(ctx context.Context) (string, error)
}

// Counts are what the client did, for tests and logs.
type Counts struct {
	Connections, Heartbeats, Acks                int64
	MetricsRequests, HealthRequests, StatusPosts int64
	HeartbeatTimeouts                            int64
}

// Client is the TCS client.
type Client struct {
	cfg    Config
	src    Source
	engine Engine
	nc     *nats.Conn
	log    zerolog.Logger
	agg    *aggregator
	dialer *websocket.Dialer
	signer awsclient.Signer
	now    func() time.Time

	connected  atomic.Bool
	up         chan struct{} // the socket came up: ask for stats at once
	counts     struct{ conns, hbs, acks, metrics, health, status, hbTimeouts atomic.Int64 }
	dockerVers string
}

// New builds a client. nc (for stats samples and demands) may be nil when metrics
// are disabled.
func New(cfg Config, src Source, engine Engine, nc *nats.Conn, log zerolog.Logger) *Client {
	cfg.Timers = cfg.Timers.withDefaults()
	return &Client{
		cfg: cfg, src: src, engine: engine, nc: nc, up: make(chan struct{}, 1),
		log:    log.With().Str("component", "tcs").Logger(),
		agg:    newAggregator(),
		dialer: awsclient.WebsocketDialer(cfg.Timers.HandshakeTimeout, cfg.SkipTLSVerify),
		signer: awsclient.Signer{Signer: v4.NewSigner(), Credentials: cfg.Credentials, Region: cfg.Region},
		now:    time.Now,
	}
}

// Counts returns what the client did so far.
func (c *Client) Counts() Counts {
	return Counts{
		Connections: c.counts.conns.Load(), Heartbeats: c.counts.hbs.Load(), Acks: c.counts.acks.Load(),
		MetricsRequests: c.counts.metrics.Load(), HealthRequests: c.counts.health.Load(),
		StatusPosts: c.counts.status.Load(), HeartbeatTimeouts: c.counts.hbTimeouts.Load(),
	}
}

// Run holds the telemetry socket until ctx ends.
//
//	wait for a registration with a telemetry endpoint
//	  └─▶ connect ──ok──▶ serve (publish, heartbeats) ──ends──▶ backoff (reset after
//	         └──fails──▶ backoff 1 s ×1.5 … 1 min ◀────────────── BackoffResetAfter up)
func (c *Client) Run(ctx context.Context) error {
	if !c.cfg.DisableMetrics && c.nc != nil {
		sub, err := c.nc.Subscribe(bus.SubjectStatsSamplesAll, func(m *nats.Msg) {
			var s bus.ContainerStatsSample
			if json.Unmarshal(m.Data, &s) == nil && s.TaskArn != "" && s.ContainerName != "" {
				c.agg.add(s, c.now())
			}
		})
		if err != nil {
			return fmt.Errorf("telemetry: subscribing to stats samples: %w", err)
		}
		defer func() { _ = sub.Unsubscribe() }()
		go c.demand(ctx)
	}
	t := c.cfg.Timers
	bo := backoff.Backoff{Min: t.BackoffMin, Max: t.BackoffMax, Factor: 1.5, Jitter: 0.2}.Start()
	for ctx.Err() == nil {
		reg, ok := c.waitRegistration(ctx)
		if !ok {
			return nil
		}
		up, err := c.connectOnce(ctx, reg)
		if ctx.Err() != nil {
			return nil
		}
		if up >= t.BackoffResetAfter {
			bo.Reset()
		}
		wait := bo.Next()
		c.log.Warn().AnErr("reason", err).Dur("retry_in", wait).Msg("TCS connection ended; reconnecting")
		if !backoff.Sleep(ctx, wait) {
			return nil
		}
	}
	return nil
}

// waitRegistration waits for the registration to carry a telemetry endpoint.
func (c *Client) waitRegistration(ctx context.Context) (bus.Registration, bool) {
	logged := false
	for {
		reg, ok := c.src.Registration()
		if ok && reg.ContainerInstanceArn != "" && reg.TelemetryEndpoint != "" {
			return reg, true
		}
		if !logged {
			c.log.Debug().Msg("waiting for the session to store the telemetry endpoint")
			logged = true
		}
		if !backoff.Sleep(ctx, time.Second) {
			return bus.Registration{}, false
		}
	}
}

// demand asks dockerexec for stats samples while the socket is up (and for
// StatsDemandTTL after, which covers a reconnect).
func (c *Client) demand(ctx context.Context) {
	data, _ := json.Marshal(bus.StatsDemand{Type: bus.TypeStatsDemand, From: "reporter"})
	t := time.NewTicker(bus.StatsDemandInterval)
	defer t.Stop()
	ask := func() {
		if !c.connected.Load() {
			return
		}
		if err := c.nc.Publish(bus.SubjectStatsDemand, data); err != nil {
			c.log.Debug().Err(err).Msg("asking dockerexec for stats")
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.up:
			ask()
			t.Reset(bus.StatsDemandInterval)
		case <-t.C:
			ask()
		}
	}
}

// socketURL is the TCS URL of PROTOCOL.md §3.
func (c *Client) socketURL(ctx context.Context, reg bus.Registration) (wsURL, httpURL string, err error) {
	q := url.Values{}
	q.Set("agentHash", c.cfg.AgentHash)
	q.Set("agentVersion", c.cfg.AgentVersion)
	q.Set("cluster", reg.Cluster)
	q.Set("containerInstance", reg.ContainerInstanceArn)
	if c.dockerVers == "" && c.engine != nil {
		vctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if v, err := c.engine.Version(vctx); err == nil {
			c.dockerVers = v
		}
		cancel()
	}
	if c.dockerVers != "" {
		q.Set("dockerVersion", "DockerVersion: "+c.dockerVers)
	}
	wsURL, httpURL, err = awsclient.WebsocketURL(reg.TelemetryEndpoint, q)
	if err != nil {
		return "", "", fmt.Errorf("TCS %w", err)
	}
	return wsURL, httpURL, nil
}

// conn is one open socket; writes come from the publisher only, but a close may
// come from the reader's side, so they are serialised.
type conn struct {
	ws      *websocket.Conn
	httpURL string
	signer  awsclient.Signer
	timeout time.Duration
	mu      sync.Mutex
}

// send writes one request as the real agent does: the signed headers of a GET of
// the socket's URL whose body is the envelope, a blank line, the envelope.
func (k *conn) send(ctx context.Context, typ string, msg any) error {
	frame, err := acs.Encode(typ, msg)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.httpURL, bytes.NewReader(frame))
	if err != nil {
		return fmt.Errorf("building %s: %w", typ, err)
	}
	if err := k.signer.Sign(ctx, req, frame); err != nil {
		return fmt.Errorf("signing %s: %w", typ, err)
	}
	req.Header.Add("Host", req.Host)
	var b bytes.Buffer
	_ = req.Header.Write(&b)
	b.WriteString("\r\n")
	b.Write(frame)
	k.mu.Lock()
	defer k.mu.Unlock()
	_ = k.ws.SetWriteDeadline(time.Now().Add(k.timeout))
	if err := k.ws.WriteMessage(websocket.TextMessage, b.Bytes()); err != nil {
		return fmt.Errorf("writing %s: %w", typ, err)
	}
	return nil
}

func (k *conn) close(code int, text string) {
	k.mu.Lock()
	_ = k.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	k.mu.Unlock()
	_ = k.ws.Close()
}

// errStopped is a StopTelemetrySessionMessage.
var errStopped = errors.New("TCS asked to stop the session")

// connectOnce dials and serves one socket; it returns how long it was up and why it
// ended.
func (c *Client) connectOnce(ctx context.Context, reg bus.Registration) (time.Duration, error) {
	wsURL, httpURL, err := c.socketURL(ctx, reg)
	if err != nil {
		return 0, err
	}
	dctx, cancel := context.WithTimeout(ctx, c.cfg.Timers.HandshakeTimeout)
	ws, resp, err := awsclient.DialSigned(dctx, c.dialer, c.signer, wsURL, httpURL, c.cfg.UserAgent)
	cancel()
	if err != nil {
		if resp != nil {
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
			if text := acs.RefusalText(body); text != "" {
				return 0, fmt.Errorf("TCS refused the connection (HTTP %d): %s", resp.StatusCode, text)
			}
			return 0, fmt.Errorf("TCS refused the connection (HTTP %d): %w", resp.StatusCode, err)
		}
		return 0, fmt.Errorf("connecting to TCS: %w", err)
	}
	start := c.now()
	c.counts.conns.Add(1)
	c.log.Info().Str("endpoint", reg.TelemetryEndpoint).Msg("TCS connected")
	ws.SetReadLimit(1 << 20)
	k := &conn{ws: ws, httpURL: httpURL, signer: c.signer, timeout: c.cfg.Timers.ReadWriteTimeout}
	c.connected.Store(true)
	defer c.connected.Store(false)
	select {
	case c.up <- struct{}{}:
	default:
	}

	sctx, stop := context.WithCancel(ctx)
	defer stop()
	heartbeat := make(chan struct{}, 1)
	readDone := make(chan error, 1)
	go func() { readDone <- c.readLoop(k, heartbeat) }()
	var wg sync.WaitGroup
	wg.Go(func() { c.publish(sctx, k, reg) })

	t := c.cfg.Timers
	hb := time.NewTimer(backoff.AddJitter(t.HeartbeatTimeout, t.HeartbeatJitter))
	defer hb.Stop()
	age := time.NewTimer(backoff.AddJitter(t.MaxConnAge, t.MaxConnAgeJitter))
	defer age.Stop()
	var end error
	closeText := ""
loop:
	for {
		select {
		case <-ctx.Done():
			end, closeText = ctx.Err(), "agent stopping"
			break loop
		case <-heartbeat:
			hb.Reset(backoff.AddJitter(t.HeartbeatTimeout, t.HeartbeatJitter))
		case <-hb.C:
			c.counts.hbTimeouts.Add(1)
			end, closeText = errors.New("no heartbeat from TCS within the timeout"), "no heartbeat"
			break loop
		case <-age.C:
			end, closeText = errors.New("connection reached its maximum age"), "ConnectionExpired: Reconnect to continue"
			break loop
		case err := <-readDone:
			readDone <- err
			end = err
			break loop
		}
	}
	stop()
	wg.Wait()
	if closeText != "" {
		k.close(websocket.CloseNormalClosure, closeText)
	} else {
		_ = ws.Close()
	}
	<-readDone
	c.log.Info().AnErr("reason", end).Msg("TCS disconnected")
	return c.now().Sub(start), end
}

// readLoop reads server frames until the socket fails or the server stops the
// session. Heartbeats are signalled on heartbeat.
func (c *Client) readLoop(k *conn, heartbeat chan<- struct{}) error {
	for {
		_ = k.ws.SetReadDeadline(time.Now().Add(k.timeout))
		_, data, err := k.ws.ReadMessage()
		if err != nil {
			return fmt.Errorf("reading from TCS: %w", err)
		}
		env, err := acs.Decode(data)
		if err != nil {
			c.log.Warn().Err(err).Msg("ignoring an undecodable TCS frame")
			continue
		}
		switch env.Type {
		case tcs.TypeHeartbeatMessage:
			c.counts.hbs.Add(1)
			select {
			case heartbeat <- struct{}{}:
			default:
			}
		case tcs.TypeAckPublishMetric, tcs.TypeAckPublishHealth, tcs.TypeAckPublishInstanceStatus:
			c.counts.acks.Add(1)
			c.log.Debug().Str("type", env.Type).Msg("TCS acknowledged a publication")
		case tcs.TypeStopTelemetrySessionMessage:
			return errStopped
		case tcs.TypeServerException, tcs.TypeBadRequestException, tcs.TypeInvalidParameterException,
			tcs.TypeResourceValidationException:
			var m tcs.ErrorMessage
			_ = json.Unmarshal(env.Message, &m)
			c.log.Warn().Str("type", env.Type).Str("message", m.Message).Msg("TCS refused a publication")
		default:
			c.log.Debug().Str("type", env.Type).Msg("ignoring a TCS message of unknown type")
		}
	}
}
