package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/bustest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
)

func TestServerListensOnLoopbackOnly(t *testing.T) {
	b := bustest.Start(t)
	url := b.Server.ClientURL()
	if !strings.HasPrefix(url, "nats://127.0.0.1:") {
		t.Fatalf("client URL %q is not on 127.0.0.1", url)
	}
}

func TestServerRequiresCredentials(t *testing.T) {
	b := bustest.Start(t)
	for _, u := range bus.Users() {
		if _, err := nats.Connect(b.Server.ClientURL(), nats.UserInfo(string(u), "wrong")); err == nil {
			t.Fatalf("user %s connected with a wrong password", u)
		}
	}
	if _, err := nats.Connect(b.Server.ClientURL(), nats.UserInfo("session", b.Passwords[bus.UserScheduler])); err == nil {
		t.Fatal("the session connected with the scheduler's password")
	}
	if _, err := nats.Connect(b.Server.ClientURL(), nats.UserInfo("nobody", "x")); err == nil {
		t.Fatal("an unknown user connected")
	}
	if _, err := nats.Connect(b.Server.ClientURL()); err == nil {
		t.Fatal("connected without credentials")
	}
	for _, u := range bus.Users() {
		if nc := b.ConnAs(t, u, "ok"); !nc.IsConnected() {
			t.Fatalf("user %s with its password did not connect", u)
		}
	}
}

func TestInProcessDial(t *testing.T) {
	dir := t.TempDir()
	users := map[bus.User]string{bus.UserAdmin: "p"}
	srv, err := bus.StartServer(bus.ServerConfig{StoreDir: dir, DontListen: true, Users: users})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	if srv.ClientURL() != "" {
		t.Fatalf("in-process server reports URL %q", srv.ClientURL())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := bus.Prepare(ctx, bus.DialConfig{Name: "t", User: bus.UserAdmin, InProcess: srv, Password: "p"}); err != nil {
		t.Fatal(err)
	}
}

func TestPublishDeduplicatesByMessageID(t *testing.T) {
	b := bustest.Start(t)
	nc := b.ConnAs(t, bus.UserScheduler, "pub")
	js, _ := bus.JetStream(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	arn := "arn:aws:ecs:us-west-2:123456789012:task/default/abc123"
	msg := bus.TaskStateChange{Type: bus.TypeTaskStateChange, TaskArn: arn, Status: "RUNNING", Seq: 1}
	for i := 0; i < 3; i++ {
		ack, err := bus.Publish(ctx, js, bus.OutboxSubject(arn), arn+"/1", msg)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && !ack.Duplicate {
			t.Fatalf("publish %d was not seen as a duplicate", i)
		}
	}
	admin, _ := bus.JetStream(b.Conn(t, "admin"))
	st, err := admin.Stream(ctx, bus.StreamOutbox)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := st.Info(ctx)
	if info.State.Msgs != 1 {
		t.Fatalf("stream holds %d messages, want 1", info.State.Msgs)
	}
	m, err := st.GetLastMsgForSubject(ctx, "ecs.v1.outbox.abc123")
	if err != nil {
		t.Fatal(err)
	}
	var got bus.TaskStateChange
	if err := json.Unmarshal(m.Data, &got); err != nil || got.TaskArn != arn {
		t.Fatalf("stored %s (%v)", m.Data, err)
	}
}

func TestCallCarriesErrorCodes(t *testing.T) {
	b := bustest.Start(t)
	nc := b.Conn(t, "svc")
	svc, err := micro.AddService(nc, micro.Config{Name: "t", Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Stop()
	err = svc.AddEndpoint("echo", micro.HandlerFunc(func(r micro.Request) {
		var req bus.InspectRequest
		_ = json.Unmarshal(r.Data(), &req)
		if req.DockerID == "" {
			bus.RespondError(r, bus.Errorf(bus.CodeNotFound, "no container %q", req.DockerID))
			return
		}
		_ = r.RespondJSON(bus.ContainerState{DockerID: req.DockerID, Status: bus.StatusRunning})
	}), micro.WithEndpointSubject("test.echo"))
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	client := b.Conn(t, "client")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := bus.Call[bus.InspectRequest, bus.ContainerState](ctx, client, "test.echo",
		bus.InspectRequest{ContainerRef: bus.ContainerRef{DockerID: "abc"}})
	if err != nil || st.DockerID != "abc" || st.Status != bus.StatusRunning {
		t.Fatalf("got %+v, %v", st, err)
	}
	_, err = bus.Call[bus.InspectRequest, bus.ContainerState](ctx, client, "test.echo", bus.InspectRequest{})
	if !errors.Is(err, &bus.Error{Code: bus.CodeNotFound}) {
		t.Fatalf("want NotFound, got %v", err)
	}
	if bus.IsRetryable(err) {
		t.Fatal("NotFound must not be retryable")
	}
	start := time.Now()
	_, err = bus.Call[bus.InspectRequest, bus.ContainerState](ctx, client, "test.nobody", bus.InspectRequest{})
	if !errors.Is(err, bus.ErrNoResponders) || !bus.IsRetryable(err) {
		t.Fatalf("no responders must be ErrNoResponders and retryable, got %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("no responders took %v to tell", d)
	}
}

func TestKVRoundTrip(t *testing.T) {
	b := bustest.Start(t)
	js, _ := bus.JetStream(b.Conn(t, "kv"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := bus.OpenBucket(ctx, js, bus.BucketInstance)
	if err != nil {
		t.Fatal(err)
	}
	var r bus.Registration
	if err := bus.GetJSON(ctx, kv, bus.KeyRegistration, &r); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("empty bucket: %v", err)
	}
	want := bus.Registration{Type: bus.TypeRegistration, Cluster: "c", ContainerInstanceArn: "arn"}
	if err := bus.PutJSON(ctx, kv, bus.KeyRegistration, want); err != nil {
		t.Fatal(err)
	}
	if err := bus.GetJSON(ctx, kv, bus.KeyRegistration, &r); err != nil || r.ContainerInstanceArn != "arn" {
		t.Fatalf("got %+v %v", r, err)
	}
}

func TestCredentialsAreCreatedOnceWithMode0600(t *testing.T) {
	dir := t.TempDir()
	users, err := bus.LoadOrCreateCredentials(dir, map[bus.User]string{bus.UserReporter: "given"})
	if err != nil {
		t.Fatal(err)
	}
	if users[bus.UserReporter] != "given" {
		t.Errorf("a password from the environment was not used: %q", users[bus.UserReporter])
	}
	seen := map[string]bool{}
	for _, u := range bus.Users() {
		if u == bus.UserReporter {
			continue
		}
		pw := users[u]
		if len(pw) < 32 || seen[pw] {
			t.Errorf("user %s: weak or shared password %q", u, pw)
		}
		seen[pw] = true
		fi, err := os.Stat(bus.CredentialFile(dir, u))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("user %s: password file %v, %v; want mode 0600", u, fi, err)
		}
	}
	again, err := bus.LoadOrCreateCredentials(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range bus.Users() {
		if u != bus.UserReporter && again[u] != users[u] {
			t.Errorf("user %s: password changed on the second load", u)
		}
	}
}

func TestDialFollowsPasswordFile(t *testing.T) {
	dir := t.TempDir()
	users, err := bus.LoadOrCreateCredentials(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := bus.StartServer(bus.ServerConfig{StoreDir: t.TempDir(), Port: -1, Users: users})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := bus.Dial(bus.DialConfig{Name: "f", User: bus.UserSession, URL: srv.ClientURL(), PasswordFile: bus.CredentialFile(dir, bus.UserSession)})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !nc.IsConnected() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !nc.IsConnected() {
		t.Fatal("not connected with the password file")
	}
}

func TestSubjects(t *testing.T) {
	arn := "arn:aws:ecs:us-west-2:123456789012:task/default/0f1e2d"
	cases := map[string]string{
		bus.DesiredSubject(arn):        "ecs.v1.desired.0f1e2d",
		bus.EventSubject(arn, "web.1"): "ecs.v1.events.0f1e2d.web_1",
		bus.OutboxSubject(arn):         "ecs.v1.outbox.0f1e2d",
		bus.TaskKey(arn):               "0f1e2d",
		bus.Token("a*b>c d"):           "a_b_c_d",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestStatusOrder(t *testing.T) {
	order := []bus.Status{bus.StatusNone, bus.StatusManifestPulled, bus.StatusPulled, bus.StatusCreated, bus.StatusRunning, bus.StatusStopped}
	for i := 1; i < len(order); i++ {
		if !order[i-1].Before(order[i]) {
			t.Errorf("%s should come before %s", order[i-1], order[i])
		}
	}
	if bus.StatusCreated.Backend() != "PENDING" || bus.StatusRunning.Backend() != "RUNNING" || bus.StatusStopped.Backend() != "STOPPED" {
		t.Error("backend strings wrong")
	}
}

func TestDockerEngineVersion(t *testing.T) {
	b := bustest.Start(t)
	client := b.ConnAs(t, bus.UserSession, "client")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := bus.DockerEngineVersion(ctx, client); err == nil {
		t.Fatal("a version without any dockerexec running")
	}
	svcConn := b.ConnAs(t, bus.UserDockerexec, "svc")
	svc, err := micro.AddService(svcConn, micro.Config{Name: bus.DockerService, Version: "1.0.0",
		Metadata: map[string]string{bus.MetadataDockerVersion: "20.10.24"}})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Stop()
	// The service's subscriptions must reach the server before the client asks.
	if err := svcConn.Flush(); err != nil {
		t.Fatal(err)
	}
	v, err := bus.DockerEngineVersion(ctx, client)
	if err != nil || v != "20.10.24" {
		t.Fatalf("got %q, %v", v, err)
	}
}
