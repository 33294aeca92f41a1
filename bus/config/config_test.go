package config

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
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
		"ECS_CONTAINER_INSTANCE_TAGS": `{"aws:x":"1"}`,
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

func TestInstanceTags(t *testing.T) {
	c, err := FromEnv(env(map[string]string{"ECS_CONTAINER_INSTANCE_TAGS": `{"team":"infra","env":"prod"}`}))
	if err != nil || len(c.InstanceTags) != 2 || c.InstanceTags["team"] != "infra" {
		t.Fatalf("%v %v", c.InstanceTags, err)
	}
	if _, err := FromEnv(env(map[string]string{"ECS_CONTAINER_INSTANCE_TAGS": `["team"]`})); err == nil {
		t.Error("a list accepted as tags")
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

// Docker volumes and task cgroups.
func TestVolumesAndCgroups(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.SharedVolumeMatchFullConfig || !c.TaskCPUMemLimit || c.CgroupPath != "/sys/fs/cgroup" || c.CgroupCPUPeriod != 100*time.Millisecond {
		t.Errorf("defaults: match %v, limits %v, path %q, period %v",
			c.SharedVolumeMatchFullConfig, c.TaskCPUMemLimit, c.CgroupPath, c.CgroupCPUPeriod)
	}
	c, err = FromEnv(env(map[string]string{
		"ECS_SHARED_VOLUME_MATCH_FULL_CONFIG": "true", "ECS_ENABLE_TASK_CPU_MEM_LIMIT": "false",
		"ECS_CGROUP_PATH": "/host/cgroup/", "ECS_CGROUP_CPU_PERIOD": "10ms",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.SharedVolumeMatchFullConfig || c.TaskCPUMemLimit || c.CgroupPath != "/host/cgroup" || c.CgroupCPUPeriod != 10*time.Millisecond {
		t.Errorf("set: match %v, limits %v, path %q, period %v",
			c.SharedVolumeMatchFullConfig, c.TaskCPUMemLimit, c.CgroupPath, c.CgroupCPUPeriod)
	}
	c, err = FromEnv(env(map[string]string{"ECS_CGROUP_CPU_PERIOD": "1s"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.CgroupCPUPeriod != 100*time.Millisecond || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "ECS_CGROUP_CPU_PERIOD") {
		t.Errorf("a period out of range: %v, warnings %q", c.CgroupCPUPeriod, c.Warnings)
	}
	for k, v := range map[string]string{
		"ECS_SHARED_VOLUME_MATCH_FULL_CONFIG": "sometimes",
		"ECS_ENABLE_TASK_CPU_MEM_LIMIT":       "on",
		"ECS_CGROUP_PATH":                     "sys/fs/cgroup",
		"ECS_CGROUP_CPU_PERIOD":               "fast",
	} {
		_, err := FromEnv(env(map[string]string{k: v}))
		if err == nil || !strings.Contains(err.Error(), k) || !strings.Contains(err.Error(), v) {
			t.Errorf("%s=%s: error %v does not name the variable and the value", k, v, err)
		}
	}
}

func TestImageLifecycle(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.ImagePullInactivityTimeout != time.Minute || c.ImageCleanupDisabled || c.ImageCleanupInterval != 30*time.Minute ||
		c.ImageMinimumCleanupAge != time.Hour || c.NonECSImageMinimumCleanupAge != time.Hour ||
		c.NumImagesDeletePerCycle != 5 || c.NumNonECSContainersDeletePerCycle != 5 ||
		c.UntrackedImageCleanup || len(c.ImageCleanupExclusions) != 0 {
		t.Errorf("defaults %+v", c)
	}
	c, err = FromEnv(env(map[string]string{
		"ECS_IMAGE_PULL_INACTIVITY_TIMEOUT": "5m", "ECS_DISABLE_IMAGE_CLEANUP": "true",
		"ECS_IMAGE_CLEANUP_INTERVAL": "45m", "ECS_IMAGE_MINIMUM_CLEANUP_AGE": "2s",
		"NON_ECS_IMAGE_MINIMUM_CLEANUP_AGE": "3h", "ECS_NUM_IMAGES_DELETE_PER_CYCLE": "7",
		"NONECS_NUM_CONTAINERS_DELETE_PER_CYCLE": "2", "ECS_ENABLE_UNTRACKED_IMAGE_CLEANUP": "true",
		"ECS_EXCLUDE_UNTRACKED_IMAGE": "alpine:latest, 127.0.0.1:5000/keep:1",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ImagePullInactivityTimeout != 5*time.Minute || !c.ImageCleanupDisabled || c.ImageCleanupInterval != 45*time.Minute ||
		c.ImageMinimumCleanupAge != 2*time.Second || c.NonECSImageMinimumCleanupAge != 3*time.Hour ||
		c.NumImagesDeletePerCycle != 7 || c.NumNonECSContainersDeletePerCycle != 2 || !c.UntrackedImageCleanup {
		t.Errorf("values %+v", c)
	}
	if len(c.ImageCleanupExclusions) != 2 || c.ImageCleanupExclusions[1] != "127.0.0.1:5000/keep:1" {
		t.Errorf("exclusions %q", c.ImageCleanupExclusions)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings %q", c.Warnings)
	}
	c, err = FromEnv(env(map[string]string{"ECS_EXCLUDE_UNTRACKED_IMAGE": `["a:1","b:2"]`}))
	if err != nil || len(c.ImageCleanupExclusions) != 2 || c.ImageCleanupExclusions[0] != "a:1" {
		t.Errorf("JSON exclusions %q, %v", c.ImageCleanupExclusions, err)
	}

	// The inactivity timeout is raised to its minimum; a short cleanup interval is
	// used as given, with a warning naming the real agent's minimum.
	c, err = FromEnv(env(map[string]string{"ECS_IMAGE_PULL_INACTIVITY_TIMEOUT": "10s", "ECS_IMAGE_CLEANUP_INTERVAL": "2s"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ImagePullInactivityTimeout != time.Minute || c.ImageCleanupInterval != 2*time.Second {
		t.Errorf("inactivity %v interval %v", c.ImagePullInactivityTimeout, c.ImageCleanupInterval)
	}
	if w := strings.Join(c.Warnings, " "); len(c.Warnings) != 2 || !strings.Contains(w, "ECS_IMAGE_PULL_INACTIVITY_TIMEOUT") ||
		!strings.Contains(w, "ECS_IMAGE_CLEANUP_INTERVAL") || !strings.Contains(w, "10m") {
		t.Errorf("warnings %q", c.Warnings)
	}

	for k, v := range map[string]string{
		"ECS_IMAGE_PULL_INACTIVITY_TIMEOUT":      "soon",
		"ECS_DISABLE_IMAGE_CLEANUP":              "sometimes",
		"ECS_IMAGE_CLEANUP_INTERVAL":             "-1m",
		"ECS_IMAGE_MINIMUM_CLEANUP_AGE":          "an hour",
		"NON_ECS_IMAGE_MINIMUM_CLEANUP_AGE":      "1d",
		"ECS_NUM_IMAGES_DELETE_PER_CYCLE":        "0",
		"NONECS_NUM_CONTAINERS_DELETE_PER_CYCLE": "five",
		"ECS_ENABLE_UNTRACKED_IMAGE_CLEANUP":     "on",
		"ECS_EXCLUDE_UNTRACKED_IMAGE":            `[1,2]`,
	} {
		_, err := FromEnv(env(map[string]string{k: v}))
		if err == nil || !strings.Contains(err.Error(), k) || !strings.Contains(err.Error(), v) {
			t.Errorf("%s=%s: error %v does not name the variable and the value", k, v, err)
		}
	}
}

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

// Metrics of every process: a port each, defaults 51680-51684, 0 disables.
func TestMetricsPorts(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	// Without ECS_ENABLE_PROMETHEUS_METRICS no process serves /metrics.
	if got := []int{c.MetricsPort, c.BusMetricsPort, c.SessionMetricsPort, c.SchedulerMetricsPort, c.DockerexecMetricsPort}; !reflect.DeepEqual(got, []int{0, 0, 0, 0, 0}) {
		t.Errorf("metrics ports %v without ECS_ENABLE_PROMETHEUS_METRICS", got)
	}
	c, err = FromEnv(env(map[string]string{"ECS_ENABLE_PROMETHEUS_METRICS": "true"}))
	if err != nil {
		t.Fatal(err)
	}
	got := []int{c.MetricsPort, c.BusMetricsPort, c.SessionMetricsPort, c.SchedulerMetricsPort, c.DockerexecMetricsPort}
	for i, want := range []int{51680, 51681, 51682, 51683, 51684} {
		if got[i] != want {
			t.Errorf("defaults = %v", got)
		}
	}
	c, err = FromEnv(env(map[string]string{
		"ECS_ENABLE_PROMETHEUS_METRICS": "true",
		"ECS_METRICS_PORT":              "0", "ECS_BUS_METRICS_PORT": "9001", "ECS_SESSION_METRICS_PORT": "0",
		"ECS_SCHEDULER_METRICS_PORT": "9003", "ECS_DOCKEREXEC_METRICS_PORT": "9004",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.MetricsPort != 0 || c.BusMetricsPort != 9001 || c.SessionMetricsPort != 0 || c.SchedulerMetricsPort != 9003 || c.DockerexecMetricsPort != 9004 {
		t.Errorf("ports = %+v", c)
	}
	// The runtime profiles keep the pod's metrics ports open without /metrics; the
	// reporter's profiles are on the introspection port.
	c, err = FromEnv(env(map[string]string{"ECS_ENABLE_RUNTIME_STATS": "true"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := []int{c.MetricsPort, c.BusMetricsPort, c.SessionMetricsPort, c.SchedulerMetricsPort, c.DockerexecMetricsPort}; !c.RuntimeStats || !reflect.DeepEqual(got, []int{0, 51681, 51682, 51683, 51684}) {
		t.Errorf("ECS_ENABLE_RUNTIME_STATS=true: runtime stats %v, ports %v", c.RuntimeStats, got)
	}
	if _, err := FromEnv(env(map[string]string{"ECS_ENABLE_RUNTIME_STATS": "sometimes"})); err == nil || !strings.Contains(err.Error(), "ECS_ENABLE_RUNTIME_STATS") {
		t.Errorf("a bad ECS_ENABLE_RUNTIME_STATS: %v", err)
	}
	for _, k := range []string{"ECS_BUS_METRICS_PORT", "ECS_SESSION_METRICS_PORT", "ECS_SCHEDULER_METRICS_PORT", "ECS_DOCKEREXEC_METRICS_PORT"} {
		if _, err := FromEnv(env(map[string]string{k: "70000"})); err == nil || !strings.Contains(err.Error(), k) || !strings.Contains(err.Error(), "70000") {
			t.Errorf("%s=70000: %v", k, err)
		}
	}
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAgentJSONFilePrecedence(t *testing.T) {
	js := writeFile(t, "config.json", `{"Cluster":"from-json","AWSRegion":"eu-west-1","ReservedMemory":128,
		"DockerStopTimeout":45000000000,"ImagePullBehavior":3,"InstanceAttributes":{"stack":"json"},
		"TaskMetadataBurstRate":90,"NoIID":true,"PrivilegedDisabled":true,"UnknownField":1,
		"EngineAuthType":"docker","EngineAuthData":{"reg":{"username":"u","password":"p"}}}`)
	envFile := writeFile(t, "ecs.config", "ECS_RESERVED_MEMORY=256\nECS_AGENT_CONFIG_FILE_PATH="+js+"\nECS_LOGLEVEL=warn\n")
	t.Setenv("ECS_CONFIG_FILE", envFile)
	t.Setenv("ECS_LOGLEVEL", "debug")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case c.Cluster != "from-json" || !c.ClusterSet || c.Region != "eu-west-1":
		t.Errorf("cluster %q region %q: the JSON file is not read", c.Cluster, c.Region)
	case c.ReservedMemory != 256:
		t.Errorf("reserved memory %d: the env file must win over the JSON file", c.ReservedMemory)
	case c.LogLevel != "debug":
		t.Errorf("log level %q: the environment must win over the env file", c.LogLevel)
	case c.ContainerStopTimeout != 45*time.Second || c.ImagePullBehavior != "prefer-cached":
		t.Errorf("stop timeout %v, pull behavior %q", c.ContainerStopTimeout, c.ImagePullBehavior)
	case c.InstanceAttrs["stack"] != "json" || c.TaskMetadataRPS != 40 || c.TaskMetadataBurst != 90:
		t.Errorf("attributes %v, rps %d,%d", c.InstanceAttrs, c.TaskMetadataRPS, c.TaskMetadataBurst)
	case !c.NoIID || !c.DisablePrivileged || c.EngineAuthType != "docker" || !strings.Contains(c.EngineAuthData, `"username":"u"`):
		t.Errorf("NoIID %v privileged %v auth %q", c.NoIID, c.DisablePrivileged, c.EngineAuthType)
	case c.AgentConfigFile != js:
		t.Errorf("AgentConfigFile %q", c.AgentConfigFile)
	}
}

func TestAgentJSONFileErrors(t *testing.T) {
	t.Setenv("ECS_CONFIG_FILE", writeFile(t, "ecs.config", ""))
	// The default path may be absent; an explicit one must exist.
	t.Setenv("ECS_AGENT_CONFIG_FILE_PATH", "")
	if _, err := os.Stat(DefaultAgentConfigFile); os.IsNotExist(err) {
		if _, err := Load(); err != nil {
			t.Fatalf("missing default JSON file: %v", err)
		}
	}
	if _, err := os.Stat(DefaultConfigFile); os.IsNotExist(err) {
		t.Setenv("ECS_CONFIG_FILE", DefaultConfigFile)
		if _, err := Load(); err != nil {
			t.Fatalf("ECS_CONFIG_FILE naming the missing default path: %v", err)
		}
		t.Setenv("ECS_CONFIG_FILE", writeFile(t, "ecs.config", ""))
	}
	missing := filepath.Join(t.TempDir(), "nope.json")
	t.Setenv("ECS_AGENT_CONFIG_FILE_PATH", missing)
	if _, err := Load(); err == nil || !strings.Contains(err.Error(), "ECS_AGENT_CONFIG_FILE_PATH") {
		t.Fatalf("missing explicit JSON file: %v", err)
	}
	for text, want := range map[string]string{
		`{"Cluster":`:                  "not a JSON object",
		`{"DockerStopTimeout":true}`:   "DockerStopTimeout (ECS_CONTAINER_STOP_TIMEOUT)",
		`{"ImagePullBehavior":7}`:      "ImagePullBehavior",
		`{"ReservedPorts":[22,70000]}`: "ECS_RESERVED_PORTS",
		`{"Checkpoint":"maybe"}`:       "ECS_CHECKPOINT",
	} {
		t.Setenv("ECS_AGENT_CONFIG_FILE_PATH", writeFile(t, "bad.json", text))
		if _, err := Load(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming %s", text, err, want)
		}
	}
}

func TestLoggingVariables(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.LogRolloverType != "hourly" || c.LogMaxFileSizeMB != 10 || c.LogMaxRollCount != 24 || c.LogOutputFormat != "logfmt" ||
		c.LogLevelOnInstance != "" || c.PrometheusMetrics || c.IMDSDisabled {
		t.Errorf("defaults %+v", c)
	}
	c, err = FromEnv(env(map[string]string{
		"ECS_LOG_ROLLOVER_TYPE": "size", "ECS_LOG_MAX_FILE_SIZE_MB": "2.5", "ECS_LOG_MAX_ROLL_COUNT": "3",
		"ECS_LOGLEVEL_ON_INSTANCE": "OFF", "ECS_LOG_OUTPUT_FORMAT": "json", "ECS_ENABLE_PROMETHEUS_METRICS": "true",
		"ECS_ALTERNATE_CREDENTIAL_PROFILE": "ops", "AWS_EC2_METADATA_DISABLED": "true",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.LogRolloverType != "size" || c.LogMaxFileSizeMB != 2.5 || c.LogMaxRollCount != 3 || c.LogLevelOnInstance != "off" ||
		c.LogOutputFormat != "json" || !c.PrometheusMetrics || c.CredentialProfile != "ops" || !c.IMDSDisabled {
		t.Errorf("values %+v", c)
	}
	for k, v := range map[string]string{
		"ECS_LOG_ROLLOVER_TYPE": "weekly", "ECS_LOG_MAX_FILE_SIZE_MB": "0", "ECS_LOG_MAX_ROLL_COUNT": "-1",
		"ECS_LOGLEVEL_ON_INSTANCE": "loud", "ECS_LOG_OUTPUT_FORMAT": "xml", "ECS_ENABLE_PROMETHEUS_METRICS": "yes please",
	} {
		if _, err := FromEnv(env(map[string]string{k: v})); err == nil || !strings.Contains(err.Error(), k+"=") {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
}

func TestLogLevelVariableOverridesTheFlag(t *testing.T) {
	t.Setenv("ECS_CONFIG_FILE", writeFile(t, "ecs.config", ""))
	t.Setenv("ECS_AGENT_CONFIG_FILE_PATH", writeFile(t, "config.json", "{}"))
	t.Setenv("ECS_LOGLEVEL", "warn")
	c, _, err := Parse("test", []string{"-loglevel", "debug"}, io.Discard)
	if err != nil || c.LogLevel != "warn" {
		t.Fatalf("level %q, err %v: ECS_LOGLEVEL must win", c.LogLevel, err)
	}
	t.Setenv("ECS_LOGLEVEL", "")
	os.Unsetenv("ECS_LOGLEVEL")
	c, _, err = Parse("test", []string{"-loglevel", "debug"}, io.Discard)
	if err != nil || c.LogLevel != "debug" {
		t.Fatalf("level %q, err %v: -loglevel applies when ECS_LOGLEVEL is unset", c.LogLevel, err)
	}
	if _, _, err := Parse("test", []string{"-loglevel", "chatty"}, io.Discard); err == nil || !strings.Contains(err.Error(), "-loglevel") {
		t.Fatalf("bad -loglevel: %v", err)
	}
}

func TestWaitOnTerminalError(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil || c.WaitOnTerminalError {
		t.Fatalf("default: %v %v", c.WaitOnTerminalError, err)
	}
	if c, err = FromEnv(env(map[string]string{"ECS_WAIT_ON_TERMINAL_ERROR": "true"})); err != nil || !c.WaitOnTerminalError {
		t.Fatalf("true: %v %v", c.WaitOnTerminalError, err)
	}
	if _, err := FromEnv(env(map[string]string{"ECS_WAIT_ON_TERMINAL_ERROR": "forever"})); err == nil ||
		!strings.Contains(err.Error(), `ECS_WAIT_ON_TERMINAL_ERROR="forever"`) {
		t.Fatalf("bad value: %v", err)
	}
}

func TestLoadWithoutTheDefaultFile(t *testing.T) {
	if _, err := os.Stat(DefaultConfigFile); err == nil {
		t.Skipf("%s exists on this machine", DefaultConfigFile)
	}
	t.Setenv("ECS_CONFIG_FILE", "")
	if _, err := Load(); err != nil {
		t.Fatalf("Load without %s: %v", DefaultConfigFile, err)
	}
}

func TestEmptyVariableLeavesTheFileValue(t *testing.T) {
	file := t.TempDir() + "/ecs.config"
	if err := os.WriteFile(file, []byte("ECS_BACKEND_HOST=http://127.0.0.1:51700\nECS_CLUSTER=from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ECS_CONFIG_FILE", file)
	t.Setenv("ECS_BACKEND_HOST", "")
	t.Setenv("ECS_CLUSTER", "env")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.BackendHost != "http://127.0.0.1:51700" || c.Cluster != "env" {
		t.Fatalf("backend %q cluster %q, want the file's backend and the environment's cluster", c.BackendHost, c.Cluster)
	}
}

func TestTelemetry(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DisableMetrics || c.DisableHealthCheck || !c.PollMetrics || c.PollingMetricsWaitDuration != 10*time.Second {
		t.Errorf("telemetry defaults: %+v", c)
	}
	for v, want := range map[string]time.Duration{"2s": 5 * time.Second, "15s": 15 * time.Second, "1m": 20 * time.Second} {
		c, err := FromEnv(env(map[string]string{"ECS_POLL_METRICS": "false", "ECS_POLLING_METRICS_WAIT_DURATION": v}))
		if err != nil || c.PollMetrics || c.PollingMetricsWaitDuration != want {
			t.Errorf("ECS_POLLING_METRICS_WAIT_DURATION=%s: %v, %v %s, want %s", v, err, c.PollMetrics, c.PollingMetricsWaitDuration, want)
		}
	}
	c, err = FromEnv(env(map[string]string{"ECS_DISABLE_METRICS": "true", "ECS_DISABLE_DOCKER_HEALTH_CHECK": "true"}))
	if err != nil || !c.DisableMetrics || !c.DisableHealthCheck {
		t.Errorf("ECS_DISABLE_METRICS=true: %v, %+v", err, c)
	}
	_, err = FromEnv(env(map[string]string{"ECS_DISABLE_METRICS": "sometimes"}))
	if err == nil || !strings.Contains(err.Error(), "ECS_DISABLE_METRICS") || !strings.Contains(err.Error(), "sometimes") {
		t.Errorf("a bad ECS_DISABLE_METRICS: %v", err)
	}
}
