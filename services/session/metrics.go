package session

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ecs-agent/ecs-agent/acs"
	busmetrics "github.com/ecs-agent/ecs-agent/bus/metrics"
)

// sessionMetrics are the session's Prometheus metrics: the ACS connection's state,
// its reconnects and the messages it brought.
type sessionMetrics struct {
	connected  prometheus.Gauge
	reconnects prometheus.Counter
	failures   prometheus.Counter
	messages   *prometheus.CounterVec
}

// acsTypes are the message types counted by name; any other is counted as "other",
// so that what a server sends cannot grow the number of series.
var acsTypes = map[string]bool{
	acs.TypeHeartbeatMessage: true, acs.TypePayloadMessage: true, acs.TypeTaskManifestMessage: true,
	acs.TypeTaskStopVerificationAck: true, acs.TypeStageUpdateMessage: true, acs.TypePerformUpdateMessage: true,
	acs.TypeIAMRoleCredentialsMsg: true, acs.TypeCloseMessage: true, acs.TypeErrorMessage: true, acs.TypeInactiveInstanceException: true,
	acs.TypeServerException: true, acs.TypeBadRequestException: true, acs.TypeInvalidClusterException: true,
	acs.TypeInvalidInstanceException: true, acs.TypeAccessDeniedException: true,
}

// newSessionMetrics registers the metrics on reg; a nil reg keeps them unexported.
func newSessionMetrics(reg prometheus.Registerer) (*sessionMetrics, error) {
	ns := busmetrics.Namespace
	m := &sessionMetrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "acs_connected",
			Help: "1 while the ACS websocket is open, else 0."}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "acs_reconnects_total",
			Help: "ACS connections opened after the first one."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "acs_connection_failures_total",
			Help: "ACS connections that failed or closed abnormally (each is retried with backoff)."}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "acs_messages_total",
			Help: "ACS messages received, by type."}, []string{"type"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.connected, m.reconnects, m.failures, m.messages} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// The methods below do nothing on a nil receiver: a Service built by hand in a test
// has no metrics.

func (m *sessionMetrics) message(typ string) {
	if m == nil {
		return
	}
	if !acsTypes[typ] {
		typ = "other"
	}
	m.messages.WithLabelValues(typ).Inc()
}

// up marks the ACS connection open; the function returned marks it closed.
func (m *sessionMetrics) up(reconnect bool) (down func()) {
	if m == nil {
		return func() {}
	}
	if reconnect {
		m.reconnects.Inc()
	}
	m.connected.Set(1)
	return func() { m.connected.Set(0) }
}

func (m *sessionMetrics) failure() {
	if m != nil {
		m.failures.Inc()
	}
}
