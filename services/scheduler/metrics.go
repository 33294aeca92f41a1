package scheduler

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ecs-agent/ecs-agent/bus"
	busmetrics "github.com/ecs-agent/ecs-agent/bus/metrics"
)

// schedMetrics are the scheduler's Prometheus metrics. Each runner updates them from
// its own goroutine; the prometheus types are safe for that.
type schedMetrics struct {
	tasks     *prometheus.GaugeVec     // by known status
	started   prometheus.Counter       // containers seen RUNNING
	stopped   prometheus.Counter       // containers seen STOPPED
	stages    *prometheus.HistogramVec // pull, create, start of each container
	taskStart prometheus.Histogram     // from the task's arrival to RUNNING
}

// startBuckets cover a cached image's start (tens of ms) to a slow pull (minutes).
var startBuckets = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// newSchedMetrics registers the metrics on reg; a nil reg keeps them unexported.
func newSchedMetrics(reg prometheus.Registerer) *schedMetrics {
	ns := busmetrics.Namespace
	m := &schedMetrics{
		tasks: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "tasks",
			Help: "Tasks the scheduler holds, by known status."}, []string{"status"}),
		started: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "containers_started_total",
			Help: "Containers that reached RUNNING."}),
		stopped: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "containers_stopped_total",
			Help: "Containers that reached STOPPED."}),
		stages: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "task_start_stage_seconds",
			Help: "Time a container spent in one stage of its start (pull, create, start), whatever its outcome.", Buckets: startBuckets},
			[]string{"stage"}),
		taskStart: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "task_start_seconds",
			Help: "Time from a task's arrival to its RUNNING.", Buckets: startBuckets}),
	}
	if reg != nil {
		reg.MustRegister(m.tasks, m.started, m.stopped, m.stages, m.taskStart)
	}
	return m
}

// seen is what a runner last counted of its task, so that each transition is
// counted once.
type seen struct {
	counted    bool
	status     bus.Status
	containers map[string]bus.Status
}

// observe counts the transitions of rec since the last call. The first call (a new
// runner, a restored task) only records where the task stands.
func (m *schedMetrics) observe(s *seen, rec *bus.TaskRecord) {
	if !s.counted || s.status != rec.KnownStatus {
		if s.counted {
			m.tasks.WithLabelValues(string(s.status)).Dec()
			if rec.KnownStatus == bus.StatusRunning && !rec.CreatedAt.IsZero() {
				m.taskStart.Observe(time.Since(rec.CreatedAt).Seconds())
			}
		}
		m.tasks.WithLabelValues(string(rec.KnownStatus)).Inc()
	}
	if s.containers == nil {
		s.containers = map[string]bus.Status{}
	}
	for _, c := range rec.Containers {
		if prev, ok := s.containers[c.Name]; s.counted && (!ok || prev != c.KnownStatus) {
			switch c.KnownStatus {
			case bus.StatusRunning:
				m.started.Inc()
			case bus.StatusStopped:
				m.stopped.Inc()
			}
		}
		s.containers[c.Name] = c.KnownStatus
	}
	s.counted, s.status = true, rec.KnownStatus
}

// gone forgets a task that was removed.
func (m *schedMetrics) gone(s *seen) {
	if s.counted {
		m.tasks.WithLabelValues(string(s.status)).Dec()
		s.counted = false
	}
}

// stage records one closed start stage.
func (m *schedMetrics) stage(st bus.Stage) {
	if st.EndedAt == nil || st.Name == "stop" || st.Name == "run" {
		return
	}
	m.stages.WithLabelValues(st.Name).Observe(st.EndedAt.Sub(st.StartedAt).Seconds())
}
