package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/nats-io/nats.go/micro"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/bustest"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

var testCreds = aws.Credentials{AccessKeyID: "AKIDSESSIONTEST", SecretAccessKey: "s3cr3t-key-value", SessionToken: "t0ken-value"}

// harness is one session under test with its bus and fake control plane.
type harness struct {
	t    *testing.T
	cp   *fakeCP
	bus  *bustest.Bus
	js   jetstream.JetStream
	cfg  Config
	logs *syncBuffer
	errc chan error
	stop context.CancelFunc
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

func newHarness(t *testing.T, clusters ...string) *harness {
	t.Helper()
	b := bustest.Start(t)
	js, err := bus.JetStream(b.Conn(t, "test"))
	if err != nil {
		t.Fatal(err)
	}
	cp := newFakeCP(t, testCreds, clusters...)
	meminfo := filepath.Join(t.TempDir(), "meminfo")
	if err := os.WriteFile(meminfo, []byte("MemTotal:        2048000 kB\nMemFree:          100000 kB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Cluster: "test", ClusterSet: true,
		Region: "us-west-2", AccessKeyID: testCreds.AccessKeyID, SecretAccessKey: testCreds.SecretAccessKey,
		SessionToken: testCreds.SessionToken, BackendHost: cp.srv.URL,
		ReservedPorts: []int{22, 2375}, ReservedPortsUDP: []int{}, ReservedMemory: 100,
		InstanceAttrs:  map[string]string{"stack": "prod"},
		InstanceTags:   map[string]string{"team": "infra", "env": "prod"},
		LoggingDrivers: []string{"json-file", "none"},
		AgentVersion:   "1.105.1", AgentVersionString: "Amazon ECS Agent - v1.105.1 (test)", AgentHash: "0123abcd",
		MemInfoPath: meminfo, NumCPU: 2, DataDir: b.Dir,
		Timers: Timers{
			RegisterBackoffMin: 10 * time.Millisecond, RegisterBackoffMax: 40 * time.Millisecond,
			RegisterRetryFor:    10 * time.Second,
			ReconnectBackoffMin: 10 * time.Millisecond, ReconnectBackoffMax: 50 * time.Millisecond,
			Inactivity: 20 * time.Second, MaxConnAge: 20 * time.Minute,
			InactiveInstanceWait: 600 * time.Millisecond,
			HandshakeTimeout:     5 * time.Second, ReadDeadline: 20 * time.Second, APITimeout: 5 * time.Second,
			DockerVersionWait: time.Millisecond, DiscoverWait: time.Millisecond,
		},
	}
	return &harness{t: t, cp: cp, bus: b, js: js, cfg: cfg, logs: &syncBuffer{}}
}

// start runs the session until the test ends.
func (h *harness) start() {
	h.t.Helper()
	log := zerolog.New(h.logs).With().Timestamp().Logger()
	svc, err := New(h.cfg, h.bus.ConnAs(h.t, bus.UserSession, "session"), log)
	if err != nil {
		h.t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.stop, h.errc = cancel, make(chan error, 1)
	go func() { h.errc <- svc.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		select {
		case <-h.errc:
		case <-time.After(10 * time.Second):
			h.t.Error("Run did not return after cancel")
		}
		for _, secret := range []string{testCreds.SecretAccessKey, testCreds.SessionToken} {
			if strings.Contains(h.logs.String(), secret) {
				h.t.Errorf("a secret appears in the logs")
			}
		}
		if h.t.Failed() {
			h.t.Logf("session logs:\n%s", h.logs.String())
		}
	})
}

// runErr waits for Run to return.
func (h *harness) runErr(within time.Duration) error {
	h.t.Helper()
	select {
	case err := <-h.errc:
		h.errc <- err // for the cleanup
		return err
	case <-time.After(within):
		h.t.Fatalf("Run did not return within %s", within)
		return nil
	}
}

func (h *harness) registration() bus.Registration {
	h.t.Helper()
	kv, err := h.js.KeyValue(context.Background(), bus.BucketInstance)
	if err != nil {
		h.t.Fatalf("instance bucket: %v", err)
	}
	var reg bus.Registration
	if err := bus.GetJSON(context.Background(), kv, bus.KeyRegistration, &reg); err != nil {
		h.t.Fatalf("reading the registration: %v", err)
	}
	return reg
}

func (h *harness) register(i int) map[string]any {
	h.t.Helper()
	h.cp.mu.Lock()
	defer h.cp.mu.Unlock()
	if i >= len(h.cp.registers) {
		h.t.Fatalf("only %d RegisterContainerInstance calls", len(h.cp.registers))
	}
	return h.cp.registers[i]
}

func attrMap(t *testing.T, req map[string]any) map[string]any {
	t.Helper()
	out := map[string]any{}
	list, _ := req["attributes"].([]any)
	for _, x := range list {
		m := x.(map[string]any)
		out[m["name"].(string)] = m["value"]
	}
	return out
}

func TestRegistrationRequest(t *testing.T) {
	h := newHarness(t, "test")
	h.start()
	sock := h.cp.next(t, 10*time.Second)
	_ = sock

	req := h.register(0)
	if req["cluster"] != "test" {
		t.Errorf("cluster = %v", req["cluster"])
	}
	if _, ok := req["containerInstanceArn"]; ok {
		t.Errorf("first registration sent containerInstanceArn %v", req["containerInstanceArn"])
	}
	if v, ok := req["instanceIdentityDocument"]; !ok || v != "" {
		t.Errorf("instanceIdentityDocument = %v (present %v), want empty string", v, ok)
	}
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if tok, _ := req["clientToken"].(string); !uuidRE.MatchString(tok) {
		t.Errorf("clientToken = %q, want a UUID", tok)
	}
	if tags, _ := json.Marshal(req["tags"]); string(tags) != `[{"key":"env","value":"prod"},{"key":"team","value":"infra"}]` {
		t.Errorf("tags = %s", tags)
	}
	gotRes, _ := json.Marshal(req["totalResources"])
	wantRes := `[{"integerValue":2048,"name":"CPU","type":"INTEGER"},{"integerValue":1900,"name":"MEMORY","type":"INTEGER"},` +
		`{"name":"PORTS","stringSetValue":["22","2375"],"type":"STRINGSET"},{"name":"PORTS_UDP","stringSetValue":[],"type":"STRINGSET"}]`
	if string(gotRes) != wantRes {
		t.Errorf("totalResources =\n %s\nwant\n %s", gotRes, wantRes)
	}
	attrs := attrMap(t, req)
	for name, want := range map[string]any{
		"stack":         "prod",
		"ecs.os-type":   "linux",
		"ecs.os-family": "LINUX",
		"com.amazonaws.ecs.capability.privileged-container":     nil,
		"com.amazonaws.ecs.capability.docker-remote-api.1.17":   nil,
		"com.amazonaws.ecs.capability.docker-remote-api.1.32":   nil,
		"com.amazonaws.ecs.capability.logging-driver.json-file": nil,
		"com.amazonaws.ecs.capability.logging-driver.none":      nil,
		"ecs.capability.container-ordering":                     nil,
		"ecs.capability.container-health-check":                 nil,
	} {
		got, ok := attrs[name]
		if !ok || got != want {
			t.Errorf("attribute %s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	for _, absent := range []string{"ecs.capability.external", "com.amazonaws.ecs.capability.docker-remote-api.1.26", "ecs.cpu-architecture"} {
		if _, ok := attrs[absent]; ok {
			t.Errorf("attribute %s sent, want absent", absent)
		}
	}

	reg := h.registration()
	want := bus.Registration{
		Type: bus.TypeRegistration, Cluster: "test", Region: "us-west-2", AvailabilityZone: "us-west-2a",
		ContainerInstanceArn: "arn:aws:ecs:us-west-2:123456789012:container-instance/test/id1",
		AgentVersion:         "Amazon ECS Agent - v1.105.1 (test)",
		Resources:            bus.HostResources{CPU: 2048, MemoryMiB: 1900, ReservedPorts: []int{22, 2375}, ReservedPortsUDP: []int{}},
	}
	reg.RegisteredAt = time.Time{}
	reg.TelemetryEndpoint = "" // stored once ACS's endpoint is discovered (TestTelemetryEndpointIsStoredInTheRegistration)
	if !reflect.DeepEqual(reg, want) {
		t.Errorf("stored registration = %+v\nwant %+v", reg, want)
	}
}

func TestRegistrationMissingAttributeIsTerminal(t *testing.T) {
	h := newHarness(t, "test")
	h.cp.dropAttr = "ecs.capability.container-ordering"
	h.start()
	err := h.runErr(10 * time.Second)
	if !errors.Is(err, ErrTerminal) {
		t.Fatalf("Run = %v, want ErrTerminal", err)
	}
	kv, _ := h.js.KeyValue(context.Background(), bus.BucketInstance)
	if _, err := kv.Get(context.Background(), bus.KeyRegistration); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("registration stored despite the failed check: %v", err)
	}
}

func TestRegistrationCreatesDefaultCluster(t *testing.T) {
	h := newHarness(t) // no clusters
	h.cfg.Cluster, h.cfg.ClusterSet = "default", false
	h.start()
	h.cp.next(t, 10*time.Second)
	h.cp.mu.Lock()
	calls, creates := len(h.cp.registers), h.cp.createClusters
	h.cp.mu.Unlock()
	if calls != 2 || creates != 1 {
		t.Errorf("register calls = %d, CreateCluster calls = %d; want 2 and 1", calls, creates)
	}
	if reg := h.registration(); reg.Cluster != "default" {
		t.Errorf("registered cluster %q", reg.Cluster)
	}
}

func TestRegistrationConfiguredClusterNotFoundIsTerminal(t *testing.T) {
	h := newHarness(t) // no clusters, ECS_CLUSTER=test given
	h.start()
	if err := h.runErr(10 * time.Second); !errors.Is(err, ErrTerminal) {
		t.Fatalf("Run = %v, want ErrTerminal", err)
	}
	if h.cp.createClusters != 0 {
		t.Errorf("CreateCluster called %d times for a configured cluster", h.cp.createClusters)
	}
}

func TestRegistrationRetriesThrottling(t *testing.T) {
	h := newHarness(t, "test")
	h.cp.throttle = 2
	h.start()
	h.cp.next(t, 10*time.Second)
	if n := len(h.cp.registers); n != 3 {
		t.Fatalf("register calls = %d, want 3", n)
	}
	tok := h.register(0)["clientToken"]
	for i := 1; i < 3; i++ {
		if h.register(i)["clientToken"] != tok {
			t.Errorf("attempt %d used another client token", i)
		}
	}
}

func TestReregistrationKeepsARN(t *testing.T) {
	const stored = "arn:aws:ecs:us-west-2:123456789012:container-instance/test/kept"
	for _, tc := range []struct {
		name          string
		storedCluster string
		noCheckpoint  bool
		wantARN       string // sent in the request; "" = none
	}{
		{"same cluster", "test", false, stored},
		{"other cluster", "elsewhere", false, ""},
		{"checkpoint off", "test", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "test")
			h.cfg.NoCheckpoint = tc.noCheckpoint
			kv, err := bus.OpenBucket(context.Background(), h.js, bus.BucketInstance)
			if err != nil {
				t.Fatal(err)
			}
			prev := bus.Registration{Type: bus.TypeRegistration, Cluster: tc.storedCluster, ContainerInstanceArn: stored, Region: "us-west-2"}
			if err := bus.PutJSON(context.Background(), kv, bus.KeyRegistration, prev); err != nil {
				t.Fatal(err)
			}
			h.start()
			sock := h.cp.next(t, 10*time.Second)
			req := h.register(0)
			got, _ := req["containerInstanceArn"].(string)
			if got != tc.wantARN {
				t.Errorf("containerInstanceArn sent = %q, want %q", got, tc.wantARN)
			}
			_, custom := attrMap(t, req)["stack"]
			if custom != (tc.wantARN == "") {
				t.Errorf("custom attribute sent = %v on re-registration = %v", custom, tc.wantARN != "")
			}
			reg := h.registration()
			if (reg.ContainerInstanceArn == stored) != (tc.wantARN != "") {
				t.Errorf("stored ARN = %q", reg.ContainerInstanceArn)
			}
			if q := sock.query["containerInstanceArn"]; len(q) != 1 || q[0] != reg.ContainerInstanceArn {
				t.Errorf("ACS URL containerInstanceArn = %v, want %s", q, reg.ContainerInstanceArn)
			}
		})
	}
}

func TestACSUpgradeIsSigned(t *testing.T) {
	h := newHarness(t, "test")
	h.start()
	sock := h.cp.next(t, 10*time.Second)
	if sock.sigErr != nil {
		t.Fatalf("upgrade signature: %v", sock.sigErr)
	}
	want := map[string]string{
		"agentHash": "0123abcd", "agentVersion": "1.105.1", "clusterArn": "test",
		"containerInstanceArn": h.registration().ContainerInstanceArn,
		"protocolVersion":      "2", "sendCredentials": "true", "seqNum": "1",
	}
	for k, v := range want {
		if got := sock.query[k]; len(got) != 1 || got[0] != v {
			t.Errorf("query %s = %v, want %q", k, got, v)
		}
	}
	if _, ok := sock.query["dockerVersion"]; ok {
		t.Errorf("dockerVersion sent though unknown")
	}
}

// TestVerifySigRejectsTampering shows the check above can fail.
func TestVerifySigRejectsTampering(t *testing.T) {
	svc := &Service{
		cfg:    Config{Region: "us-west-2", AgentHash: "h", AgentVersion: "1"},
		creds:  credentials.NewStaticCredentialsProvider(testCreds.AccessKeyID, testCreds.SecretAccessKey, testCreds.SessionToken),
		signer: v4.NewSigner(),
		now:    time.Now,
	}
	_, httpURL, err := svc.acsURL("http://127.0.0.1:1/", bus.Registration{Cluster: "c", ContainerInstanceArn: "a"}, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		creds   aws.Credentials
		tamper  func(u string) string
		wantErr bool
	}{
		{"intact", testCreds, func(u string) string { return u }, false},
		{"query changed", testCreds, func(u string) string { return strings.Replace(u, "seqNum=1", "seqNum=2", 1) }, true},
		{"other secret", aws.Credentials{AccessKeyID: testCreds.AccessKeyID, SecretAccessKey: "x", SessionToken: testCreds.SessionToken}, func(u string) string { return u }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := svc.signUpgrade(context.Background(), httpURL)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = req.URL.Host
			req.URL, _ = req.URL.Parse(tc.tamper(httpURL))
			err = verifySig(req, tc.creds, "us-west-2", nil)
			if (err != nil) != tc.wantErr {
				t.Errorf("verifySig = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

func TestHeartbeatAck(t *testing.T) {
	h := newHarness(t, "test")
	h.start()
	sock := h.cp.next(t, 10*time.Second)
	sock.send(t, acs.TypeHeartbeatMessage, acs.HeartbeatMessage{Healthy: true, MessageID: "hb-1"})
	typ, msg, err := sock.readFrame(t, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var ack acs.HeartbeatAckRequest
	_ = json.Unmarshal(msg, &ack)
	if typ != acs.TypeHeartbeatAckRequest || ack.MessageID != "hb-1" {
		t.Errorf("got %s %s, want HeartbeatAckRequest hb-1", typ, msg)
	}
}

// The ACS URL carries the Docker version that dockerexec publishes in its service info.
func TestACSURLCarriesDockerVersionFromDockerexec(t *testing.T) {
	h := newHarness(t, "test")
	svc, err := micro.AddService(h.bus.ConnAs(t, bus.UserDockerexec, "dockerexec"), micro.Config{Name: bus.DockerService, Version: "1.0.0",
		Metadata: map[string]string{bus.MetadataDockerVersion: "20.10.24"}})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Stop()
	h.start()
	sock := h.cp.next(t, 10*time.Second)
	if q := sock.query["dockerVersion"]; len(q) != 1 || q[0] != "DockerVersion: 20.10.24" {
		t.Fatalf("dockerVersion = %v", q)
	}
}

func TestTelemetryEndpointIsStoredInTheRegistration(t *testing.T) {
	h := newHarness(t, "test")
	h.start()
	h.cp.next(t, 10*time.Second) // DiscoverPollEndpoint answered, ACS connected
	deadline := time.Now().Add(5 * time.Second)
	for {
		reg := h.registration()
		if reg.TelemetryEndpoint == h.cp.srv.URL+"/" {
			if reg.ContainerInstanceArn == "" || reg.Resources.CPU == 0 {
				t.Fatalf("the rest of the registration was lost: %+v", reg)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("telemetry endpoint %q, want %q", reg.TelemetryEndpoint, h.cp.srv.URL+"/")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
