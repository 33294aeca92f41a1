package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/bustest"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

type env struct {
	t      *testing.T
	b      *bustest.Bus
	js     jetstream.JetStream
	docker *fakeDocker
	outbox jetstream.Consumer
	cfg    Config
}

// testInstance is the container instance the scheduler under test serves.
const testInstance = "arn:aws:ecs:us-west-2:123456789012:container-instance/test-cluster/1f2e3d"

func newEnv(t *testing.T) *env {
	b := bustest.Start(t)
	nc := b.Conn(t, "test")
	js, err := bus.JetStream(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cons, err := js.CreateOrUpdateConsumer(ctx, bus.StreamOutbox, jetstream.ConsumerConfig{
		Durable: "test-reporter", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, b: b, js: js, docker: startFakeDocker(t, b.ConnAs(t, bus.UserDockerexec, "fake-dockerexec")), outbox: cons,
		cfg: Config{CleanupWait: time.Hour, DynamicPortMin: 40000, DynamicPortMax: 40010}}
	e.register(bus.HostResources{CPU: 4096, MemoryMiB: 4096, ReservedPorts: []int{22}})
	return e
}

// register stores the session's registration of the test instance with what the
// host offers.
func (e *env) register(res bus.HostResources) {
	e.t.Helper()
	kv, err := e.js.KeyValue(context.Background(), bus.BucketInstance)
	if err != nil {
		e.t.Fatal(err)
	}
	reg := bus.Registration{Type: bus.TypeRegistration, Cluster: "test-cluster", ContainerInstanceArn: testInstance, Resources: res}
	if err := bus.PutJSON(context.Background(), kv, bus.KeyRegistration, reg); err != nil {
		e.t.Fatal(err)
	}
}

// start runs a scheduler on its own connection; the returned function stops it and
// waits for Run to return.
func (e *env) start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	nc := e.b.ConnAs(e.t, bus.UserScheduler, "scheduler")
	done := make(chan error, 1)
	go func() {
		done <- New(e.cfg, nc, zerolog.New(zerolog.NewTestWriter(e.t)).Level(zerolog.InfoLevel)).Run(ctx)
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				e.t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			e.t.Error("Run did not return")
		}
		nc.Close()
	}
	e.t.Cleanup(stop)
	return stop
}

func (e *env) desire(s bus.TaskSpec, msgID string) {
	e.t.Helper()
	d := bus.DesiredTask{Type: bus.TypeDesiredTask, Cluster: "test-cluster", Task: s, MessageID: msgID, ReceivedAt: time.Now()}
	if _, err := bus.Publish(context.Background(), e.js, bus.DesiredSubject(s.Arn), s.Arn+"/"+msgID, d); err != nil {
		e.t.Fatal(err)
	}
}

// next returns the next report in the outbox.
func (e *env) next() bus.TaskStateChange {
	e.t.Helper()
	batch, err := e.outbox.Fetch(1, jetstream.FetchMaxWait(10*time.Second))
	if err != nil {
		e.t.Fatal(err)
	}
	for m := range batch.Messages() {
		var rep bus.TaskStateChange
		if err := json.Unmarshal(m.Data(), &rep); err != nil {
			e.t.Fatal(err)
		}
		if want := rep.TaskArn + "/" + itoa(rep.Seq); m.Headers().Get(jetstream.MsgIDHeader) != want {
			e.t.Errorf("message ID %q, want %q", m.Headers().Get(jetstream.MsgIDHeader), want)
		}
		_ = m.Ack()
		return rep
	}
	e.t.Fatal("no report in the outbox")
	return bus.TaskStateChange{}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func (e *env) record(arn string) (bus.TaskRecord, error) {
	kv, err := e.js.KeyValue(context.Background(), bus.BucketTasks)
	if err != nil {
		return bus.TaskRecord{}, err
	}
	var rec bus.TaskRecord
	err = bus.GetJSON(context.Background(), kv, bus.TaskKey(arn), &rec)
	return rec, err
}

func taskSpec(id string, containers ...bus.ContainerSpec) bus.TaskSpec {
	return bus.TaskSpec{Arn: "arn:aws:ecs:us-west-2:123456789012:task/test/" + id, Family: "fam", Version: "1",
		DesiredStatus: bus.StatusRunning, Containers: containers}
}

func TestTaskExitCode(t *testing.T) {
	e := newEnv(t)
	e.docker.exits["exit"] = fakeExit{after: 100 * time.Millisecond, code: 42}
	e.start()
	s := taskSpec("t1", bus.ContainerSpec{Name: "exit", Image: "busybox", Essential: true, Memory: 64,
		PortMappings: []bus.PortMapping{{ContainerPort: 80}}})
	e.desire(s, "m1")

	rep := e.next()
	if rep.Status != "RUNNING" || rep.Seq != 1 || rep.Cluster != "test-cluster" || len(rep.Containers) != 1 {
		t.Fatalf("first report = %+v", rep)
	}
	c := rep.Containers[0]
	if c.Status != "RUNNING" || !strings.HasPrefix(c.RuntimeID, "docker") || len(c.NetworkBindings) != 1 ||
		c.NetworkBindings[0].HostPort < 40000 || c.NetworkBindings[0].HostPort > 40010 {
		t.Fatalf("container in RUNNING report = %+v", c)
	}
	if rep.PullStartedAt == nil || rep.PullStoppedAt == nil {
		t.Fatal("pull times missing")
	}
	if d := rep.PullStoppedAt.Sub(*rep.PullStartedAt); d != fakePullDuration {
		t.Errorf("pull took %v in the report, want the %v of dockerexec's pull", d, fakePullDuration)
	}
	rep = e.next()
	if rep.Status != "STOPPED" || rep.Seq != 2 || len(rep.Containers) != 1 || rep.ExecutionStoppedAt == nil {
		t.Fatalf("second report = %+v", rep)
	}
	if c := rep.Containers[0]; c.Status != "STOPPED" || c.ExitCode == nil || *c.ExitCode != 42 {
		t.Fatalf("container in STOPPED report = %+v", c)
	}
	name := e.docker.request(s.Arn, "exit").DockerName
	if !strings.HasPrefix(name, "ecs-fam-1-exit-") || len(name) != len("ecs-fam-1-exit-")+20 {
		t.Fatalf("docker name %q", name)
	}
}

func TestStopViaDesired(t *testing.T) {
	e := newEnv(t)
	e.start()
	s := taskSpec("t2", bus.ContainerSpec{Name: "web", Image: "nginx", Essential: true},
		bus.ContainerSpec{Name: "side", Image: "busybox", Essential: false, Links: []string{"web:w"}})
	e.desire(s, "m1")
	if rep := e.next(); rep.Status != "RUNNING" || len(rep.Containers) != 2 {
		t.Fatalf("report = %+v", rep)
	}
	if links := e.docker.request(s.Arn, "side").Links; len(links) != 1 || !strings.HasSuffix(links[0], ":w") ||
		!strings.HasPrefix(links[0], "ecs-fam-1-web-") {
		t.Fatalf("links = %v", links)
	}
	s.DesiredStatus = bus.StatusStopped
	e.desire(s, "m2")
	rep := e.next()
	if rep.Status != "STOPPED" || len(rep.Containers) != 2 {
		t.Fatalf("report = %+v", rep)
	}
	for _, c := range rep.Containers {
		if c.Status != "STOPPED" || c.ExitCode == nil || *c.ExitCode != 137 {
			t.Fatalf("container = %+v", c)
		}
	}
	// The report is published before the record is stored (so that a crash in between
	// re-sends it under the same ID): the record catches up a moment later.
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec, err := e.record(s.Arn)
		if err == nil && rec.KnownStatus == bus.StatusStopped && rec.SentStatus == bus.StatusStopped && rec.ReportSeq == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("record = %+v, %v", rec, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRestartMakesNoSecondContainer(t *testing.T) {
	e := newEnv(t)
	stop := e.start()
	s := taskSpec("t3", bus.ContainerSpec{Name: "app", Image: "app", Essential: true,
		PortMappings: []bus.PortMapping{{ContainerPort: 8080}}})
	e.desire(s, "m1")
	first := e.next()
	if first.Status != "RUNNING" {
		t.Fatalf("report = %+v", first)
	}
	stop()

	e.start()
	// A second task must not get the first one's dynamic port.
	s2 := taskSpec("t4", bus.ContainerSpec{Name: "app", Image: "app", Essential: true,
		PortMappings: []bus.PortMapping{{ContainerPort: 8080}}})
	e.desire(s2, "m1")
	second := e.next()
	if second.TaskArn != s2.Arn || second.Status != "RUNNING" {
		t.Fatalf("report = %+v", second)
	}
	if p1, p2 := first.Containers[0].NetworkBindings[0].HostPort, second.Containers[0].NetworkBindings[0].HostPort; p1 == p2 {
		t.Fatalf("host port %d granted twice across a restart", p1)
	}
	s.DesiredStatus = bus.StatusStopped
	e.desire(s, "m2")
	rep := e.next()
	if rep.TaskArn != s.Arn || rep.Status != "STOPPED" || rep.Seq != 2 {
		t.Fatalf("report after restart = %+v", rep)
	}
	if n := e.docker.createCount(s.Arn, "app"); n != 1 {
		t.Fatalf("container created %d times", n)
	}
}

func TestRefusedTasks(t *testing.T) {
	tests := []struct {
		name   string
		spec   bus.TaskSpec
		reason string // task reason prefix, or "" to check the container's
		ctr    string // container reason prefix
	}{
		{"unknown link", taskSpec("r1", bus.ContainerSpec{Name: "a", Image: "a", Essential: true, Links: []string{"ghost"}}),
			"TaskDependencyError: container a links to unknown container ghost", ""},
		{"cycle", taskSpec("r2",
			bus.ContainerSpec{Name: "a", Image: "a", Essential: true, Links: []string{"b"}},
			bus.ContainerSpec{Name: "b", Image: "b", Essential: true, Links: []string{"a"}}),
			"Task dependencies cannot be resolved, taskArn: ", ""},
		{"reserved port", taskSpec("r3", bus.ContainerSpec{Name: "a", Image: "a", Essential: true,
			PortMappings: []bus.PortMapping{{ContainerPort: 22, HostPort: 22}}}), "ResourceError: ", ""},
		{"missing image", taskSpec("r4", bus.ContainerSpec{Name: "a", Image: "missing", Essential: true}),
			"", "CannotPullContainerError: image missing not found"},
	}
	e := newEnv(t)
	e.start()
	for _, tt := range tests {
		// One scheduler for every case: the cases run in turn on the parent test.
		e.desire(tt.spec, "m1")
		rep := e.next()
		if rep.TaskArn != tt.spec.Arn || rep.Status != "STOPPED" || rep.Seq != 1 {
			t.Fatalf("%s: report = %+v", tt.name, rep)
		}
		if !strings.HasPrefix(rep.Reason, tt.reason) {
			t.Fatalf("%s: reason = %q, want %q…", tt.name, rep.Reason, tt.reason)
		}
		if tt.ctr != "" && (len(rep.Containers) != 1 || !strings.HasPrefix(rep.Containers[0].Reason, tt.ctr)) {
			t.Fatalf("%s: containers = %+v", tt.name, rep.Containers)
		}
	}
}

func TestCleanup(t *testing.T) {
	e := newEnv(t)
	e.cfg.CleanupWait = 200 * time.Millisecond
	e.docker.exits["once"] = fakeExit{after: 10 * time.Millisecond, code: 0}
	e.start()
	s := taskSpec("t5", bus.ContainerSpec{Name: "once", Image: "x", Essential: true})
	e.desire(s, "m1")
	var id string
	for rep := e.next(); ; rep = e.next() {
		if len(rep.Containers) > 0 {
			id = rep.Containers[0].RuntimeID
		}
		if rep.Status == "STOPPED" {
			break
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := e.record(s.Arn)
		if errors.Is(err, jetstream.ErrKeyNotFound) && e.docker.wasRemoved(id) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("task not cleaned up: record err %v, removed %v", err, e.docker.wasRemoved(id))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestInjectedEnvironmentAndEndpointIDs(t *testing.T) {
	e := newEnv(t)
	e.cfg.Region = "us-west-2"
	e.start()
	s := taskSpec("env1",
		bus.ContainerSpec{Name: "a", Image: "busybox", Essential: true, Memory: 8,
			Environment: map[string]string{"AWS_REGION": "eu-west-1"},
			Secrets:     []bus.Secret{{Name: "DB", ValueFrom: "/db", Provider: "ssm"}}},
		bus.ContainerSpec{Name: "b", Image: "busybox", Essential: true, Memory: 8})
	s.TaskCredentialsID, s.ExecutionCredentialsID = "task-cred", "exec-cred"
	e.desire(s, "m1")
	if rep := e.next(); rep.Status != "RUNNING" {
		t.Fatalf("report %+v", rep)
	}
	a, b := e.docker.request(s.Arn, "a"), e.docker.request(s.Arn, "b")
	if a.EndpointID == "" || b.EndpointID == "" || a.EndpointID == b.EndpointID || len(a.EndpointID) != 36 {
		t.Fatalf("endpoint IDs %q %q", a.EndpointID, b.EndpointID)
	}
	want := map[string]string{
		"ECS_CONTAINER_METADATA_URI":             "http://169.254.170.2/v3/" + a.EndpointID,
		"ECS_CONTAINER_METADATA_URI_V4":          "http://169.254.170.2/v4/" + a.EndpointID,
		"ECS_AGENT_URI":                          "http://169.254.170.2/api/" + a.EndpointID,
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/task-cred",
		"AWS_DEFAULT_REGION":                     "us-west-2",
	}
	if !reflect.DeepEqual(a.ExtraEnv, want) {
		t.Errorf("injected env of a (sets AWS_REGION itself) = %v, want %v", a.ExtraEnv, want)
	}
	if b.ExtraEnv["AWS_REGION"] != "us-west-2" {
		t.Errorf("b's AWS_REGION %q", b.ExtraEnv["AWS_REGION"])
	}
	if a.ExecutionCredentialsID != "exec-cred" || b.ExecutionCredentialsID != "" {
		t.Errorf("execution credentials: a %q (has secrets), b %q (has none)", a.ExecutionCredentialsID, b.ExecutionCredentialsID)
	}
	rec, err := e.record(s.Arn)
	if err != nil || rec.Containers[0].EndpointID != a.EndpointID {
		t.Fatalf("record endpoint ID %+v, %v", rec.Containers, err)
	}
}

func TestPortInUseSeesAnotherProgramsListener(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	inUse := portInUse("127.0.0.1")
	if !inUse("tcp", port) {
		t.Errorf("tcp %d is held but not seen", port)
	}
	l.Close()
	if inUse("tcp", port) {
		t.Errorf("tcp %d is free but seen held", port)
	}
}

func TestNoPullTimesForACachedImage(t *testing.T) {
	e := newEnv(t)
	e.start()
	s := taskSpec("t1", bus.ContainerSpec{Name: "app", Image: "cached-busybox", Essential: true, Memory: 64})
	e.desire(s, "m1")
	rep := e.next()
	if rep.Status != "RUNNING" {
		t.Fatalf("first report = %+v", rep)
	}
	if rep.PullStartedAt != nil || rep.PullStoppedAt != nil {
		t.Errorf("pull times %v %v for a cached image", rep.PullStartedAt, rep.PullStoppedAt)
	}
}

func TestPullTimesOfAFailedPull(t *testing.T) {
	e := newEnv(t)
	e.start()
	s := taskSpec("t1", bus.ContainerSpec{Name: "app", Image: "missing", Essential: true, Memory: 64})
	e.desire(s, "m1")
	rep := e.next()
	if rep.Status != "STOPPED" {
		t.Fatalf("first report = %+v", rep)
	}
	if rep.PullStartedAt == nil || rep.PullStoppedAt == nil || rep.PullStoppedAt.Before(*rep.PullStartedAt) {
		t.Errorf("pull times %v %v for a failed pull", rep.PullStartedAt, rep.PullStoppedAt)
	}
}

// The die event of a container being stopped is the stop's outcome: the task's
// STOPPED report goes out on it, not behind the stop's reply.
func TestStoppedOnTheDieEvent(t *testing.T) {
	e := newEnv(t)
	e.start()
	e.docker.mu.Lock()
	e.docker.stopReplyAfter = 3 * time.Second
	e.docker.mu.Unlock()
	s := taskSpec("t-die", bus.ContainerSpec{Name: "web", Image: "nginx", Essential: true})
	e.desire(s, "m1")
	if rep := e.next(); rep.Status != "RUNNING" {
		t.Fatalf("report = %+v", rep)
	}
	s.DesiredStatus = bus.StatusStopped
	asked := time.Now()
	e.desire(s, "m2")
	rep := e.next()
	if took := time.Since(asked); rep.Status != "STOPPED" || took > 2*time.Second {
		t.Fatalf("report %+v after %v; the stop's reply comes after 3 s", rep, took)
	}
	if c := rep.Containers; len(c) != 1 || c[0].ExitCode == nil || *c[0].ExitCode != 137 {
		t.Fatalf("containers = %+v", c)
	}
}
