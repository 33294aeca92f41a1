package bus_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/bustest"
)

// denials connects as u with a handler that records every permission violation.
type denials struct {
	mu   sync.Mutex
	errs []error
}

func (d *denials) add(err error) {
	d.mu.Lock()
	d.errs = append(d.errs, err)
	d.mu.Unlock()
}

func (d *denials) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.errs)
}

func connectAs(t *testing.T, b *bustest.Bus, u bus.User) (*nats.Conn, *denials) {
	t.Helper()
	d := &denials{}
	nc, err := nats.Connect(b.Server.ClientURL(), nats.UserInfo(string(u), b.Passwords[u]),
		nats.CustomInboxPrefix(u.InboxPrefix()),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrPermissionViolation) {
				d.add(err)
			}
		}))
	if err != nil {
		t.Fatalf("connecting as %s: %v", u, err)
	}
	t.Cleanup(nc.Close)
	return nc, d
}

// waitDenied waits until d has recorded n violations.
func waitDenied(t *testing.T, d *denials, n int, what string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for d.count() < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if d.count() < n {
		t.Fatalf("%s was not refused", what)
	}
}

func TestOnlyDockerexecAnswersContainerCommands(t *testing.T) {
	b := bustest.Start(t)
	dx, _ := connectAs(t, b, bus.UserDockerexec)
	got := make(chan *nats.Msg, 8)
	if _, err := dx.ChanSubscribe(bus.DockerSubjectPrefix+".>", got); err != nil {
		t.Fatal(err)
	}
	if err := dx.Flush(); err != nil {
		t.Fatal(err)
	}

	// The session holds a password, but not the right to send container commands.
	session, denied := connectAs(t, b, bus.UserSession)
	for _, subj := range []string{bus.SubjectDockerStop, bus.SubjectDockerRemove, bus.SubjectDockerCreate, bus.SubjectDockerStart} {
		if err := session.PublishRequest(subj, session.NewInbox(), []byte(`{"dockerId":"abc"}`)); err != nil {
			t.Fatal(err)
		}
	}
	_ = session.Flush()
	waitDenied(t, denied, 4, "a container command from the session")
	select {
	case m := <-got:
		t.Fatalf("dockerexec received %s from the session", m.Subject)
	case <-time.After(200 * time.Millisecond):
	}

	// Nobody but dockerexec may subscribe to the commands (and so answer them).
	for _, u := range []bus.User{bus.UserSession, bus.UserScheduler, bus.UserReporter} {
		nc, d := connectAs(t, b, u)
		if _, err := nc.SubscribeSync(bus.SubjectDockerStop); err != nil {
			t.Fatal(err)
		}
		_ = nc.Flush()
		waitDenied(t, d, 1, string(u)+" subscribing to container commands")
	}

	// The scheduler's command reaches dockerexec.
	sched, _ := connectAs(t, b, bus.UserScheduler)
	if err := sched.PublishRequest(bus.SubjectDockerInspect, sched.NewInbox(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.Subject != bus.SubjectDockerInspect {
			t.Fatalf("got %s", m.Subject)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the scheduler's command did not reach dockerexec")
	}
}

func TestOnlyTheSchedulerWritesTheOutbox(t *testing.T) {
	b := bustest.Start(t)
	subj := bus.OutboxSubject("arn:aws:ecs:us-west-2:123456789012:task/c/x")
	for _, u := range []bus.User{bus.UserSession, bus.UserReporter, bus.UserDockerexec} {
		nc, d := connectAs(t, b, u)
		if err := nc.Publish(subj, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		_ = nc.Flush()
		waitDenied(t, d, 1, string(u)+" writing the outbox")
	}
	nc, d := connectAs(t, b, bus.UserScheduler)
	if err := nc.Publish(subj, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	time.Sleep(200 * time.Millisecond)
	if d.count() != 0 {
		t.Fatalf("the scheduler was refused the outbox: %v", d.errs)
	}
}

func TestNoServiceReadsAnotherOnesReplies(t *testing.T) {
	b := bustest.Start(t)
	for _, u := range []bus.User{bus.UserSession, bus.UserScheduler, bus.UserDockerexec, bus.UserReporter} {
		nc, d := connectAs(t, b, u)
		if _, err := nc.SubscribeSync("_INBOX.>"); err != nil {
			t.Fatal(err)
		}
		_ = nc.Flush()
		waitDenied(t, d, 1, string(u)+" subscribing to every inbox")
	}
}

// Only the services that use role credentials may read their bucket, and only the
// session write it.
func TestCredentialsBucketIsTheirsAlone(t *testing.T) {
	b := bustest.Start(t)
	get := "$JS.API.DIRECT.GET.KV_" + bus.BucketCredentials + ".$KV." + bus.BucketCredentials + ".x"
	put := "$KV." + bus.BucketCredentials + ".x"
	nc, d := connectAs(t, b, bus.UserScheduler)
	_ = nc.Publish(get, nil)
	_ = nc.Flush()
	waitDenied(t, d, 1, "the scheduler reading the credentials")
	for _, u := range []bus.User{bus.UserScheduler, bus.UserReporter, bus.UserDockerexec} {
		nc, d := connectAs(t, b, u)
		_ = nc.Publish(put, []byte("x"))
		_ = nc.Flush()
		waitDenied(t, d, 1, string(u)+" writing the credentials")
	}
}

// Each service answers its own health probes, asked as itself, and no one else's.
func TestHealthProbesStayWithTheirUser(t *testing.T) {
	b := bustest.Start(t)
	sched, _ := connectAs(t, b, bus.UserScheduler)
	if _, err := sched.Subscribe(bus.HealthSubject(bus.UserScheduler), func(m *nats.Msg) { _ = m.Respond([]byte("ok")) }); err != nil {
		t.Fatal(err)
	}
	_ = sched.Flush()
	probe, _ := connectAs(t, b, bus.UserScheduler)
	if reply, err := probe.Request(bus.HealthSubject(bus.UserScheduler), nil, 2*time.Second); err != nil || string(reply.Data) != "ok" {
		t.Fatalf("scheduler's own probe: %v %v", reply, err)
	}
	session, d := connectAs(t, b, bus.UserSession)
	if _, err := session.SubscribeSync(bus.HealthSubject(bus.UserScheduler)); err != nil {
		t.Fatal(err)
	}
	_ = session.Flush()
	waitDenied(t, d, 1, "session subscribing to the scheduler's health subject")
	_ = session.Publish(bus.HealthSubject(bus.UserScheduler), nil)
	_ = session.Flush()
	waitDenied(t, d, 2, "session asking the scheduler's health")
}

func TestStatsSamplesFlowFromDockerexecToTheReporterOnly(t *testing.T) {
	b := bustest.Start(t)
	subj := bus.StatsSampleSubject("arn:aws:ecs:us-west-2:123456789012:task/c/x", "web")
	rep, rd := connectAs(t, b, bus.UserReporter)
	got := make(chan *nats.Msg, 4)
	if _, err := rep.ChanSubscribe(bus.SubjectStatsSamplesAll, got); err != nil {
		t.Fatal(err)
	}
	_ = rep.Flush()
	for _, u := range []bus.User{bus.UserSession, bus.UserScheduler, bus.UserReporter} {
		nc, d := connectAs(t, b, u)
		_ = nc.Publish(subj, []byte(`{}`))
		_ = nc.Flush()
		waitDenied(t, d, 1, string(u)+" publishing a stats sample")
	}
	de, dd := connectAs(t, b, bus.UserDockerexec)
	demands := make(chan *nats.Msg, 1)
	if _, err := de.ChanSubscribe(bus.SubjectStatsDemand, demands); err != nil {
		t.Fatal(err)
	}
	_ = de.Flush()
	if err := de.Publish(subj, []byte(`{"type":"ContainerStatsSample"}`)); err != nil {
		t.Fatal(err)
	}
	if err := rep.Publish(bus.SubjectStatsDemand, []byte(`{"type":"StatsDemand"}`)); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []chan *nats.Msg{got, demands} {
		select {
		case <-ch:
		case <-time.After(3 * time.Second):
			t.Fatal("a stats sample or demand did not arrive")
		}
	}
	if dd.count() != 0 || rd.count() != 0 {
		t.Fatalf("refused: %v %v", dd.errs, rd.errs)
	}
}
