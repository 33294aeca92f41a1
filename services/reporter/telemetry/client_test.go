package telemetry

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/acs/tcs"
	"github.com/ecs-agent/ecs-agent/bus"
)

// fakeTCS is a telemetry server: it records each socket's query and the requests
// it gets, acks each one, and sends a heartbeat every heartbeat (none when 0).
type fakeTCS struct {
	srv       *httptest.Server
	heartbeat time.Duration

	mu      sync.Mutex
	queries []url.Values
	auth    []string
	frames  []recorded
}

type recorded struct {
	typ     string
	headers http.Header
	body    []byte
}

func newFakeTCS(t *testing.T, heartbeat time.Duration) *fakeTCS {
	f := &fakeTCS{heartbeat: heartbeat}
	up := websocket.Upgrader{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ws" {
			http.NotFound(w, r)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		f.mu.Lock()
		f.queries = append(f.queries, r.URL.Query())
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		var wmu sync.Mutex
		write := func(typ string, msg any) error {
			frame, _ := acs.Encode(typ, msg)
			wmu.Lock()
			defer wmu.Unlock()
			return ws.WriteMessage(websocket.TextMessage, frame)
		}
		done := make(chan struct{})
		defer close(done)
		if f.heartbeat > 0 {
			go func() {
				tk := time.NewTicker(f.heartbeat)
				defer tk.Stop()
				for {
					select {
					case <-done:
						return
					case <-tk.C:
						if write(tcs.TypeHeartbeatMessage, tcs.HeartbeatMessage{Healthy: true}) != nil {
							return
						}
					}
				}
			}()
		}
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			head, body, ok := bytes.Cut(data, []byte("\r\n\r\n"))
			if !ok {
				t.Errorf("a frame without the signed headers: %s", data)
				continue
			}
			hdr, _ := http.ReadResponse(bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\n"+string(head)+"\r\n\r\n")), nil)
			env, err := acs.Decode(body)
			if err != nil {
				t.Errorf("an undecodable frame: %s", body)
				continue
			}
			f.mu.Lock()
			f.frames = append(f.frames, recorded{typ: env.Type, headers: hdr.Header, body: env.Message})
			f.mu.Unlock()
			ack := map[string]string{tcs.TypePublishMetricsRequest: tcs.TypeAckPublishMetric,
				tcs.TypePublishHealthRequest: tcs.TypeAckPublishHealth, tcs.TypePublishInstanceStatusRequest: tcs.TypeAckPublishInstanceStatus}[env.Type]
			if ack != "" {
				_ = write(ack, tcs.Ack{})
			}
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTCS) count(typ string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.frames {
		if r.typ == typ {
			n++
		}
	}
	return n
}

func (f *fakeTCS) last(typ string) (recorded, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.frames) - 1; i >= 0; i-- {
		if f.frames[i].typ == typ {
			return f.frames[i], true
		}
	}
	return recorded{}, false
}

type fakeSource struct {
	mu      sync.Mutex
	reg     bus.Registration
	tasks   []bus.TaskRecord
	changed chan struct{}
}

func (s *fakeSource) TasksChanged() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

// setHealth changes a container's health, as a new task record would.
func (s *fakeSource) setHealth(task, container int, h bus.Health) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tasks[task].Containers[container].Health = h
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

func (s *fakeSource) Registration() (bus.Registration, bool) { return s.reg, s.reg.Type != "" }
func (s *fakeSource) Tasks() []bus.TaskRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]bus.TaskRecord(nil), s.tasks...)
}

type fakeEngine struct{ err error }

func (e fakeEngine) Ping(context.Context) error              { return e.err }
func (e fakeEngine) Version(context.Context) (string, error) { return "20.10.24", nil }

func healthyTask() bus.TaskRecord {
	since := time.Now().UTC()
	return bus.TaskRecord{
		Spec: bus.TaskSpec{Arn: "arn:aws:ecs:us-west-2:123456789012:task/c/1", Family: "web", Version: "2",
			Containers: []bus.ContainerSpec{{Name: "web", HealthCheckType: bus.HealthCheckDocker}}},
		KnownStatus: bus.StatusRunning,
		Containers:  []bus.ContainerRecord{{Name: "web", KnownStatus: bus.StatusRunning, Health: bus.HealthHealthy, HealthSince: &since}},
	}
}

// runClient runs a client with short timers against f until the test ends.
func runClient(t *testing.T, f *fakeTCS, src *fakeSource, engine Engine, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		Region: "us-west-2", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
		AgentVersion: "1.105.1", AgentHash: "0123abcd", UserAgent: "test",
		Timers: Timers{PublishInterval: 100 * time.Millisecond, HeartbeatTimeout: 300 * time.Millisecond,
			HeartbeatJitter: 100 * time.Millisecond, BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
			HealthPoll: 20 * time.Millisecond},
	}
	if mod != nil {
		mod(&cfg)
	}
	if src.reg.Type == "" {
		src.reg = bus.Registration{Type: bus.TypeRegistration, Cluster: "c", ContainerInstanceArn: "arn:aws:ecs:us-west-2:123456789012:container-instance/c/i",
			TelemetryEndpoint: f.srv.URL + "/"}
	}
	c := New(cfg, src, engine, nil, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = c.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return")
		}
	})
	return c
}

func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Heartbeats every 50 ms hold a socket whose heartbeat timeout is 300–400 ms for 2 s
// (short timers standing in for the real 20 s heartbeats and 1–2 min timeout over
// 10 minutes): it is never recycled.
func TestHeartbeatsKeepTheSocket(t *testing.T) {
	f := newFakeTCS(t, 50*time.Millisecond)
	c := runClient(t, f, &fakeSource{}, fakeEngine{}, nil)
	time.Sleep(2 * time.Second)
	n := c.Counts()
	if n.Connections != 1 || n.HeartbeatTimeouts != 0 || n.Heartbeats < 20 {
		t.Fatalf("counts %+v: the socket was recycled or heartbeats were missed", n)
	}
	if n.Acks == 0 || n.Acks < n.MetricsRequests {
		t.Errorf("counts %+v: publications not acknowledged", n)
	}
}

func TestMissingHeartbeatRecyclesTheSocket(t *testing.T) {
	f := newFakeTCS(t, 0)
	c := runClient(t, f, &fakeSource{}, fakeEngine{}, nil)
	waitUntil(t, 3*time.Second, "a second connection", func() bool { return c.Counts().Connections >= 2 })
	if n := c.Counts(); n.HeartbeatTimeouts == 0 {
		t.Fatalf("counts %+v: reconnected for another reason", n)
	}
}

func TestPublicationsAndTheSocketURL(t *testing.T) {
	f := newFakeTCS(t, 50*time.Millisecond)
	src := &fakeSource{tasks: []bus.TaskRecord{healthyTask()}}
	runClient(t, f, src, fakeEngine{}, nil)
	waitUntil(t, 3*time.Second, "metrics, health and instance status", func() bool {
		return f.count(tcs.TypePublishMetricsRequest) > 0 && f.count(tcs.TypePublishHealthRequest) > 0 &&
			f.count(tcs.TypePublishInstanceStatusRequest) > 0
	})
	f.mu.Lock()
	q, auth := f.queries[0], f.auth[0]
	f.mu.Unlock()
	want := map[string]string{"agentHash": "0123abcd", "agentVersion": "1.105.1", "cluster": "c",
		"containerInstance": "arn:aws:ecs:us-west-2:123456789012:container-instance/c/i", "dockerVersion": "DockerVersion: 20.10.24"}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("query %s=%q, want %q", k, q.Get(k), v)
		}
	}
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKID/") || !strings.Contains(auth, "/us-west-2/ecs/aws4_request") {
		t.Errorf("upgrade Authorization %q", auth)
	}
	h, _ := f.last(tcs.TypePublishHealthRequest)
	if !strings.Contains(h.headers.Get("Authorization"), "/ecs/aws4_request") || h.headers.Get("X-Amz-Date") == "" {
		t.Errorf("health frame headers %v", h.headers)
	}
	if !bytes.Contains(h.body, []byte(`"containerName":"web","healthStatus":"HEALTHY"`)) || !bytes.Contains(h.body, []byte(`"fin":true`)) {
		t.Errorf("health %s", h.body)
	}
	m, _ := f.last(tcs.TypePublishMetricsRequest)
	if !bytes.Contains(m.body, []byte(`"idle":true`)) {
		t.Errorf("metrics with no samples are not idle: %s", m.body)
	}
	s, _ := f.last(tcs.TypePublishInstanceStatusRequest)
	if !bytes.Contains(s.body, []byte(`"type":"CONTAINER_RUNTIME","status":"OK"`)) {
		t.Errorf("instance status %s", s.body)
	}
	// A health change goes out at once, not at the next tick.
	before := f.count(tcs.TypePublishHealthRequest)
	src.setHealth(0, 0, bus.HealthUnhealthy)
	waitUntil(t, time.Second, "the changed health", func() bool {
		r, _ := f.last(tcs.TypePublishHealthRequest)
		return f.count(tcs.TypePublishHealthRequest) > before && bytes.Contains(r.body, []byte(`"healthStatus":"UNHEALTHY"`))
	})
}

func TestImpairedRuntimeAndDisabledPublications(t *testing.T) {
	f := newFakeTCS(t, 50*time.Millisecond)
	src := &fakeSource{tasks: []bus.TaskRecord{healthyTask()}}
	runClient(t, f, src, fakeEngine{err: errors.New("no answer from Docker")}, func(c *Config) {
		c.DisableMetrics, c.DisableHealth = true, true
	})
	waitUntil(t, 3*time.Second, "an instance status", func() bool { return f.count(tcs.TypePublishInstanceStatusRequest) > 0 })
	time.Sleep(500 * time.Millisecond) // several publish intervals
	if n, h := f.count(tcs.TypePublishMetricsRequest), f.count(tcs.TypePublishHealthRequest); n != 0 || h != 0 {
		t.Errorf("%d metrics and %d health requests though disabled", n, h)
	}
	s, _ := f.last(tcs.TypePublishInstanceStatusRequest)
	if !bytes.Contains(s.body, []byte(`"status":"IMPAIRED"`)) {
		t.Errorf("instance status %s", s.body)
	}
}

// A health change made while the last one settles still goes out within the settle
// time, not at the next publication.
func TestHealthChangesWhileSettling(t *testing.T) {
	f := newFakeTCS(t, 50*time.Millisecond)
	src := &fakeSource{tasks: []bus.TaskRecord{healthyTask()}}
	runClient(t, f, src, fakeEngine{}, func(c *Config) {
		c.Timers.PublishInterval = time.Hour
		c.Timers.HealthPoll = 300 * time.Millisecond
	})
	healthIs := func(s string) func() bool {
		return func() bool {
			r, ok := f.last(tcs.TypePublishHealthRequest)
			return ok && bytes.Contains(r.body, []byte(`"healthStatus":"`+s+`"`))
		}
	}
	waitUntil(t, 3*time.Second, "the first health", healthIs("HEALTHY"))
	src.setHealth(0, 0, bus.HealthUnhealthy)
	waitUntil(t, time.Second, "the unhealthy container", healthIs("UNHEALTHY"))
	src.setHealth(0, 0, bus.HealthHealthy) // within the settle time of the first change
	waitUntil(t, time.Second, "the container healthy again", healthIs("HEALTHY"))
}
