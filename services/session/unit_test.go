package session

import (
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/config"
	"github.com/gorilla/websocket"
)

func TestParseMemTotal(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"MemTotal:       16303484 kB\nMemFree: 1 kB\n", 15921, false},
		{"MemFree: 1 kB\nMemTotal: 1024 kB\n", 1, false},
		{"MemFree: 1 kB\n", 0, true},
		{"MemTotal: lots kB\n", 0, true},
		{"MemTotal: 1024 MB\n", 0, true},
	} {
		got, err := parseMemTotal(strings.NewReader(tc.in))
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("parseMemTotal(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestResourcesRejectsNegativeMemory(t *testing.T) {
	_, err := hostResources(Config{MemInfoPath: "/proc/meminfo", ReservedMemory: 1 << 40})
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "ECS_RESERVED_MEMORY") {
		t.Errorf("resources = %v, want ErrConfig naming ECS_RESERVED_MEMORY", err)
	}
}

func TestCapabilitiesFollowConfig(t *testing.T) {
	has := func(caps []string, c string) bool {
		for _, x := range caps {
			if x == c {
				return true
			}
		}
		return false
	}
	caps := capabilities(Config{DisablePrivileged: true, DisableHealthCheck: true, External: true, LoggingDrivers: []string{"syslog"}})
	for c, want := range map[string]bool{
		capLegacy + "privileged-container":   false,
		capPrefix + "container-health-check": false,
		capPrefix + "external":               true,
		capLegacy + "logging-driver.syslog":  true,
		capLegacy + "logging-driver.none":    false,
		capPrefix + "container-ordering":     true,
	} {
		if has(caps, c) != want {
			t.Errorf("%s present = %v, want %v", c, !want, want)
		}
	}
	attrs := attributes(Config{External: true}, false)
	if availabilityZone(attrs) != "" || aws.ToString(attrs[len(attrs)-1].Name) != attrCPUArch {
		t.Errorf("external mode should add %s last: %v", attrCPUArch, attrs[len(attrs)-1])
	}
}

func TestCheckEcho(t *testing.T) {
	a := func(n string, v *string) types.Attribute { return types.Attribute{Name: aws.String(n), Value: v} }
	sent := []types.Attribute{a("cap", nil), a("k", aws.String("v"))}
	for _, tc := range []struct {
		name string
		got  []types.Attribute
		ok   bool
	}{
		{"all back", []types.Attribute{a("k", aws.String("v")), a("cap", nil), a(attrAZ, aws.String("z"))}, true},
		{"missing", []types.Attribute{a("k", aws.String("v"))}, false},
		{"changed", []types.Attribute{a("cap", nil), a("k", aws.String("w"))}, false},
	} {
		err := checkEcho(sent, tc.got)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrTerminal)) {
			t.Errorf("%s: checkEcho = %v", tc.name, err)
		}
	}
}

func TestHandshakeError(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"type":"InactiveInstanceException","message":{"message":"gone"}}`, "InactiveInstanceException: gone"},
		{`{"InactiveInstanceException":"gone"}`, "InactiveInstanceException: gone"},
		{`{"type":"ServerException","message":{"message":"x"}}`, "ServerException: x"},
		{`{"type":"Whatever","message":{"message":"x"}}`, ""},
		{`not json`, ""},
		{``, ""},
	} {
		if got := handshakeError([]byte(tc.body)); got != tc.want {
			t.Errorf("handshakeError(%s) = %q, want %q", tc.body, got, tc.want)
		}
	}
}

func TestClassifyReadError(t *testing.T) {
	for _, tc := range []struct {
		err              error
		normal, inactive bool
	}{
		{&websocket.CloseError{Code: 1000}, true, false},
		{&websocket.CloseError{Code: 1001}, true, false},
		{&websocket.CloseError{Code: 1006}, true, false},
		{&websocket.CloseError{Code: 1011}, true, false},
		{&websocket.CloseError{Code: 1008, Text: "InactiveInstanceException: gone"}, false, true},
		{&websocket.CloseError{Code: 1000, Text: "InactiveInstanceException: gone"}, true, false},
		{&websocket.CloseError{Code: 1002}, false, false},
		{errors.New("read: connection reset"), false, false},
	} {
		o := classifyReadError(tc.err)
		if o.normal != tc.normal || errors.Is(o.err, ErrInactiveInstance) != tc.inactive {
			t.Errorf("classifyReadError(%v) = normal %v inactive %v", tc.err, o.normal, errors.Is(o.err, ErrInactiveInstance))
		}
	}
}

func TestIsTransient(t *testing.T) {
	api := func(code string) error {
		return &smithy.OperationError{Err: &smithy.GenericAPIError{Code: code, Message: "m"}}
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{api("ThrottlingException"), true},
		{api("ServerException"), true},
		{api("LimitExceededException"), true},
		{api("ClientException"), false},
		{api("InvalidParameterException"), false},
		{fmt.Errorf("dial: %w", &net.OpError{Op: "dial", Err: errors.New("connection refused")}), true},
		{errors.New("plain"), false},
	} {
		if got := isTransient(tc.err); got != tc.want {
			t.Errorf("isTransient(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestValidateNamesVariables(t *testing.T) {
	ok := Config{Cluster: "c", Region: "r", AccessKeyID: "a", SecretAccessKey: "s"}
	for _, tc := range []struct {
		mutate func(*Config)
		want   string
	}{
		{func(c *Config) { c.SecretAccessKey = "" }, "AWS_SECRET_ACCESS_KEY"},
		{func(c *Config) { c.Cluster = "" }, "ECS_CLUSTER"},
	} {
		c := ok
		tc.mutate(&c)
		err := c.validate()
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("validate = %v, want ErrConfig naming %s", err, tc.want)
		}
	}
	if err := ok.validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
	// No region anywhere (external mode: IMDS is not asked) is named at start-up.
	c := ok
	c.Region, c.External = "", true
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	if _, err := awsConfig(t.Context(), c); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "AWS_DEFAULT_REGION") {
		t.Errorf("awsConfig without a region = %v, want ErrConfig naming AWS_DEFAULT_REGION", err)
	}
}

func TestConfigFrom(t *testing.T) {
	c := config.Defaults()
	c.Region = "eu-west-1"
	got := ConfigFrom(c)
	if got.AgentVersion != config.Version || got.AgentVersionString != config.VersionString() ||
		got.Cluster != "default" || got.ClusterSet || got.Timers != DefaultTimers() || len(got.ReservedPorts) != 10 {
		t.Errorf("ConfigFrom = %+v", got)
	}
}

func TestACSURL(t *testing.T) {
	s := &Service{cfg: Config{AgentHash: "h", AgentVersion: "1.105.1", DockerVersion: "25.0.3"}}
	reg := struct{ Cluster, ARN string }{"default", "arn:aws:ecs:r:1:container-instance/default/x"}
	for _, tc := range []struct{ endpoint, want string }{
		{"https://ecs-a-1.us-west-2.amazonaws.com/", "wss://ecs-a-1.us-west-2.amazonaws.com/ws?"},
		{"http://127.0.0.1:9/", "ws://127.0.0.1:9/ws?"},
		{"http://127.0.0.1:9", "ws://127.0.0.1:9/ws?"},
	} {
		ws, _, err := s.acsURL(tc.endpoint, regOf(reg.Cluster, reg.ARN), false)
		if err != nil || !strings.HasPrefix(ws, tc.want) {
			t.Errorf("acsURL(%s) = %s, %v", tc.endpoint, ws, err)
		}
		wantQ := "agentHash=h&agentVersion=1.105.1&clusterArn=default&containerInstanceArn=arn%3Aaws%3Aecs%3Ar%3A1%3Acontainer-instance%2Fdefault%2Fx&dockerVersion=DockerVersion%3A+25.0.3&protocolVersion=2&sendCredentials=false&seqNum=1"
		if _, q, _ := strings.Cut(ws, "?"); q != wantQ {
			t.Errorf("query = %s\nwant    %s", q, wantQ)
		}
	}
	if _, _, err := s.acsURL("ftp://x/", regOf("c", "a"), true); err == nil {
		t.Errorf("ftp endpoint accepted")
	}
}

func regOf(cluster, arn string) bus.Registration {
	return bus.Registration{Cluster: cluster, ContainerInstanceArn: arn}
}

func TestAgentPortsAreReserved(t *testing.T) {
	c := config.Defaults()
	got := ConfigFrom(c).ReservedPorts
	if want := []int{22, 2375, 2376, 51678, 51679, 51680, 51681, 51682, 51683, 51684}; !reflect.DeepEqual(got, want) {
		t.Errorf("reserved %v, want %v", got, want)
	}
	c.ReservedPorts, c.IntrospectionPort, c.TaskEndpointPort, c.MetricsPort = []int{22}, 61678, 61679, 0
	c.BusMetricsPort, c.SessionMetricsPort, c.SchedulerMetricsPort, c.DockerexecMetricsPort = 0, 0, 0, 0
	if got, want := ConfigFrom(c).ReservedPorts, []int{22, 61678, 61679}; !reflect.DeepEqual(got, want) {
		t.Errorf("reserved %v, want %v", got, want)
	}
}
