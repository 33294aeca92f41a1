package controlplane

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/acs/tcs"
	"github.com/ecs-agent/ecs-agent/controlplane/state"
)

// The telemetry socket, as the real service runs it: a HeartbeatMessage every
// HeartbeatInterval (the agent recycles a socket that stays silent), an ack for every
// publication, the containers' health kept on their task records (DescribeTasks shows
// it, with the task's health derived from it), and the latest metrics of each task
// kept in memory for GET /admin/metrics.
//
//	agent ── PublishMetricsRequest ──────────▶ metrics book ── AckPublishMetric ──▶
//	      ── PublishHealthRequest ───────────▶ task records ── AckPublishHealth ──▶
//	      ── PublishInstanceStatusRequest ───▶ instance view ─ AckPublishInstanceStatus ─▶
//	      ◀── HeartbeatMessage every HeartbeatInterval

// TaskMetrics is the latest metrics publication of one task.
type TaskMetrics struct {
	TaskArn    string                `json:"taskArn"`
	ReceivedAt time.Time             `json:"receivedAt"`
	Timestamp  *tcs.Time             `json:"timestamp,omitempty"`
	Containers []tcs.ContainerMetric `json:"containers"`
}

// InstanceStatus is the latest instance status publication of an instance.
type InstanceStatus struct {
	ReceivedAt time.Time            `json:"receivedAt"`
	Statuses   []tcs.InstanceStatus `json:"statuses"`
}

// telemetry holds what the agents published, in memory only.
type telemetry struct {
	mu        sync.Mutex
	metrics   map[string]TaskMetrics    // by task ARN
	instances map[string]InstanceStatus // by container instance ARN
}

func newTelemetry() *telemetry {
	return &telemetry{metrics: map[string]TaskMetrics{}, instances: map[string]InstanceStatus{}}
}

// Metrics is the latest metrics publication of a task.
func (s *Server) Metrics(taskArn string) (TaskMetrics, bool) {
	s.telemetry.mu.Lock()
	defer s.telemetry.mu.Unlock()
	m, ok := s.telemetry.metrics[taskArn]
	return m, ok
}

// InstanceStatusOf is the latest instance status an instance published.
func (s *Server) InstanceStatusOf(instanceArn string) (InstanceStatus, bool) {
	s.telemetry.mu.Lock()
	defer s.telemetry.mu.Unlock()
	st, ok := s.telemetry.instances[instanceArn]
	return st, ok
}

// serveTCS runs one telemetry socket until it fails or the server closes.
func (s *Server) serveTCS(w http.ResponseWriter, r *http.Request, cluster, instanceArn string) {
	inst, ok := s.store.Instance(instanceArn)
	if !ok {
		writeACSError(w, http.StatusBadRequest, acs.TypeInvalidInstanceException, "Container instance "+instanceArn+" is not registered.")
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(maxFrame)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ws.Close()
		return
	}
	s.tcs[ws] = struct{}{}
	s.mu.Unlock()
	log := s.log.With().Str("container_instance", instanceArn).Str("socket", "tcs").Logger()
	log.Info().Str("cluster", cluster).Msg("TCS connected")
	ts := &tcsSession{srv: s, ws: ws, instanceArn: inst.Arn, log: log, done: make(chan struct{})}
	go ts.heartbeats()
	ts.readLoop()
	close(ts.done)
	s.mu.Lock()
	delete(s.tcs, ws)
	s.mu.Unlock()
	ws.Close()
	log.Info().Msg("TCS disconnected")
}

type tcsSession struct {
	srv         *Server
	ws          *websocket.Conn
	instanceArn string
	log         zerolog.Logger
	done        chan struct{}
	mu          sync.Mutex // serialises writes
}

func (ts *tcsSession) write(typ string, msg any) bool {
	frame, err := acs.Encode(typ, msg)
	if err != nil {
		return true
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	_ = ts.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := ts.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
		ts.ws.Close()
		return false
	}
	return true
}

func (ts *tcsSession) heartbeats() {
	t := time.NewTicker(ts.srv.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ts.done:
			return
		case <-t.C:
			if !ts.write(tcs.TypeHeartbeatMessage, tcs.HeartbeatMessage{Healthy: true}) {
				return
			}
		}
	}
}

func (ts *tcsSession) readLoop() {
	for {
		_, frame, err := ts.ws.ReadMessage()
		if err != nil {
			return
		}
		env, err := acs.Decode(tcsBody(frame))
		if err != nil {
			ts.log.Warn().Err(err).Msg("ignoring an undecodable TCS frame")
			continue
		}
		switch env.Type {
		case tcs.TypePublishMetricsRequest:
			var m tcs.PublishMetricsRequest
			if !ts.decode(env, &m) {
				continue
			}
			ts.metrics(m)
			if !ts.write(tcs.TypeAckPublishMetric, tcs.Ack{}) {
				return
			}
		case tcs.TypePublishHealthRequest:
			var m tcs.PublishHealthRequest
			if !ts.decode(env, &m) {
				continue
			}
			ts.health(m)
			if !ts.write(tcs.TypeAckPublishHealth, tcs.Ack{}) {
				return
			}
		case tcs.TypePublishInstanceStatusRequest:
			var m tcs.PublishInstanceStatusRequest
			if !ts.decode(env, &m) {
				continue
			}
			ts.srv.telemetry.mu.Lock()
			ts.srv.telemetry.instances[ts.instanceArn] = InstanceStatus{ReceivedAt: time.Now(), Statuses: m.Statuses}
			ts.srv.telemetry.mu.Unlock()
			if !ts.write(tcs.TypeAckPublishInstanceStatus, tcs.Ack{}) {
				return
			}
		case tcs.TypeStartTelemetrySession:
		default:
			ts.log.Debug().Str("type", env.Type).Msg("ignoring a TCS message of unknown type")
		}
	}
}

// tcsBody is the JSON envelope of an agent's frame. The real agent sends each
// request as the SigV4-signed HTTP headers of a GET of the socket's URL with the
// envelope as its body, a blank line, then the envelope; a bare envelope is taken as
// it is. The per-frame signature is not checked (the upgrade's was).
func tcsBody(frame []byte) []byte {
	trimmed := bytes.TrimLeft(frame, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return trimmed
	}
	if _, body, ok := bytes.Cut(frame, []byte("\r\n\r\n")); ok {
		return body
	}
	return frame
}

// decode reads a publication; a malformed one is answered with a
// BadRequestException frame, as the service answers it, and not acked.
func (ts *tcsSession) decode(env acs.Envelope, v any) bool {
	if err := json.Unmarshal(env.Message, v); err != nil {
		ts.log.Warn().Err(err).Str("type", env.Type).Msg("malformed TCS publication")
		ts.write(tcs.TypeBadRequestException, tcs.ErrorMessage{Message: env.Type + " is malformed: " + err.Error()})
		return false
	}
	return true
}

func (ts *tcsSession) metrics(m tcs.PublishMetricsRequest) {
	now := time.Now()
	ts.srv.telemetry.mu.Lock()
	defer ts.srv.telemetry.mu.Unlock()
	for _, tm := range m.TaskMetrics {
		if t, ok := ts.srv.store.Task(tm.TaskArn); !ok || t.InstanceArn != ts.instanceArn {
			continue // not this instance's task
		}
		ts.srv.telemetry.metrics[tm.TaskArn] = TaskMetrics{TaskArn: tm.TaskArn, ReceivedAt: now, Timestamp: m.Timestamp, Containers: tm.ContainerMetrics}
	}
}

func (ts *tcsSession) health(m tcs.PublishHealthRequest) {
	for _, th := range m.Tasks {
		hs := make([]state.ContainerHealth, 0, len(th.Containers))
		for _, c := range th.Containers {
			h := state.ContainerHealth{Name: c.ContainerName, Status: c.HealthStatus}
			if c.StatusSince != nil {
				since := c.StatusSince.Time
				h.Since = &since
			}
			hs = append(hs, h)
		}
		if !ts.srv.store.SetHealth(ts.instanceArn, th.TaskArn, hs) {
			ts.log.Debug().Str("task_arn", th.TaskArn).Msg("health of a task not on this instance ignored")
		}
	}
}
