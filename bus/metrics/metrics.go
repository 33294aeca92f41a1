package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/ecs-agent/ecs-agent/bus/config"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// Namespace prefixes every metric of the agent.
const Namespace = "ecs"

// NewRegistry returns a registry holding the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves GET /metrics from g in the Prometheus text format (none when g is
// nil) and, with profiles, the Go runtime's profiles under /debug/pprof/
// (ECS_ENABLE_RUNTIME_STATS).
func Handler(g prometheus.Gatherer, profiles bool) http.Handler {
	mux := http.NewServeMux()
	if g != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	}
	if profiles {
		Profiles(mux)
	}
	return mux
}

// Profiles adds the Go runtime's profiles (net/http/pprof) under /debug/pprof/.
func Profiles(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}

// ProfilePaths are the paths Profiles serves, for a listing of commands.
var ProfilePaths = []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/profile", "/debug/pprof/symbol", "/debug/pprof/trace"}

// Addr is the loopback address of a metrics port; "" for 0 (disabled).
func Addr(port int) string {
	if port <= 0 {
		return ""
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// ServeProcess serves a process's metrics port: g's /metrics with
// ECS_ENABLE_PROMETHEUS_METRICS, the runtime profiles with ECS_ENABLE_RUNTIME_STATS,
// nothing when port is 0. variable names the port's setting, for the error.
func ServeProcess(ctx context.Context, cfg config.Config, port int, variable string, g prometheus.Gatherer, log zerolog.Logger) error {
	addr := Addr(port)
	if addr == "" || !cfg.PrometheusMetrics && !cfg.RuntimeStats {
		return nil
	}
	if !cfg.PrometheusMetrics {
		g = nil
	}
	_, err := Serve(ctx, addr, variable, Handler(g, cfg.RuntimeStats), log)
	return err
}

// Serve binds addr and serves h until ctx ends; it returns the bound address.
// variable names the setting the address comes from, for the error.
func Serve(ctx context.Context, addr, variable string, h http.Handler, log zerolog.Logger) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics (%s): %w", variable, err)
	}
	// WriteTimeout leaves room for a 30 s CPU profile.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 65 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("metrics server stopped")
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Info().Stringer("addr", ln.Addr()).Msg("serving metrics")
	return ln.Addr(), nil
}

// RegisterBusRTT exports the round-trip time of nc to the bus, measured at each
// scrape, as ecs_bus_round_trip_seconds{connection=<nc's name>}, and the
// connection's reconnects.
// Every connection of a process (the all-in-one has one per service) goes into the
// one collector of its registry.
func RegisterBusRTT(reg prometheus.Registerer, nc *nats.Conn) error {
	c := &busCollector{conns: []*nats.Conn{nc}}
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(*busCollector); ok {
			existing.add(nc)
			return nil
		}
	}
	return err
}

var (
	rttDesc = prometheus.NewDesc(Namespace+"_bus_round_trip_seconds",
		"Round-trip time of a PING to the bus, measured at the scrape; absent while disconnected.", []string{"connection"}, nil)
	reconnectsDesc = prometheus.NewDesc(Namespace+"_bus_reconnects_total",
		"Times the connection to the bus was re-established.", []string{"connection"}, nil)
	connectedDesc = prometheus.NewDesc(Namespace+"_bus_connected",
		"1 while the connection to the bus is up, else 0.", []string{"connection"}, nil)
)

type busCollector struct {
	mu    sync.Mutex
	conns []*nats.Conn
}

func (c *busCollector) add(nc *nats.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conns = append(c.conns, nc)
}

func (c *busCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- rttDesc
	ch <- reconnectsDesc
	ch <- connectedDesc
}

func (c *busCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	conns := append([]*nats.Conn(nil), c.conns...)
	c.mu.Unlock()
	for _, nc := range conns {
		name := nc.Opts.Name
		up := 0.0
		if nc.IsConnected() {
			up = 1
			if rtt, err := nc.RTT(); err == nil {
				ch <- prometheus.MustNewConstMetric(rttDesc, prometheus.GaugeValue, rtt.Seconds(), name)
			}
		}
		ch <- prometheus.MustNewConstMetric(connectedDesc, prometheus.GaugeValue, up, name)
		ch <- prometheus.MustNewConstMetric(reconnectsDesc, prometheus.CounterValue, float64(nc.Stats().Reconnects), name)
	}
}

// RegisterJetStream exports, for every consumer of every stream js can list (the
// admin user's view; ephemeral ones, such as key-value watchers, are left out), its pending and unacknowledged messages:
// ecs_jetstream_consumer_pending{stream,consumer} and
// ecs_jetstream_consumer_ack_pending{stream,consumer}, and each stream's messages.
func RegisterJetStream(reg prometheus.Registerer, js jetstream.JetStream, log zerolog.Logger) error {
	return reg.Register(jsCollector{js: js, log: log})
}

var (
	pendingDesc = prometheus.NewDesc(Namespace+"_jetstream_consumer_pending",
		"Messages of the stream the consumer has not been delivered yet.", []string{"stream", "consumer"}, nil)
	ackPendingDesc = prometheus.NewDesc(Namespace+"_jetstream_consumer_ack_pending",
		"Messages delivered to the consumer and not acknowledged yet.", []string{"stream", "consumer"}, nil)
	streamMsgsDesc = prometheus.NewDesc(Namespace+"_jetstream_stream_messages",
		"Messages stored in the stream.", []string{"stream"}, nil)
)

type jsCollector struct {
	js  jetstream.JetStream
	log zerolog.Logger
}

func (c jsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pendingDesc
	ch <- ackPendingDesc
	ch <- streamMsgsDesc
}

func (c jsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	streams := c.js.ListStreams(ctx)
	for si := range streams.Info() {
		name := si.Config.Name
		ch <- prometheus.MustNewConstMetric(streamMsgsDesc, prometheus.GaugeValue, float64(si.State.Msgs), name)
		s, err := c.js.Stream(ctx, name)
		if err != nil {
			continue
		}
		cons := s.ListConsumers(ctx)
		for ci := range cons.Info() {
			if ci.Config.Durable == "" {
				continue // a key-value watcher's ephemeral consumer: nothing waits on it
			}
			ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(ci.NumPending), name, ci.Name)
			ch <- prometheus.MustNewConstMetric(ackPendingDesc, prometheus.GaugeValue, float64(ci.NumAckPending), name, ci.Name)
		}
		if err := cons.Err(); err != nil {
			c.log.Debug().Err(err).Str("stream", name).Msg("listing consumers for /metrics")
		}
	}
	if err := streams.Err(); err != nil {
		c.log.Debug().Err(err).Msg("listing streams for /metrics")
	}
}
