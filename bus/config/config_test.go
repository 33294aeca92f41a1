package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster != "default" || c.ClusterSet {
		t.Errorf("cluster %q set=%v", c.Cluster, c.ClusterSet)
	}
	if len(c.ReservedPorts) != 5 || c.ReservedPorts[0] != 22 || c.ReservedPorts[4] != 51679 {
		t.Errorf("reserved ports %v", c.ReservedPorts)
	}
	if c.Checkpoint {
		t.Error("checkpoint on without ECS_DATADIR")
	}
	if c.ContainerStopTimeout != 30*time.Second || c.TaskCleanupWait != 3*time.Hour {
		t.Errorf("timeouts %v %v", c.ContainerStopTimeout, c.TaskCleanupWait)
	}
}

func TestValues(t *testing.T) {
	c, err := FromEnv(env(map[string]string{
		"ECS_CLUSTER": "prod", "ECS_RESERVED_PORTS": "[80, 443]", "ECS_RESERVED_MEMORY": "256",
		"ECS_DATADIR": "/var/lib/ecs", "ECS_BACKEND_HOST": "127.0.0.1:51700",
		"ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION": "10ms", "ECS_DYNAMIC_HOST_PORT_RANGE": "40000-40100",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster != "prod" || !c.ClusterSet || len(c.ReservedPorts) != 2 || c.ReservedMemory != 256 {
		t.Errorf("%+v", c)
	}
	if !c.Checkpoint {
		t.Error("ECS_DATADIR set should turn checkpointing on")
	}
	if c.BackendHost != "https://127.0.0.1:51700" {
		t.Errorf("backend host %q", c.BackendHost)
	}
	if c.TaskCleanupWait != time.Second {
		t.Errorf("cleanup wait not raised to its minimum: %v", c.TaskCleanupWait)
	}
	if c.DynamicPortMin != 40000 || c.DynamicPortMax != 40100 {
		t.Errorf("port range %d-%d", c.DynamicPortMin, c.DynamicPortMax)
	}
}

func TestBackendHost(t *testing.T) {
	good := map[string]string{
		"127.0.0.1:51700":                     "https://127.0.0.1:51700",
		"http://127.0.0.1:51700":              "http://127.0.0.1:51700",
		"https://ecs.us-west-2.amazonaws.com": "https://ecs.us-west-2.amazonaws.com",
		"ecs.us-west-2.amazonaws.com":         "https://ecs.us-west-2.amazonaws.com",
	}
	for in, want := range good {
		c, err := FromEnv(env(map[string]string{"ECS_BACKEND_HOST": in}))
		if err != nil || c.BackendHost != want {
			t.Errorf("%q: got %q, %v; want %q", in, c.BackendHost, err, want)
		}
	}
	for _, bad := range []string{"ftp://127.0.0.1", "http://", "http://:80", "https://host:99999", "http://u:p@host", "http://host/?x=1", "://x"} {
		_, err := FromEnv(env(map[string]string{"ECS_BACKEND_HOST": bad}))
		if err == nil || !strings.Contains(err.Error(), "ECS_BACKEND_HOST") || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: error %v does not name the variable and value", bad, err)
		}
	}
}

func TestDurationsBelowTheirMinimumWarn(t *testing.T) {
	c, err := FromEnv(env(map[string]string{"ECS_CONTAINER_STOP_TIMEOUT": "0s", "ECS_CONTAINER_START_TIMEOUT": "10s"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ContainerStopTimeout != time.Second || c.ContainerStartTimeout != 45*time.Second {
		t.Errorf("stop %v start %v, want the minimums", c.ContainerStopTimeout, c.ContainerStartTimeout)
	}
	if len(c.Warnings) != 2 || !strings.Contains(strings.Join(c.Warnings, " "), "ECS_CONTAINER_START_TIMEOUT") {
		t.Errorf("warnings %q", c.Warnings)
	}
	if _, err := FromEnv(env(map[string]string{"ECS_CONTAINER_STOP_TIMEOUT": "-1s"})); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("a negative stop timeout: %v", err)
	}
}

func TestBusPasswordsFromTheEnvironment(t *testing.T) {
	c, err := FromEnv(env(map[string]string{"ECS_BUS_PASSWORD_SESSION": "s3cret", "ECS_BUS_PASSWORD_BOGUS": "x"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.BusPasswords) != 1 || c.BusPasswords["session"] != "s3cret" {
		t.Errorf("bus passwords %v", c.BusPasswords)
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	cases := map[string]string{
		"ECS_RESERVED_PORTS":          "22,80",
		"ECS_RESERVED_MEMORY":         "-1",
		"ECS_LOGLEVEL":                "verbose",
		"ECS_CONTAINER_STOP_TIMEOUT":  "ten",
		"ECS_CHECKPOINT":              "maybe",
		"ECS_IMAGE_PULL_BEHAVIOR":     "sometimes",
		"ECS_DYNAMIC_HOST_PORT_RANGE": "9-2",
		"ECS_INSTANCE_ATTRIBUTES":     "[1]",
		"ECS_HOST_PORT_BIND_IP":       "localhost",
		"ECS_BACKEND_HOST":            "ftp://127.0.0.1:51700",
		"ECS_CONTAINER_START_TIMEOUT": "-5m",
		"ECS_IMAGE_PULL_TIMEOUT":      "forever",
		"ECS_BUS_URL":                 "127.0.0.1:4222",
		"DOCKER_HOST":                 "docker.sock",
		"ECS_ENABLE_TASK_IAM_ROLE":    "yes",
		"ECS_TASK_METADATA_RPS_LIMIT": "40",
		"ECS_TASK_ENDPOINT_PORT":      "0",
		"ECS_ENGINE_AUTH_TYPE":        "basic",
	}
	for k, v := range cases {
		_, err := FromEnv(env(map[string]string{k: v}))
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: error %v does not name the variable", k, v, err)
		}
	}
	_, err := FromEnv(env(map[string]string{"ECS_RESERVED_PORTS": "[70000]"}))
	if err == nil {
		t.Error("port 70000 accepted")
	}
}

func TestTaskRolesAndRegistryAuth(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.TaskIAMRole || c.TaskEndpointPort != 51679 || c.TaskMetadataRPS != 40 || c.TaskMetadataBurst != 60 {
		t.Errorf("defaults: role %v port %d rps %d,%d", c.TaskIAMRole, c.TaskEndpointPort, c.TaskMetadataRPS, c.TaskMetadataBurst)
	}
	c, err = FromEnv(env(map[string]string{
		"ECS_ENABLE_TASK_IAM_ROLE": "true", "ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST": "true",
		"ECS_TASK_METADATA_RPS_LIMIT": "5, 7", "ECS_TASK_ENDPOINT_PORT": "51779",
		"ECS_ENGINE_AUTH_TYPE": "dockercfg", "ECS_ENGINE_AUTH_DATA": `{"127.0.0.1:5000":{"auth":"dTpw"}}`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.TaskIAMRole || !c.TaskIAMRoleNetworkHost || c.TaskMetadataRPS != 5 || c.TaskMetadataBurst != 7 || c.TaskEndpointPort != 51779 {
		t.Errorf("%+v", c)
	}
	if c.EngineAuthType != "dockercfg" || !strings.Contains(c.EngineAuthData, "dTpw") {
		t.Errorf("engine auth %q", c.EngineAuthType)
	}
	// The auth data is never quoted back, not even when it is malformed.
	_, err = FromEnv(env(map[string]string{"ECS_ENGINE_AUTH_TYPE": "docker", "ECS_ENGINE_AUTH_DATA": "s3cret-not-json"}))
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "ECS_ENGINE_AUTH_DATA") {
		t.Errorf("malformed auth data: %v", err)
	}
	if _, err = FromEnv(env(map[string]string{"ECS_ENGINE_AUTH_TYPE": "docker"})); err == nil {
		t.Error("an auth type without data accepted")
	}
}

func TestParseEnvFile(t *testing.T) {
	vars := ParseEnvFile(strings.NewReader("ECS_CLUSTER = a=b\n# comment\nnoequals\n\nECS_LOGLEVEL=debug\n"))
	if vars["ECS_CLUSTER"] != "a=b" || vars["ECS_LOGLEVEL"] != "debug" || len(vars) != 2 {
		t.Fatalf("%v", vars)
	}
}

// Task engine: dependency pulls and cleanup timing.
func TestTaskEngineTiming(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.PullDependentContainersUpfront || c.TaskCleanupWaitJitter != 0 {
		t.Errorf("defaults: upfront %v jitter %v", c.PullDependentContainersUpfront, c.TaskCleanupWaitJitter)
	}
	c, err = FromEnv(env(map[string]string{
		"ECS_PULL_DEPENDENT_CONTAINERS_UPFRONT": "true", "ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION_JITTER": "90s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.PullDependentContainersUpfront || c.TaskCleanupWaitJitter != 90*time.Second {
		t.Errorf("upfront %v jitter %v", c.PullDependentContainersUpfront, c.TaskCleanupWaitJitter)
	}
	for k, v := range map[string]string{
		"ECS_PULL_DEPENDENT_CONTAINERS_UPFRONT":        "yes please",
		"ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION_JITTER": "-1m",
	} {
		if _, err := FromEnv(env(map[string]string{k: v})); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
}
