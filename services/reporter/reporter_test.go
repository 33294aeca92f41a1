package reporter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	busmetrics "github.com/ecs-agent/ecs-agent/bus/metrics"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/backoff"
	"github.com/ecs-agent/ecs-agent/bus/bustest"
	"github.com/ecs-agent/ecs-agent/bus/config"
	"github.com/ecs-agent/ecs-agent/services/reporter/ecsapi"
	"github.com/ecs-agent/ecs-agent/services/reporter/outbox"
)

const (
	testKey    = "AKIDTESTREPORTER"
	testSecret = "reporter-test-secret-do-not-log"
	testToken  = "reporter-test-session-token"
)

// harness is a bus, a fake control plane and a way to start reporters on them.
type harness struct {
	t   *testing.T
	bus *bustest.Bus
	ecs *fakeECS
	js  jetstream.JetStream
	log *syncBuffer
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	b := bustest.Start(t)
	js, err := bus.JetStream(b.Conn(t, "test"))
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, bus: b, ecs: newFakeECS(t), js: js, log: &syncBuffer{}}
}

func (h *harness) config() Config {
	return Config{
		Cluster: "test-cluster",
		ECS: ecsapi.Config{
			Region: "us-west-2", AccessKeyID: testKey, SecretAccessKey: testSecret, SessionToken: testToken,
			Endpoint: h.ecs.srv.URL, UserAgent: config.VersionString(),
		},
		IntrospectionAddr: "127.0.0.1:0",
		MetricsAddr:       "127.0.0.1:0",
		Outbox: outbox.Config{
			Backoff: backoff.Backoff{Min: 20 * time.Millisecond, Max: 100 * time.Millisecond},
		},
	}
}

// running is a reporter started by start; stop ends it like a kill would, leaving
// whatever it has not acked in the stream.
type running struct {
	r    *Reporter
	nc   *nats.Conn
	stop func()
}

func (h *harness) start(cfg Config) *running {
	h.t.Helper()
	nc := h.bus.ConnAs(h.t, bus.UserReporter, Name)
	log := zerolog.New(h.log).Level(zerolog.DebugLevel)
	r, err := New(cfg, nc, log)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	select {
	case <-r.Ready():
	case err := <-done:
		h.t.Fatalf("reporter stopped before ready: %v", err)
	case <-time.After(15 * time.Second):
		h.t.Fatal("reporter not ready after 15s")
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			nc.Close() // first, so nothing more reaches the bus, as after SIGKILL
			cancel()
			if err := <-done; err != nil {
				h.t.Errorf("Run: %v", err)
			}
		})
	}
	h.t.Cleanup(stop)
	return &running{r: r, nc: nc, stop: stop}
}

func (h *harness) publish(sc bus.TaskStateChange) {
	h.t.Helper()
	sc.Type = bus.TypeTaskStateChange
	if sc.Cluster == "" {
		sc.Cluster = "test-cluster"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	id := sc.TaskArn + "/" + strconv.FormatUint(sc.Seq, 10)
	if _, err := bus.Publish(ctx, h.js, bus.OutboxSubject(sc.TaskArn), id, sc); err != nil {
		h.t.Fatal(err)
	}
}

// outboxLen is how many messages are left in the stream (not yet acked).
func (h *harness) outboxLen() uint64 {
	h.t.Helper()
	s, err := h.js.Stream(context.Background(), bus.StreamOutbox)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return info.State.Msgs
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func taskArn(n int) string {
	return fmt.Sprintf("arn:aws:ecs:us-west-2:123456789012:task/test-cluster/%032x", n)
}

// seqs returns, per task, the seq numbers (from the reason) in acceptance order.
func seqs(bodies []submitBody) map[string][]int {
	out := map[string][]int{}
	for _, b := range bodies {
		n, _ := strconv.Atoi(strings.TrimPrefix(*b.Reason, "seq "))
		out[b.Task] = append(out[b.Task], n)
	}
	return out
}

func TestDeliveryFields(t *testing.T) {
	h := newHarness(t)
	h.start(h.config())

	pullStart := time.Date(2024, 6, 29, 19, 31, 50, 123_000_000, time.UTC)
	pullStop := pullStart.Add(1333 * time.Millisecond)
	stopped := pullStart.Add(90 * time.Second)
	exit := 42
	zero := 0
	long := strings.Repeat("é", 600) // 1200 bytes
	arn := taskArn(1)
	h.publish(bus.TaskStateChange{
		TaskArn: arn, Status: "STOPPED", Reason: "", Seq: 1,
		PullStartedAt: &pullStart, PullStoppedAt: &pullStop, ExecutionStoppedAt: &stopped,
		Containers: []bus.ContainerStateChange{
			{
				ContainerName: "web", RuntimeID: "3f2c0d1e", Status: "STOPPED", ExitCode: &exit,
				Reason: long, ImageDigest: "sha256:abc",
				NetworkBindings: []bus.NetworkBinding{
					{BindIP: "0.0.0.0", ContainerPort: 80, HostPort: 32768, Protocol: "tcp"},
					{BindIP: "127.0.0.1", ContainerPort: 53, HostPort: 5353, Protocol: "udp"},
				},
			},
			{ContainerName: "sidecar", Status: "STOPPED", ExitCode: &zero},
		},
	})
	eventually(t, "the report", func() bool { return len(h.ecs.accepted()) == 1 })
	eventually(t, "the ack", func() bool { return h.outboxLen() == 0 })

	b := h.ecs.accepted()[0]
	if b.Cluster != "test-cluster" || b.Task != arn || b.Status != "STOPPED" {
		t.Errorf("cluster, task, status = %q %q %q", b.Cluster, b.Task, b.Status)
	}
	if r, ok := b.Raw["reason"]; !ok || r != "" {
		t.Errorf("reason must be present and empty, got %v (present %v)", r, ok)
	}
	for name, tc := range map[string]struct {
		got  *json.Number
		want time.Time
	}{
		"pullStartedAt": {b.PullStartedAt, pullStart}, "pullStoppedAt": {b.PullStoppedAt, pullStop},
		"executionStoppedAt": {b.ExecutionStoppedAt, stopped},
	} {
		if tc.got == nil {
			t.Errorf("%s missing", name)
			continue
		}
		f, err := tc.got.Float64()
		want := float64(tc.want.UnixNano()) / 1e9
		if err != nil || f < want-0.0005 || f > want+0.0005 {
			t.Errorf("%s = %s, want epoch seconds %.3f", name, *tc.got, want)
		}
	}
	if len(b.Containers) != 2 {
		t.Fatalf("containers = %+v", b.Containers)
	}
	web := b.Containers[0]
	if web.ContainerName != "web" || web.RuntimeID != "3f2c0d1e" || web.Status != "STOPPED" || web.ImageDigest != "sha256:abc" {
		t.Errorf("web = %+v", web)
	}
	if web.ExitCode == nil || *web.ExitCode != 42 {
		t.Errorf("web exit code = %v", web.ExitCode)
	}
	if web.Reason == nil || len(*web.Reason) != 1024 || !strings.HasPrefix(long, *web.Reason) {
		t.Errorf("web reason not truncated to 1024 bytes on a rune boundary: %d bytes", len(*web.Reason))
	}
	wantBindings := []bindingBody{{"0.0.0.0", 80, 32768, "tcp"}, {"127.0.0.1", 53, 5353, "udp"}}
	if fmt.Sprint(web.NetworkBindings) != fmt.Sprint(wantBindings) {
		t.Errorf("bindings = %+v, want %+v", web.NetworkBindings, wantBindings)
	}
	side := b.Containers[1]
	if side.ExitCode == nil || *side.ExitCode != 0 {
		t.Errorf("exit code 0 must be sent, got %v", side.ExitCode)
	}
	raw := b.Raw["containers"].([]any)[1].(map[string]any)
	for _, k := range []string{"runtimeId", "reason", "imageDigest", "networkBindings"} {
		if _, ok := raw[k]; ok {
			t.Errorf("sidecar: unknown %s must be omitted: %v", k, raw)
		}
	}
	auth := b.Header.Get("Authorization")
	if !strings.Contains(auth, "Credential="+testKey+"/") || !strings.Contains(auth, "/us-west-2/ecs/aws4_request") {
		t.Errorf("Authorization = %q", auth)
	}
	if b.Header.Get("X-Amz-Security-Token") != testToken {
		t.Error("session token not sent")
	}
	if ua := b.Header.Get("User-Agent"); ua != config.VersionString() {
		t.Errorf("User-Agent = %q", ua)
	}
	if strings.Contains(h.log.String(), testSecret) || strings.Contains(h.log.String(), testToken) {
		t.Error("a secret reached the log")
	}
}

func TestOrderPerTask(t *testing.T) {
	h := newHarness(t)
	// Slow, uneven answers so that tasks overtake one another.
	h.ecs.setDecide(func(n int, b submitBody) *fault {
		time.Sleep(time.Duration(n%4) * 3 * time.Millisecond)
		return nil
	})
	h.start(h.config())
	const tasks, per = 15, 8
	for s := 1; s <= per; s++ {
		for k := range tasks {
			h.publish(bus.TaskStateChange{TaskArn: taskArn(k), Status: "RUNNING", Reason: fmt.Sprintf("seq %d", s), Seq: uint64(s)})
		}
	}
	eventually(t, "every report", func() bool { return len(h.ecs.accepted()) == tasks*per })
	eventually(t, "an empty outbox", func() bool { return h.outboxLen() == 0 })
	checkOrder(t, seqs(h.ecs.accepted()), tasks, per, true)
}

// checkOrder checks that every task's reports 1..per arrived in order; exact also
// forbids duplicates.
func checkOrder(t *testing.T, got map[string][]int, tasks, per int, exact bool) {
	t.Helper()
	if len(got) != tasks {
		t.Fatalf("reports for %d tasks, want %d", len(got), tasks)
	}
	for task, s := range got {
		last, seen := 0, map[int]bool{}
		for _, n := range s {
			if n < last {
				t.Errorf("%s: report %d after %d: %v", task, n, last, s)
			}
			if exact && seen[n] {
				t.Errorf("%s: report %d twice: %v", task, n, s)
			}
			seen[n], last = true, n
		}
		if len(seen) != per {
			t.Errorf("%s: got %v, want 1..%d", task, s, per)
		}
	}
}

func TestRetryUntilAccepted(t *testing.T) {
	h := newHarness(t)
	// The first ten calls fail in turn with a 500 and with throttling.
	h.ecs.setDecide(func(n int, b submitBody) *fault {
		switch {
		case n > 10:
			return nil
		case n%2 == 0:
			return &fault{http.StatusBadRequest, "ThrottlingException"}
		}
		return &fault{http.StatusInternalServerError, "ServerException"}
	})
	rr := h.start(h.config())
	const tasks, per = 3, 4
	for s := 1; s <= per; s++ {
		for k := range tasks {
			h.publish(bus.TaskStateChange{TaskArn: taskArn(k), Status: "RUNNING", Reason: fmt.Sprintf("seq %d", s), Seq: uint64(s)})
		}
	}
	eventually(t, "every report", func() bool { return len(h.ecs.accepted()) == tasks*per })
	eventually(t, "an empty outbox", func() bool { return h.outboxLen() == 0 })
	checkOrder(t, seqs(h.ecs.accepted()), tasks, per, true)
	m := rr.r.Metrics()
	if m.Failed != 10 || m.Submitted != tasks*per || m.Dropped != 0 {
		t.Errorf("metrics = %+v, want 10 failed, %d submitted", m, tasks*per)
	}
}

func TestInvalidParameterDrops(t *testing.T) {
	h := newHarness(t)
	h.ecs.setDecide(func(n int, b submitBody) *fault {
		if *b.Reason == "seq 2" {
			return &fault{http.StatusBadRequest, "InvalidParameterException"}
		}
		return nil
	})
	rr := h.start(h.config())
	for s := 1; s <= 3; s++ {
		h.publish(bus.TaskStateChange{TaskArn: taskArn(7), Status: "RUNNING", Reason: fmt.Sprintf("seq %d", s), Seq: uint64(s)})
	}
	eventually(t, "the other reports", func() bool { return len(h.ecs.accepted()) == 2 })
	eventually(t, "an empty outbox", func() bool { return h.outboxLen() == 0 })
	if got := seqs(h.ecs.accepted())[taskArn(7)]; fmt.Sprint(got) != "[1 3]" {
		t.Errorf("accepted %v, want [1 3]", got)
	}
	if n := len(h.ecs.requests()); n != 3 {
		t.Errorf("%d requests, want 3: a rejected report is not retried", n)
	}
	if m := rr.r.Metrics(); m.Dropped != 1 || m.Submitted != 2 || m.Failed != 0 {
		t.Errorf("metrics = %+v", m)
	}
	if !strings.Contains(h.log.String(), `"level":"error"`) {
		t.Error("a dropped report must be logged as an error")
	}
}

func TestRestartRedelivers(t *testing.T) {
	h := newHarness(t)
	h.ecs.setDecide(func(n int, b submitBody) *fault {
		return &fault{http.StatusServiceUnavailable, "ServerException"}
	})
	first := h.start(h.config())
	for s := 1; s <= 2; s++ {
		h.publish(bus.TaskStateChange{TaskArn: taskArn(3), Status: "RUNNING", Reason: fmt.Sprintf("seq %d", s), Seq: uint64(s)})
	}
	h.publish(bus.TaskStateChange{TaskArn: taskArn(4), Status: "RUNNING", Reason: "seq 1", Seq: 1})
	eventually(t, "attempts by the first reporter", func() bool { return len(h.ecs.requests()) >= 4 })
	first.stop()
	if n := h.outboxLen(); n != 3 {
		t.Fatalf("outbox holds %d reports after the kill, want 3", n)
	}

	// The control plane recovers; a new reporter takes over at once (well within
	// the 30 s ack wait) and in order, including a report published meanwhile.
	h.ecs.setDecide(nil)
	h.publish(bus.TaskStateChange{TaskArn: taskArn(3), Status: "STOPPED", Reason: "seq 3", Seq: 3})
	start := time.Now()
	h.start(h.config())
	eventually(t, "redelivery", func() bool { return len(h.ecs.accepted()) == 4 })
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("redelivery took %v", d)
	}
	eventually(t, "an empty outbox", func() bool { return h.outboxLen() == 0 })
	got := seqs(h.ecs.accepted())
	if fmt.Sprint(got[taskArn(3)]) != "[1 2 3]" || fmt.Sprint(got[taskArn(4)]) != "[1]" {
		t.Errorf("accepted %v", got)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	h := newHarness(t)
	h.ecs.setDecide(func(n int, b submitBody) *fault {
		if n == 1 {
			return &fault{http.StatusInternalServerError, "ServerException"}
		}
		return nil
	})
	rr := h.start(h.config())
	h.publish(bus.TaskStateChange{TaskArn: taskArn(1), Status: "RUNNING", Reason: "seq 1", Seq: 1})
	eventually(t, "the report", func() bool { return rr.r.Metrics().Submitted == 1 })
	eventually(t, "an empty outbox", func() bool { return h.outboxLen() == 0 })
	fams, err := busmetrics.Scrape(context.Background(), "http://"+rr.r.MetricsAddr().String()+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{
		"ecs_state_changes_submitted_total": 1, "ecs_state_change_failures_total": 1,
		"ecs_state_changes_dropped_total": 0, "ecs_state_changes_queued": 0,
		"ecs_state_change_oldest_undelivered_seconds": 0, "ecs_state_change_delivery_seconds": 1,
	} {
		if v, ok := fams.Value(name, nil); !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
	if _, ok := fams.Value("ecs_bus_round_trip_seconds", nil); !ok {
		t.Error("no bus round-trip time")
	}
}

func TestNewNeedsRegionAndCredentials(t *testing.T) {
	for _, tc := range []struct {
		name, variable string
		mod            func(*config.Config)
	}{
		// External mode: no identity document to take the region from.
		{"region", "AWS_DEFAULT_REGION", func(c *config.Config) { c.Region, c.External = "", true }},
		// One key without the other; with neither, the SDK's chain is used.
		{"key", "AWS_ACCESS_KEY_ID", func(c *config.Config) { c.AccessKeyID = "" }},
		{"secret", "AWS_SECRET_ACCESS_KEY", func(c *config.Config) { c.SecretAccessKey = "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := config.Defaults()
			c.Region, c.AccessKeyID, c.SecretAccessKey = "us-east-1", "AKID", "secret"
			tc.mod(&c)
			_, err := New(ConfigFrom(c), &nats.Conn{}, zerolog.Nop())
			if !errors.Is(err, ecsapi.ErrConfig) || !strings.Contains(err.Error(), tc.variable) {
				t.Errorf("New: %v, want ErrConfig naming %s", err, tc.variable)
			}
		})
	}
}

func TestConfigFrom(t *testing.T) {
	c := config.Defaults()
	c.Cluster, c.Region, c.BackendHost, c.SkipTLSVerify = "prod", "eu-west-1", "http://127.0.0.1:9", true
	got := ConfigFrom(c)
	if got.Cluster != "prod" || got.ECS.Region != "eu-west-1" || got.ECS.Endpoint != "http://127.0.0.1:9" || !got.ECS.SkipTLSVerify {
		t.Errorf("ConfigFrom = %+v", got)
	}
	if got.IntrospectionAddr != "127.0.0.1:51678" || got.MetricsAddr != "127.0.0.1:51680" {
		t.Errorf("addresses = %q %q", got.IntrospectionAddr, got.MetricsAddr)
	}
}

// syncBuffer collects log lines from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
