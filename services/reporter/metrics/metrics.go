package metrics

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Metrics holds the reporter's counters. The zero value is ready; all methods are
// safe for concurrent use and never block.
type Metrics struct {
	submitted atomic.Uint64
	failed    atomic.Uint64
	dropped   atomic.Uint64
	latency   atomic.Uint64 // math.Float64bits of seconds; 0 until the first delivery
}

// Submitted records a report the control plane accepted, latency after it was stored
// in the outbox.
func (m *Metrics) Submitted(latency time.Duration) {
	m.submitted.Add(1)
	m.latency.Store(math.Float64bits(latency.Seconds()))
}

// Failed records a failed submission attempt (it will be retried).
func (m *Metrics) Failed() { m.failed.Add(1) }

// Dropped records a report given up for good.
func (m *Metrics) Dropped() { m.dropped.Add(1) }

// Snapshot is the counters at one moment.
type Snapshot struct {
	Submitted, Failed, Dropped uint64
	LastLatency                float64 // seconds
}

// Snapshot reads the counters.
func (m *Metrics) Snapshot() Snapshot {
	return Snapshot{
		Submitted:   m.submitted.Load(),
		Failed:      m.failed.Load(),
		Dropped:     m.dropped.Load(),
		LastLatency: math.Float64frombits(m.latency.Load()),
	}
}

// PendingFunc reports how many state changes wait in the outbox.
type PendingFunc func(ctx context.Context) (uint64, error)

// Handler serves GET /metrics. pending is asked on every scrape, with a short
// timeout; when it fails the gauge is left out rather than reported wrong.
func (m *Metrics) Handler(pending PendingFunc) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		s := m.Snapshot()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		counter(w, "ecs_reporter_state_changes_submitted_total", "Task state changes accepted by the control plane.", s.Submitted)
		counter(w, "ecs_reporter_state_change_failures_total", "Failed SubmitTaskStateChange attempts (each is retried).", s.Failed)
		counter(w, "ecs_reporter_state_changes_dropped_total", "Task state changes dropped: rejected by the control plane or undecodable.", s.Dropped)
		if pending != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			n, err := pending(ctx)
			cancel()
			if err == nil {
				gauge(w, "ecs_reporter_outbox_pending", "Task state changes stored in the outbox and not yet delivered.", float64(n))
			}
		}
		gauge(w, "ecs_reporter_last_delivery_latency_seconds", "Time from storing the last delivered state change to its acceptance.", s.LastLatency)
	})
	return mux
}

func counter(w http.ResponseWriter, name, help string, v uint64) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
}

func gauge(w http.ResponseWriter, name, help string, v float64) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", name, help, name, name, strconv.FormatFloat(v, 'g', -1, 64))
}
