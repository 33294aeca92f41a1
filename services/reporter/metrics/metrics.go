package metrics

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	busmetrics "github.com/ecs-agent/ecs-agent/bus/metrics"
)

// Metrics holds the reporter's counters. The zero value counts; Register exports
// them. All methods are safe for concurrent use and never block.
type Metrics struct {
	submitted atomic.Uint64
	failed    atomic.Uint64
	dropped   atomic.Uint64
	latency   atomic.Pointer[prometheus.Histogram]
}

// Submitted records a report the control plane accepted, latency after it was stored
// in the outbox.
func (m *Metrics) Submitted(latency time.Duration) {
	m.submitted.Add(1)
	if h := m.latency.Load(); h != nil {
		(*h).Observe(latency.Seconds())
	}
}

// Failed records a failed submission attempt (it will be retried).
func (m *Metrics) Failed() { m.failed.Add(1) }

// Dropped records a report given up for good.
func (m *Metrics) Dropped() { m.dropped.Add(1) }

// Snapshot is the counters at one moment.
type Snapshot struct {
	Submitted, Failed, Dropped uint64
}

// Snapshot reads the counters.
func (m *Metrics) Snapshot() Snapshot {
	return Snapshot{Submitted: m.submitted.Load(), Failed: m.failed.Load(), Dropped: m.dropped.Load()}
}

// BacklogFunc reports how many state changes wait in the outbox and when the oldest
// of them was stored (zero when none waits).
type BacklogFunc func(ctx context.Context) (n uint64, oldest time.Time, err error)

// Register exports the counters on reg, and the outbox's backlog, which backlog is
// asked for at every scrape with a short timeout (when it fails, the two gauges are
// left out rather than reported wrong).
func (m *Metrics) Register(reg prometheus.Registerer, backlog BacklogFunc) error {
	ns := busmetrics.Namespace
	counter := func(name, help string, v *atomic.Uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help},
			func() float64 { return float64(v.Load()) })
	}
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "state_change_delivery_seconds",
		Help:    "Time from storing a state change in the outbox to its acceptance by the control plane.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900}})
	cs := []prometheus.Collector{
		counter("state_changes_submitted_total", "Task state changes accepted by the control plane.", &m.submitted),
		counter("state_change_failures_total", "Failed SubmitTaskStateChange attempts (each is retried).", &m.failed),
		counter("state_changes_dropped_total", "Task state changes dropped: rejected by the control plane or undecodable.", &m.dropped),
		h,
	}
	if backlog != nil {
		cs = append(cs, backlogCollector{backlog})
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	var hist prometheus.Histogram = h
	m.latency.Store(&hist)
	return nil
}

var (
	queuedDesc = prometheus.NewDesc(busmetrics.Namespace+"_state_changes_queued",
		"Task state changes stored in the outbox and not yet delivered.", nil, nil)
	oldestDesc = prometheus.NewDesc(busmetrics.Namespace+"_state_change_oldest_undelivered_seconds",
		"Age of the oldest state change not yet delivered; 0 when none waits.", nil, nil)
)

type backlogCollector struct{ backlog BacklogFunc }

func (c backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queuedDesc
	ch <- oldestDesc
}

func (c backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, oldest, err := c.backlog(ctx)
	if err != nil {
		return
	}
	age := 0.0
	if n > 0 && !oldest.IsZero() {
		age = max(time.Since(oldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(queuedDesc, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age)
}
