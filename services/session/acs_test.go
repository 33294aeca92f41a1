package session

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	testClusterArn  = "arn:aws:ecs:us-west-2:123456789012:cluster/test"
	testInstanceArn = "arn:aws:ecs:us-west-2:123456789012:container-instance/test/id1"
)

func task(arn, desired string) acs.Task {
	return acs.Task{
		Arn: arn, Family: "fam", Version: "3", DesiredStatus: desired, NetworkMode: "bridge",
		Containers: []acs.Container{{
			Name: "web", Image: "busybox", CPU: 10, Memory: 64, Essential: true,
			Command: []string{"sleep", "1"}, Environment: map[string]string{"A": "1"},
			Overrides: `{"command":["sh","-c","exit 42"]}`,
		}},
	}
}

func payloadMsg(id string, tasks ...acs.Task) acs.PayloadMessage {
	return acs.PayloadMessage{ClusterArn: testClusterArn, ContainerInstanceArn: testInstanceArn, MessageID: id, SeqNum: 1, Tasks: tasks}
}

// desired reads the stored DesiredTask of a task from the stream.
func (h *harness) desired(arn string) (bus.DesiredTask, string, error) {
	ctx := context.Background()
	st, err := h.js.Stream(ctx, bus.StreamDesired)
	if err != nil {
		return bus.DesiredTask{}, "", err
	}
	m, err := st.GetLastMsgForSubject(ctx, bus.DesiredSubject(arn))
	if err != nil {
		return bus.DesiredTask{}, "", err
	}
	var dt bus.DesiredTask
	if err := json.Unmarshal(m.Data, &dt); err != nil {
		return bus.DesiredTask{}, "", err
	}
	return dt, m.Header.Get(jetstream.MsgIDHeader), nil
}

// nextAck reads frames until an AckRequest, skipping heartbeat acks.
func nextAck(t *testing.T, sock *fakeSocket, within time.Duration) (acs.AckRequest, error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		typ, msg, err := sock.readFrame(t, time.Until(deadline))
		if err != nil {
			return acs.AckRequest{}, err
		}
		if typ == acs.TypeAckRequest {
			var a acs.AckRequest
			_ = json.Unmarshal(msg, &a)
			return a, nil
		}
	}
}

func TestPayloadStoredBeforeAck(t *testing.T) {
	h := newHarness(t, "test")
	h.start()
	sock := h.cp.next(t, 10*time.Second)
	run := "arn:aws:ecs:us-west-2:123456789012:task/test/run1"
	stop := "arn:aws:ecs:us-west-2:123456789012:task/test/stop1"
	sock.send(t, acs.TypePayloadMessage, payloadMsg("p-1", task(run, "RUNNING"), task(stop, "STOPPED")))

	ack, err := nextAck(t, sock, 10*time.Second)
	if err != nil {
		t.Fatalf("no ack: %v", err)
	}
	// Read the stream at once: both tasks must already be there.
	for _, tc := range []struct{ arn, status string }{{run, "RUNNING"}, {stop, "STOPPED"}} {
		dt, id, err := h.desired(tc.arn)
		if err != nil {
			t.Fatalf("task %s not on the stream when the ack arrived: %v", tc.arn, err)
		}
		if id != tc.arn+"/"+tc.status {
			t.Errorf("message ID %q", id)
		}
		if dt.Type != bus.TypeDesiredTask || dt.Cluster != "test" || dt.MessageID != "p-1" ||
			dt.Task.Arn != tc.arn || string(dt.Task.DesiredStatus) != tc.status {
			t.Errorf("stored %+v", dt)
		}
		if c := dt.Task.Containers; len(c) != 1 || strings.Join(c[0].Command, " ") != "sh -c exit 42" || c[0].Environment["A"] != "1" {
			t.Errorf("container not translated: %+v", c)
		}
	}
	want := acs.AckRequest{Cluster: testClusterArn, ContainerInstance: testInstanceArn, MessageID: "p-1"}
	if ack != want {
		t.Errorf("ack = %+v, want %+v", ack, want)
	}
}

func TestBadPayloadNotAcked(t *testing.T) {
	h := newHarness(t, "test")
	h.start()
	sock := h.cp.next(t, 10*time.Second)
	bad := "arn:aws:ecs:us-west-2:123456789012:task/test/bad"
	goodInBad := "arn:aws:ecs:us-west-2:123456789012:task/test/neighbour"
	good := "arn:aws:ecs:us-west-2:123456789012:task/test/good"

	sock.send(t, acs.TypePayloadMessage, payloadMsg("bad-status", task(goodInBad, "RUNNING"), task(bad, "PENDING")))
	noCluster := payloadMsg("no-cluster", task(good, "RUNNING"))
	noCluster.ClusterArn = ""
	sock.send(t, acs.TypePayloadMessage, noCluster)
	sock.send(t, "SomethingNew", map[string]string{"x": "y"})
	if err := sock.conn.WriteMessage(websocket.TextMessage, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	sock.send(t, acs.TypePayloadMessage, payloadMsg("good", task(good, "RUNNING")))

	// Payloads are handled in order, so an ack of either bad one would come first.
	ack, err := nextAck(t, sock, 10*time.Second)
	if err != nil {
		t.Fatalf("no ack: %v", err)
	}
	if ack.MessageID != "good" {
		t.Fatalf("first ack is for %q, want good", ack.MessageID)
	}
	if _, _, err := h.desired(goodInBad); err != nil {
		t.Errorf("the good task of the refused payload was not stored: %v", err)
	}
	// The bad task reaches the scheduler as one that could not be loaded, with the
	// real agent's reason; the session never writes the scheduler's outbox.
	dt, id, err := h.desired(bad)
	if err != nil {
		t.Fatalf("the untranslatable task was not passed on: %v", err)
	}
	if dt.Task.Arn != bad || dt.Task.DesiredStatus != bus.StatusStopped || len(dt.Task.Containers) != 0 ||
		!strings.HasPrefix(dt.LoadError, "UnrecogniedTaskError: Error loading task - ") || id != bad+"/unloadable" {
		t.Errorf("stored %+v under %q", dt, id)
	}
	st, err := h.js.Stream(context.Background(), bus.StreamOutbox)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := st.Info(context.Background()); err != nil || info.State.Msgs != 0 {
		t.Errorf("the outbox holds %d messages (%v); only the scheduler writes it", info.State.Msgs, err)
	}
	// The connection survived all of it.
	sock.send(t, acs.TypeHeartbeatMessage, acs.HeartbeatMessage{MessageID: "hb"})
	if typ, _, err := sock.readFrame(t, 5*time.Second); err != nil || typ != acs.TypeHeartbeatAckRequest {
		t.Errorf("after bad input: %s %v", typ, err)
	}
}

func TestReconnectAfterDrop(t *testing.T) {
	h := newHarness(t, "test")
	h.start()
	first := h.cp.next(t, 10*time.Second)
	start := time.Now()
	first.conn.NetConn().Close() // no close frame: the agent sees 1006
	second := h.cp.next(t, 5*time.Second)
	t.Logf("reconnected after %s", time.Since(start))
	if got := second.query["sendCredentials"]; len(got) != 1 || got[0] != "false" {
		t.Errorf("sendCredentials on reconnect = %v, want false", got)
	}
	h.cp.mu.Lock()
	dpe := h.cp.dpeCalls
	h.cp.mu.Unlock()
	if dpe != 1 {
		t.Errorf("DiscoverPollEndpoint called %d times, want 1 (cached)", dpe)
	}
	// The new connection works.
	second.send(t, acs.TypeHeartbeatMessage, acs.HeartbeatMessage{MessageID: "hb-2"})
	if typ, _, err := second.readFrame(t, 5*time.Second); err != nil || typ != acs.TypeHeartbeatAckRequest {
		t.Errorf("second connection: %s %v", typ, err)
	}
}

func TestInactiveInstanceBacksOff(t *testing.T) {
	for _, form := range []string{"framed", "bare"} {
		t.Run(form, func(t *testing.T) {
			h := newHarness(t, "test")
			h.cp.inactive = form
			h.start()
			waitFor(t, 10*time.Second, func() bool { return len(h.upgrades()) >= 2 })
			h.cp.set(func(cp *fakeCP) { cp.inactive = "" })
			up := h.upgrades()
			if gap := up[1].Sub(up[0]); gap < h.cfg.Timers.InactiveInstanceWait {
				t.Errorf("retried after %s, want at least %s", gap, h.cfg.Timers.InactiveInstanceWait)
			}
			h.cp.next(t, 5*time.Second) // and it connects once the instance is back
			select {
			case err := <-h.errc:
				t.Fatalf("Run returned %v", err)
			default:
			}
			if !strings.Contains(h.logs.String(), "InactiveInstanceException: instance deregistered") {
				t.Errorf("the refusal is not in the log")
			}
		})
	}
}

// With the same short reconnect backoff, only InactiveInstanceException holds the
// session back; any other refusal is retried at once.
func TestRefusalBackoffDependsOnError(t *testing.T) {
	for _, tc := range []struct {
		refusal string
		want    func(n int) bool
	}{
		{"framed", func(n int) bool { return n == 1 }},
		{"server", func(n int) bool { return n >= 3 }},
	} {
		t.Run(tc.refusal, func(t *testing.T) {
			h := newHarness(t, "test")
			h.cp.inactive = tc.refusal
			h.cfg.Timers.InactiveInstanceWait = time.Hour
			h.start()
			waitFor(t, 5*time.Second, func() bool { return len(h.upgrades()) >= 1 })
			time.Sleep(400 * time.Millisecond)
			if n := len(h.upgrades()); !tc.want(n) {
				t.Errorf("%d attempts in 400 ms", n)
			}
		})
	}
}

func TestInactivityAndMaxAgeReconnect(t *testing.T) {
	for _, tc := range []struct {
		name   string
		timers func(*Timers)
		reason string
	}{
		{"inactivity", func(t *Timers) { t.Inactivity = 300 * time.Millisecond }, "InactivityTimeout"},
		{"max age", func(t *Timers) { t.MaxConnAge = 300 * time.Millisecond }, "ConnectionExpired: Reconnect to continue"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "test")
			tc.timers(&h.cfg.Timers)
			h.start()
			first := h.cp.next(t, 10*time.Second)
			_, _, err := first.readFrame(t, 5*time.Second)
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure || !strings.Contains(ce.Text, tc.reason) {
				t.Fatalf("read = %v, want close 1000 %q", err, tc.reason)
			}
			h.cp.next(t, 5*time.Second)
		})
	}
}

func (h *harness) upgrades() []time.Time {
	h.cp.mu.Lock()
	defer h.cp.mu.Unlock()
	return append([]time.Time(nil), h.cp.upgrades...)
}

func waitFor(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
