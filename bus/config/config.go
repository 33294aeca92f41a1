// Package config is the agent's configuration: the real agent's variable names and
// defaults (PROTOCOL.md §6), loaded by pure functions and validated once.
//
// Precedence, lowest first: defaults < the real agent's JSON file
// (ECS_AGENT_CONFIG_FILE_PATH, default /etc/ecs_container_agent/config.json) < the
// KEY=VALUE file named by ECS_CONFIG_FILE (default /etc/ecs/ecs.config, as ecs-init
// reads it) < the process environment < command-line flags (applied by the mains;
// -loglevel only when ECS_LOGLEVEL is unset). A file missing at its default path is
// fine; one named elsewhere must exist.
//
// Every process of the agent reads the same configuration, so the pod's five
// containers and the all-in-one binary agree.
package config

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Version is the agent version this code implements the protocol of.
const Version = "1.105.1"

// DefaultConfigFile is the env file read when ECS_CONFIG_FILE is unset.
const DefaultConfigFile = "/etc/ecs/ecs.config"

// Config is every setting of the agent. Field comments name the variable.
type Config struct {
	Cluster          string // ECS_CLUSTER; "default" when unset (and then auto-created)
	ClusterSet       bool   // whether ECS_CLUSTER was given
	Region           string // AWS_DEFAULT_REGION (or AWS_REGION)
	AccessKeyID      string // AWS_ACCESS_KEY_ID
	SecretAccessKey  string // AWS_SECRET_ACCESS_KEY
	SessionToken     string // AWS_SESSION_TOKEN
	BackendHost      string // ECS_BACKEND_HOST; https:// is prepended when it has no scheme
	DockerHost       string // DOCKER_HOST
	ReservedPorts    []int  // ECS_RESERVED_PORTS
	ReservedPortsUDP []int  // ECS_RESERVED_PORTS_UDP
	ReservedMemory   int64  // ECS_RESERVED_MEMORY, MiB
	DataDir          string // ECS_DATADIR
	Checkpoint       bool   // ECS_CHECKPOINT; true when unset but ECS_DATADIR is set
	LogLevel         string // ECS_LOGLEVEL: crit, error, warn, info, debug
	LogFile          string // ECS_LOGFILE
	InstanceAttrs    map[string]string
	// ECS_INSTANCE_ATTRIBUTES
	InstanceTags map[string]string // ECS_CONTAINER_INSTANCE_TAGS, sent with the registration
	// ExcludeIPv6PortBinding is ECS_EXCLUDE_IPV6_PORTBINDING (default true): IPv6
	// host bindings are left out of what the agent reports.
	ExcludeIPv6PortBinding bool

	ContainerStopTimeout   time.Duration // ECS_CONTAINER_STOP_TIMEOUT, min 1s
	ImagePullTimeout       time.Duration // ECS_IMAGE_PULL_TIMEOUT: bounds one whole pull
	ContainerStartTimeout  time.Duration // ECS_CONTAINER_START_TIMEOUT, min 45s
	ContainerCreateTimeout time.Duration // ECS_CONTAINER_CREATE_TIMEOUT, min 1m
	TaskCleanupWait        time.Duration // ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION, min 1s
	ImagePullBehavior      string        // ECS_IMAGE_PULL_BEHAVIOR
	DynamicPortMin         int           // ECS_DYNAMIC_HOST_PORT_RANGE "min-max"
	DynamicPortMax         int
	LoggingDrivers         []string // ECS_AVAILABLE_LOGGING_DRIVERS
	DisablePrivileged      bool     // ECS_DISABLE_PRIVILEGED
	DisableHealthCheck     bool     // ECS_DISABLE_DOCKER_HEALTH_CHECK
	External               bool     // ECS_EXTERNAL
	UpdatesEnabled         bool     // ECS_UPDATES_ENABLED

	// Task IAM roles, the task endpoints and private registries.
	TaskIAMRole            bool // ECS_ENABLE_TASK_IAM_ROLE: advertise task roles (bridge mode)
	TaskIAMRoleNetworkHost bool // ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST: and in host mode
	// TaskEndpointPort is where the credentials and task metadata endpoints listen
	// (ECS_TASK_ENDPOINT_PORT, this project's addition; 51679 as the real agent).
	TaskEndpointPort int
	// TaskMetadataRPS and TaskMetadataBurst are ECS_TASK_METADATA_RPS_LIMIT
	// "steady,burst" (40,60): requests per second each task may make.
	TaskMetadataRPS   int
	TaskMetadataBurst int
	EngineAuthType    string // ECS_ENGINE_AUTH_TYPE: docker or dockercfg
	EngineAuthData    string // ECS_ENGINE_AUTH_DATA: JSON, per EngineAuthType (never log it)

	// Task engine: dependency pulls and cleanup timing.
	// PullDependentContainersUpfront pulls the images of containers that wait on
	// dependsOn before the dependency is met; only create and start wait
	// (ECS_PULL_DEPENDENT_CONTAINERS_UPFRONT, default false).
	PullDependentContainersUpfront bool
	// TaskCleanupWaitJitter is the upper bound of a random delay added to
	// TaskCleanupWait for each task (ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION_JITTER,
	// default none), so that tasks stopped together are not removed together.
	TaskCleanupWaitJitter time.Duration

	BusURL            string // ECS_BUS_URL, how a lone service reaches the pod's bus
	BusPort           int    // ECS_BUS_PORT, where ecs-bus listens (127.0.0.1)
	IntrospectionPort int    // ECS_INTROSPECTION_PORT (51678)
	MetricsPort       int    // ECS_METRICS_PORT (51680); 0 disables /metrics

	// Metrics of every process. The reporter serves ECS_METRICS_PORT (the all-in-one
	// agent serves every service's metrics there); each other process run alone
	// serves its own /metrics on 127.0.0.1 at one of these ports (0 disables it).
	BusMetricsPort        int // ECS_BUS_METRICS_PORT (51681)
	SessionMetricsPort    int // ECS_SESSION_METRICS_PORT (51682)
	SchedulerMetricsPort  int // ECS_SCHEDULER_METRICS_PORT (51683)
	DockerexecMetricsPort int // ECS_DOCKEREXEC_METRICS_PORT (51684)
	// HostPortBindIP is the host address container ports are published on
	// (ECS_HOST_PORT_BIND_IP, this project's addition; the real agent always uses
	// 0.0.0.0, which stays the default).
	HostPortBindIP string

	// Deployment: the process's behaviour under a container supervisor.
	// WaitOnTerminalError (ECS_WAIT_ON_TERMINAL_ERROR, false; this project's
	// addition): on an error a restart cannot mend (exit status 5), log it and wait
	// for SIGTERM before exiting 5, so that a container restart policy, which cannot
	// tell 5 from 1, does not restart the process in a loop. The compose pod sets it.
	WaitOnTerminalError bool

	// Docker volumes and task cgroups.
	//
	// SharedVolumeMatchFullConfig (ECS_SHARED_VOLUME_MATCH_FULL_CONFIG, false): an
	// existing shared volume a task autoprovisions must match its driver, options
	// and labels, not only its name.
	SharedVolumeMatchFullConfig bool
	// TaskCPUMemLimit (ECS_ENABLE_TASK_CPU_MEM_LIMIT, true): every task gets a
	// cgroup holding its task-level CPU and memory limits, its containers' parent.
	TaskCPUMemLimit bool
	// CgroupPath (ECS_CGROUP_PATH, /sys/fs/cgroup) is where the cgroup file system
	// is mounted.
	CgroupPath string
	// CgroupCPUPeriod (ECS_CGROUP_CPU_PERIOD, 100ms, 8ms-100ms) is the CFS period a
	// task's CPU quota is counted in.
	CgroupCPUPeriod time.Duration

	// BusPasswords are bus passwords given by the environment
	// (ECS_BUS_PASSWORD_<USER>, e.g. ECS_BUS_PASSWORD_SESSION), by lower-case user
	// name; a user without one uses its file under $ECS_DATADIR/bus/users.
	BusPasswords map[string]string

	// Telemetry (TCS, PROTOCOL.md §3): container metrics, container health and the
	// instance status, published by the reporter.
	//
	// DisableMetrics is ECS_DISABLE_METRICS (false): no PublishMetricsRequest, and no
	// Docker stats streamed for it. The TCS socket is still held: container health
	// (unless ECS_DISABLE_DOCKER_HEALTH_CHECK, DisableHealthCheck above) and the
	// instance status still go out on it, as with the real agent.
	DisableMetrics bool
	// PollMetrics is ECS_POLL_METRICS (true, the real agent's default since 1.40):
	// dockerexec polls each running container's stats (one reading every
	// PollingMetricsWaitDuration) instead of holding Docker's stats stream, which
	// costs dockerd and containerd a reading of every container every second.
	PollMetrics bool
	// PollingMetricsWaitDuration is ECS_POLLING_METRICS_WAIT_DURATION (10s; 5s-20s,
	// outside it the nearest bound with a warning).
	PollingMetricsWaitDuration time.Duration

	// Image lifecycle: stalled pulls and image cleanup (PROTOCOL.md §6.2, §6.3).
	//
	// ImagePullInactivityTimeout cancels a pull whose progress stream is silent that
	// long (ECS_IMAGE_PULL_INACTIVITY_TIMEOUT, 1m, min 1m).
	ImagePullInactivityTimeout time.Duration
	// ImageCleanupDisabled is ECS_DISABLE_IMAGE_CLEANUP (false).
	ImageCleanupDisabled bool
	// ImageCleanupInterval is ECS_IMAGE_CLEANUP_INTERVAL (30m). The real agent raises
	// values below 10m to 10m; here a shorter interval is used as given, with a
	// warning, so that tests and experiments need not wait ten minutes.
	ImageCleanupInterval time.Duration
	// ImageMinimumCleanupAge is how long after its pull an image of this agent may be
	// removed (ECS_IMAGE_MINIMUM_CLEANUP_AGE, 1h).
	ImageMinimumCleanupAge time.Duration
	// NonECSImageMinimumCleanupAge is the same for images the agent did not pull,
	// counted from their creation (NON_ECS_IMAGE_MINIMUM_CLEANUP_AGE, 1h).
	NonECSImageMinimumCleanupAge time.Duration
	// NumImagesDeletePerCycle is ECS_NUM_IMAGES_DELETE_PER_CYCLE (5).
	NumImagesDeletePerCycle int
	// NumNonECSContainersDeletePerCycle is NONECS_NUM_CONTAINERS_DELETE_PER_CYCLE (5):
	// stopped containers the agent did not create, removed per cycle when untracked
	// cleanup is on.
	NumNonECSContainersDeletePerCycle int
	// UntrackedImageCleanup is ECS_ENABLE_UNTRACKED_IMAGE_CLEANUP (false): also
	// remove images (and stopped containers) the agent did not make.
	UntrackedImageCleanup bool
	// ImageCleanupExclusions are images never removed (ECS_EXCLUDE_UNTRACKED_IMAGE,
	// a comma-separated list of references, or a JSON array).
	ImageCleanupExclusions []string

	// SkipTLSVerify is the -k flag.
	SkipTLSVerify bool

	// Credentials, the JSON config file and logging (issue 10).
	//
	// IMDSDisabled is the SDK's AWS_EC2_METADATA_DISABLED, read here too so that
	// the env file can set it: IMDS is never asked (no identity document, no
	// instance role, no region from it).
	IMDSDisabled bool
	// CredentialProfile is ECS_ALTERNATE_CREDENTIAL_PROFILE: the profile of the
	// shared config and credentials files used instead of AWS_PROFILE/default.
	CredentialProfile string
	// AgentConfigFile is ECS_AGENT_CONFIG_FILE_PATH, the real agent's JSON file
	// (/etc/ecs_container_agent/config.json; a missing default file is fine).
	AgentConfigFile string
	// NoIID is the JSON file's "NoIID": register without the identity document.
	NoIID bool
	// LogRolloverType (ECS_LOG_ROLLOVER_TYPE, hourly), LogMaxFileSizeMB
	// (ECS_LOG_MAX_FILE_SIZE_MB, 10, with size) and LogMaxRollCount
	// (ECS_LOG_MAX_ROLL_COUNT, 24) rotate ECS_LOGFILE.
	LogRolloverType  string
	LogMaxFileSizeMB float64
	LogMaxRollCount  int
	// LogLevelOnInstance is ECS_LOGLEVEL_ON_INSTANCE, the level of ECS_LOGFILE
	// (crit…debug, or off); empty: debug, everything.
	LogLevelOnInstance string
	// LogOutputFormat is ECS_LOG_OUTPUT_FORMAT: logfmt (default) or json.
	LogOutputFormat string
	// PrometheusMetrics is ECS_ENABLE_PROMETHEUS_METRICS (false, as the real
	// agent): without it no process serves /metrics, and the metrics ports are 0
	// (neither served nor reserved).
	PrometheusMetrics bool
	// RuntimeStats is ECS_ENABLE_RUNTIME_STATS (false, as the real agent): the Go
	// runtime's profiles under /debug/pprof/ on the introspection port (the
	// reporter, the all-in-one agent) and, for the other processes of the pod, on
	// their metrics ports, which then stay open even without PrometheusMetrics.
	RuntimeStats bool
	// logLevelSet: ECS_LOGLEVEL was given, so -loglevel does not apply.
	logLevelSet bool

	// Warnings are values that were accepted but changed (a duration below its
	// minimum raised to it); the caller logs them once the logger exists.
	Warnings []string
}

// BusUsers are the users whose passwords ECS_BUS_PASSWORD_<USER> may give.
var BusUsers = []string{"admin", "session", "scheduler", "dockerexec", "reporter", "viewer"}

// Defaults returns the configuration with nothing set.
func Defaults() Config {
	return Config{
		Cluster:                "default",
		DockerHost:             "unix:///var/run/docker.sock",
		ReservedPorts:          []int{22, 2375, 2376, 51678, 51679},
		ReservedPortsUDP:       []int{},
		DataDir:                "/data/",
		LogLevel:               "info",
		ContainerStopTimeout:   30 * time.Second,
		ImagePullTimeout:       2 * time.Hour,
		ContainerStartTimeout:  3 * time.Minute,
		ContainerCreateTimeout: 4 * time.Minute,
		TaskCleanupWait:        3 * time.Hour,
		ImagePullBehavior:      "default",
		DynamicPortMin:         49153,
		DynamicPortMax:         65535,
		LoggingDrivers:         []string{"json-file", "none"},
		BusURL:                 "nats://127.0.0.1:4222",
		BusPort:                4222,
		IntrospectionPort:      51678,
		MetricsPort:            51680,
		// Metrics of every process.
		BusMetricsPort:         51681,
		SessionMetricsPort:     51682,
		SchedulerMetricsPort:   51683,
		DockerexecMetricsPort:  51684,
		HostPortBindIP:         "0.0.0.0",
		TaskEndpointPort:       51679,
		ExcludeIPv6PortBinding: true,
		TaskMetadataRPS:        40,
		TaskMetadataBurst:      60,
		// Docker volumes and task cgroups.
		TaskCPUMemLimit: true,
		CgroupPath:      "/sys/fs/cgroup",
		CgroupCPUPeriod: 100 * time.Millisecond,

		// Image lifecycle.
		ImagePullInactivityTimeout:        time.Minute,
		ImageCleanupInterval:              30 * time.Minute,
		ImageMinimumCleanupAge:            time.Hour,
		NonECSImageMinimumCleanupAge:      time.Hour,
		NumImagesDeletePerCycle:           5,
		NumNonECSContainersDeletePerCycle: 5,

		// Credentials, the JSON config file and logging (issue 10).
		AgentConfigFile:  DefaultAgentConfigFile,
		LogRolloverType:  RolloverHourly,
		LogMaxFileSizeMB: 10,
		LogMaxRollCount:  24,
		LogOutputFormat:  "logfmt",
	}
}

// Lookup reads one variable, like os.LookupEnv.
type Lookup func(key string) (string, bool)

// Load reads, lowest first, the defaults, the real agent's JSON file
// (ECS_AGENT_CONFIG_FILE_PATH), the env file (ECS_CONFIG_FILE) and the process
// environment. A missing file is fine at its default path only.
func Load() (Config, error) {
	// The default path may be missing (the seed's docker run has no such file),
	// even when named explicitly; another path must exist.
	file := strings.TrimSpace(os.Getenv("ECS_CONFIG_FILE"))
	explicit := file != "" && file != DefaultConfigFile
	if file == "" {
		file = DefaultConfigFile
	}
	fileVars := map[string]string{}
	f, err := os.Open(file)
	switch {
	case err == nil:
		fileVars = ParseEnvFile(f)
		f.Close()
	case explicit || !errors.Is(err, os.ErrNotExist):
		return Config{}, fmt.Errorf("ECS_CONFIG_FILE=%q: %w", file, err)
	}
	envOrFile := func(k string) (string, bool) {
		if v, ok := lookupSet(k); ok {
			return v, true
		}
		v, ok := fileVars[k]
		return v, ok
	}
	jsonPath, _ := envOrFile("ECS_AGENT_CONFIG_FILE_PATH")
	jsonPath = strings.TrimSpace(jsonPath)
	jsonExplicit := jsonPath != "" && jsonPath != DefaultAgentConfigFile
	if jsonPath == "" {
		jsonPath = DefaultAgentConfigFile
	}
	jsonVars, err := readAgentFile(jsonPath, jsonExplicit)
	if err != nil {
		return Config{}, err
	}
	return FromEnv(Layers(lookupSet, fileVars, jsonVars))
}

// lookupSet reads the process environment; a variable set to nothing (docker run
// -e K=, compose's ${K:-}) is not set, so that the files' value applies.
func lookupSet(k string) (string, bool) {
	v, ok := os.LookupEnv(k)
	if !ok || strings.TrimSpace(v) == "" {
		return "", false
	}
	return v, true
}

// Layers looks a variable up in the environment, then in each map in turn. The
// JSON file's NoIID is found in the maps only.
func Layers(environ Lookup, maps ...map[string]string) Lookup {
	return func(k string) (string, bool) {
		if k != envNoIID {
			if v, ok := environ(k); ok {
				return v, true
			}
		}
		for _, m := range maps {
			if v, ok := m[k]; ok {
				return v, true
			}
		}
		return "", false
	}
}

// ParseEnvFile reads KEY=VALUE lines as ecs-init does: split at the first '=',
// whitespace trimmed, lines without '=' ignored; lines starting with '#' are
// comments.
func ParseEnvFile(r io.Reader) map[string]string {
	vars := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		vars[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return vars
}

// FromEnv builds and validates a Config from a lookup function. The first bad value
// stops it with an error naming the variable and the value.
func FromEnv(lookup Lookup) (Config, error) {
	c := Defaults()
	p := parser{lookup: lookup}
	if v, ok := p.str("ECS_CLUSTER"); ok {
		c.Cluster, c.ClusterSet = v, true
	}
	c.Region, _ = p.str("AWS_DEFAULT_REGION")
	if c.Region == "" {
		c.Region, _ = p.str("AWS_REGION")
	}
	c.AccessKeyID, _ = p.str("AWS_ACCESS_KEY_ID")
	c.SecretAccessKey, _ = p.str("AWS_SECRET_ACCESS_KEY")
	c.SessionToken, _ = p.str("AWS_SESSION_TOKEN")
	if v, ok := p.str("ECS_BACKEND_HOST"); ok {
		c.BackendHost = p.backendURL("ECS_BACKEND_HOST", v)
	}
	if v, ok := p.str("DOCKER_HOST"); ok {
		c.DockerHost = p.dockerHost("DOCKER_HOST", v)
	}
	p.ports("ECS_RESERVED_PORTS", &c.ReservedPorts)
	p.ports("ECS_RESERVED_PORTS_UDP", &c.ReservedPortsUDP)
	p.int64("ECS_RESERVED_MEMORY", &c.ReservedMemory, 0)
	datadirSet := false
	if v, ok := p.str("ECS_DATADIR"); ok {
		c.DataDir, datadirSet = v, true
	}
	c.Checkpoint = datadirSet
	p.boolean("ECS_CHECKPOINT", &c.Checkpoint)
	if v, ok := p.str("ECS_LOGLEVEL"); ok {
		c.LogLevel, c.logLevelSet = strings.ToLower(v), true
	}
	c.LogFile, _ = p.str("ECS_LOGFILE")
	if v, ok := p.str("ECS_INSTANCE_ATTRIBUTES"); ok {
		if err := json.Unmarshal([]byte(v), &c.InstanceAttrs); err != nil {
			p.fail("ECS_INSTANCE_ATTRIBUTES", v, "want a JSON object of strings")
		}
	}
	if v, ok := p.str("ECS_CONTAINER_INSTANCE_TAGS"); ok {
		if err := json.Unmarshal([]byte(v), &c.InstanceTags); err != nil {
			p.fail("ECS_CONTAINER_INSTANCE_TAGS", v, "want a JSON object of strings")
		}
		for k, val := range c.InstanceTags {
			switch {
			case k == "" || len(k) > 128:
				p.fail("ECS_CONTAINER_INSTANCE_TAGS", v, fmt.Sprintf("tag key %q must be 1-128 characters", k))
			case len(val) > 256:
				p.fail("ECS_CONTAINER_INSTANCE_TAGS", v, fmt.Sprintf("the value of tag %q is longer than 256 characters", k))
			case strings.HasPrefix(strings.ToLower(k), "aws:"):
				p.fail("ECS_CONTAINER_INSTANCE_TAGS", v, fmt.Sprintf("tag key %q uses the reserved prefix aws:", k))
			}
		}
		if len(c.InstanceTags) > 50 {
			p.fail("ECS_CONTAINER_INSTANCE_TAGS", v, "at most 50 tags")
		}
	}
	p.boolean("ECS_EXCLUDE_IPV6_PORTBINDING", &c.ExcludeIPv6PortBinding)
	p.duration("ECS_CONTAINER_STOP_TIMEOUT", &c.ContainerStopTimeout, time.Second)
	p.duration("ECS_IMAGE_PULL_TIMEOUT", &c.ImagePullTimeout, time.Second)
	p.duration("ECS_CONTAINER_START_TIMEOUT", &c.ContainerStartTimeout, 45*time.Second)
	p.duration("ECS_CONTAINER_CREATE_TIMEOUT", &c.ContainerCreateTimeout, time.Minute)
	p.duration("ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION", &c.TaskCleanupWait, time.Second)
	if v, ok := p.str("ECS_IMAGE_PULL_BEHAVIOR"); ok {
		switch v {
		case "default", "always", "once", "prefer-cached":
			c.ImagePullBehavior = v
		default:
			p.fail("ECS_IMAGE_PULL_BEHAVIOR", v, "want default, always, once or prefer-cached")
		}
	}
	if v, ok := p.str("ECS_DYNAMIC_HOST_PORT_RANGE"); ok {
		lo, hi, found := strings.Cut(v, "-")
		a, err1 := strconv.Atoi(strings.TrimSpace(lo))
		b, err2 := strconv.Atoi(strings.TrimSpace(hi))
		if !found || err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
			p.fail("ECS_DYNAMIC_HOST_PORT_RANGE", v, "want MIN-MAX within 1-65535")
		} else {
			c.DynamicPortMin, c.DynamicPortMax = a, b
		}
	}
	if v, ok := p.str("ECS_AVAILABLE_LOGGING_DRIVERS"); ok {
		if err := json.Unmarshal([]byte(v), &c.LoggingDrivers); err != nil {
			p.fail("ECS_AVAILABLE_LOGGING_DRIVERS", v, "want a JSON array of strings")
		}
	}
	p.boolean("ECS_DISABLE_PRIVILEGED", &c.DisablePrivileged)
	p.boolean("ECS_DISABLE_DOCKER_HEALTH_CHECK", &c.DisableHealthCheck)
	p.boolean("ECS_EXTERNAL", &c.External)
	p.boolean("ECS_UPDATES_ENABLED", &c.UpdatesEnabled)
	p.boolean("ECS_ENABLE_TASK_IAM_ROLE", &c.TaskIAMRole)
	p.boolean("ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST", &c.TaskIAMRoleNetworkHost)
	p.port("ECS_TASK_ENDPOINT_PORT", &c.TaskEndpointPort)
	if v, ok := p.str("ECS_TASK_METADATA_RPS_LIMIT"); ok {
		a, b, found := strings.Cut(v, ",")
		steady, err1 := strconv.Atoi(strings.TrimSpace(a))
		burst, err2 := strconv.Atoi(strings.TrimSpace(b))
		if !found || err1 != nil || err2 != nil || steady < 1 || burst < 1 {
			p.fail("ECS_TASK_METADATA_RPS_LIMIT", v, "want STEADY,BURST, two whole numbers >= 1, e.g. 40,60")
		} else {
			c.TaskMetadataRPS, c.TaskMetadataBurst = steady, burst
		}
	}
	p.engineAuth(&c)
	p.logging(&c) // credentials, the JSON config file and logging (issue 10)
	if v, ok := p.str("ECS_AGENT_CONFIG_FILE_PATH"); ok {
		c.AgentConfigFile = v
	}
	p.volumesAndCgroups(&c)
	p.imageLifecycle(&c)
	// Task engine: dependency pulls and cleanup timing.
	p.boolean("ECS_PULL_DEPENDENT_CONTAINERS_UPFRONT", &c.PullDependentContainersUpfront)
	p.duration("ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION_JITTER", &c.TaskCleanupWaitJitter, 0)
	// Deployment: the process's behaviour under a container supervisor.
	p.boolean("ECS_WAIT_ON_TERMINAL_ERROR", &c.WaitOnTerminalError)
	p.telemetry(&c)
	if v, ok := p.str("ECS_BUS_URL"); ok {
		c.BusURL = p.busURL("ECS_BUS_URL", v)
	}
	p.port("ECS_BUS_PORT", &c.BusPort)
	p.port("ECS_INTROSPECTION_PORT", &c.IntrospectionPort)
	// Metrics of every process: a port each, 0 disables it.
	p.metricsPort("ECS_METRICS_PORT", &c.MetricsPort)
	p.metricsPort("ECS_BUS_METRICS_PORT", &c.BusMetricsPort)
	p.metricsPort("ECS_SESSION_METRICS_PORT", &c.SessionMetricsPort)
	p.metricsPort("ECS_SCHEDULER_METRICS_PORT", &c.SchedulerMetricsPort)
	p.metricsPort("ECS_DOCKEREXEC_METRICS_PORT", &c.DockerexecMetricsPort)
	if v, ok := p.str("ECS_HOST_PORT_BIND_IP"); ok {
		if net.ParseIP(v) == nil {
			p.fail("ECS_HOST_PORT_BIND_IP", v, "want an IP address such as 127.0.0.1")
		} else {
			c.HostPortBindIP = v
		}
	}
	for _, u := range BusUsers {
		if v, ok := p.str("ECS_BUS_PASSWORD_" + strings.ToUpper(u)); ok {
			if c.BusPasswords == nil {
				c.BusPasswords = map[string]string{}
			}
			c.BusPasswords[u] = v
		}
	}
	if p.err != nil {
		return Config{}, p.err
	}
	if !c.PrometheusMetrics {
		c.MetricsPort = 0
		if !c.RuntimeStats {
			c.BusMetricsPort, c.SessionMetricsPort, c.SchedulerMetricsPort, c.DockerexecMetricsPort = 0, 0, 0, 0
		}
	}
	c.Warnings = p.warnings
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate checks values that depend on each other or on flags.
func (c Config) Validate() error {
	switch c.LogLevel {
	case "crit", "error", "warn", "info", "debug":
	default:
		return fmt.Errorf("ECS_LOGLEVEL=%q: want crit, error, warn, info or debug", c.LogLevel)
	}
	if c.Cluster == "" {
		return errors.New(`ECS_CLUSTER="": a cluster name must not be empty`)
	}
	return nil
}

type parser struct {
	lookup   Lookup
	err      error
	warnings []string
}

func (p *parser) fail(key, val, why string) {
	if p.err == nil {
		p.err = fmt.Errorf("%s=%q: %s", key, val, why)
	}
}

func (p *parser) str(key string) (string, bool) {
	v, ok := p.lookup(key)
	if !ok {
		return "", false
	}
	v = strings.TrimSpace(v)
	return v, v != ""
}

func (p *parser) boolean(key string, dst *bool) {
	if v, ok := p.str(key); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			p.fail(key, v, "want true or false")
			return
		}
		*dst = b
	}
}

func (p *parser) int64(key string, dst *int64, min int64) {
	if v, ok := p.str(key); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < min {
			p.fail(key, v, fmt.Sprintf("want a whole number >= %d", min))
			return
		}
		*dst = n
	}
}

func (p *parser) port(key string, dst *int) {
	if v, ok := p.str(key); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			p.fail(key, v, "want a port number from 1 to 65535")
			return
		}
		*dst = n
	}
}

// metricsPort reads a metrics port, where 0 disables the endpoint.
func (p *parser) metricsPort(key string, dst *int) {
	if v, ok := p.str(key); ok && v == "0" {
		*dst = 0
		return
	}
	p.port(key, dst)
}

// duration reads a Go duration. A negative one is an error; one below min (zero
// included) is raised to min with a warning, as the real agent raises it.
func (p *parser) duration(key string, dst *time.Duration, min time.Duration) {
	if v, ok := p.str(key); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			p.fail(key, v, "want a duration such as 30s, 10m or 3h")
			return
		}
		if d < 0 {
			p.fail(key, v, "a duration must not be negative")
			return
		}
		if d < min {
			p.warnings = append(p.warnings, fmt.Sprintf("%s=%q is below its minimum; using %s", key, v, min))
			d = min
		}
		*dst = d
	}
}

// backendURL reads an ECS endpoint: a URL with scheme http or https and a host, or a
// bare host[:port] to which https:// is prepended, as the real agent does.
func (p *parser) backendURL(key, v string) string {
	s := v
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		p.fail(key, v, "want a URL such as https://ecs.us-west-2.amazonaws.com or http://127.0.0.1:51700")
	case u.Scheme != "http" && u.Scheme != "https":
		p.fail(key, v, "the scheme must be http or https")
	case u.Host == "" || u.Hostname() == "":
		p.fail(key, v, "the URL has no host")
	case u.Port() != "" && !validPort(u.Port()):
		p.fail(key, v, "the port must be a number from 1 to 65535")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		p.fail(key, v, "the URL must not carry credentials, a query or a fragment")
	default:
		return s
	}
	return ""
}

// busURL reads the address of the pod's bus: nats://host:port.
func (p *parser) busURL(key, v string) string {
	u, err := url.Parse(v)
	switch {
	case err != nil || u.Scheme != "nats" && u.Scheme != "tls":
		p.fail(key, v, "want a URL such as nats://127.0.0.1:4222")
	case u.Hostname() == "":
		p.fail(key, v, "the URL has no host")
	case u.Port() != "" && !validPort(u.Port()):
		p.fail(key, v, "the port must be a number from 1 to 65535")
	default:
		return v
	}
	return ""
}

// dockerHost reads the Docker engine's address as the Docker client does:
// unix:///path, tcp://host:port, http(s)://host:port or ssh://[user@]host.
func (p *parser) dockerHost(key, v string) string {
	u, err := url.Parse(v)
	if err != nil {
		p.fail(key, v, "want an address such as unix:///var/run/docker.sock or tcp://127.0.0.1:2375")
		return ""
	}
	switch u.Scheme {
	case "unix", "npipe":
		if u.Path == "" {
			p.fail(key, v, "the socket path is missing")
			return ""
		}
	case "tcp", "http", "https", "ssh":
		if u.Hostname() == "" {
			p.fail(key, v, "the address has no host")
			return ""
		}
	default:
		p.fail(key, v, "the scheme must be unix, tcp, http, https or ssh")
		return ""
	}
	return v
}

// engineAuth reads ECS_ENGINE_AUTH_TYPE and ECS_ENGINE_AUTH_DATA. The data is
// checked for shape only, and never quoted in an error.
func (p *parser) engineAuth(c *Config) {
	typ, hasType := p.str("ECS_ENGINE_AUTH_TYPE")
	data, hasData := p.str("ECS_ENGINE_AUTH_DATA")
	if !hasType && !hasData {
		return
	}
	if !hasType || !hasData {
		p.fail("ECS_ENGINE_AUTH_TYPE", typ, "ECS_ENGINE_AUTH_TYPE and ECS_ENGINE_AUTH_DATA go together")
		return
	}
	switch typ {
	case "docker", "dockercfg":
	default:
		p.fail("ECS_ENGINE_AUTH_TYPE", typ, "want docker or dockercfg")
		return
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		p.fail("ECS_ENGINE_AUTH_DATA", "(not shown)", "want a JSON object of registries")
		return
	}
	c.EngineAuthType, c.EngineAuthData = typ, data
}

// Bounds of ECS_CGROUP_CPU_PERIOD, as the real agent has them.
const (
	minCgroupCPUPeriod = 8 * time.Millisecond
	maxCgroupCPUPeriod = 100 * time.Millisecond
)

// volumesAndCgroups reads the variables of Docker volumes and task cgroups. An
// ECS_CGROUP_CPU_PERIOD outside 8ms-100ms falls back to 100ms with a warning, as
// the real agent does.
func (p *parser) volumesAndCgroups(c *Config) {
	p.boolean("ECS_SHARED_VOLUME_MATCH_FULL_CONFIG", &c.SharedVolumeMatchFullConfig)
	p.boolean("ECS_ENABLE_TASK_CPU_MEM_LIMIT", &c.TaskCPUMemLimit)
	if v, ok := p.str("ECS_CGROUP_PATH"); ok {
		if !strings.HasPrefix(v, "/") {
			p.fail("ECS_CGROUP_PATH", v, "want an absolute path such as /sys/fs/cgroup")
		} else {
			c.CgroupPath = strings.TrimRight(v, "/")
			if c.CgroupPath == "" {
				c.CgroupPath = "/"
			}
		}
	}
	if v, ok := p.str("ECS_CGROUP_CPU_PERIOD"); ok {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			p.fail("ECS_CGROUP_CPU_PERIOD", v, "want a duration such as 100ms")
		case d < minCgroupCPUPeriod || d > maxCgroupCPUPeriod:
			p.warnings = append(p.warnings, fmt.Sprintf("ECS_CGROUP_CPU_PERIOD=%q is not within [%s, %s]; using %s",
				v, minCgroupCPUPeriod, maxCgroupCPUPeriod, Defaults().CgroupCPUPeriod))
		default:
			c.CgroupCPUPeriod = d
		}
	}
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535
}

func (p *parser) ports(key string, dst *[]int) {
	if v, ok := p.str(key); ok {
		var ports []int
		if err := json.Unmarshal([]byte(v), &ports); err != nil {
			p.fail(key, v, "want a JSON array of port numbers, e.g. [22, 2375]")
			return
		}
		for _, n := range ports {
			if n < 1 || n > 65535 {
				p.fail(key, v, fmt.Sprintf("port %d is outside 1-65535", n))
				return
			}
		}
		*dst = ports
	}
}

// telemetry reads the variables of the TCS client.
// Its defaults are set here too, to keep the feature in one place.
func (p *parser) telemetry(c *Config) {
	c.PollMetrics, c.PollingMetricsWaitDuration = true, 10*time.Second
	p.boolean("ECS_DISABLE_METRICS", &c.DisableMetrics)
	p.boolean("ECS_POLL_METRICS", &c.PollMetrics)
	p.duration("ECS_POLLING_METRICS_WAIT_DURATION", &c.PollingMetricsWaitDuration, 0)
	const lo, hi = 5 * time.Second, 20 * time.Second
	if v, ok := p.str("ECS_POLLING_METRICS_WAIT_DURATION"); ok && p.err == nil {
		if d := min(max(c.PollingMetricsWaitDuration, lo), hi); d != c.PollingMetricsWaitDuration {
			p.warnings = append(p.warnings, fmt.Sprintf("ECS_POLLING_METRICS_WAIT_DURATION=%q is not within [%s, %s]; using %s", v, lo, hi, d))
			c.PollingMetricsWaitDuration = d
		}
	}
}

// minImageCleanupInterval is the real agent's minimum ECS_IMAGE_CLEANUP_INTERVAL.
const minImageCleanupInterval = 10 * time.Minute

// imageLifecycle reads the variables of pull inactivity and image cleanup.
func (p *parser) imageLifecycle(c *Config) {
	p.duration("ECS_IMAGE_PULL_INACTIVITY_TIMEOUT", &c.ImagePullInactivityTimeout, time.Minute)
	p.boolean("ECS_DISABLE_IMAGE_CLEANUP", &c.ImageCleanupDisabled)
	p.duration("ECS_IMAGE_CLEANUP_INTERVAL", &c.ImageCleanupInterval, time.Second)
	if v, ok := p.str("ECS_IMAGE_CLEANUP_INTERVAL"); ok && c.ImageCleanupInterval < minImageCleanupInterval && p.err == nil {
		p.warnings = append(p.warnings, fmt.Sprintf(
			"ECS_IMAGE_CLEANUP_INTERVAL=%q is below the real agent's minimum of %s; using it as given", v, minImageCleanupInterval))
	}
	p.duration("ECS_IMAGE_MINIMUM_CLEANUP_AGE", &c.ImageMinimumCleanupAge, 0)
	p.duration("NON_ECS_IMAGE_MINIMUM_CLEANUP_AGE", &c.NonECSImageMinimumCleanupAge, 0)
	p.count("ECS_NUM_IMAGES_DELETE_PER_CYCLE", &c.NumImagesDeletePerCycle)
	p.count("NONECS_NUM_CONTAINERS_DELETE_PER_CYCLE", &c.NumNonECSContainersDeletePerCycle)
	p.boolean("ECS_ENABLE_UNTRACKED_IMAGE_CLEANUP", &c.UntrackedImageCleanup)
	if v, ok := p.str("ECS_EXCLUDE_UNTRACKED_IMAGE"); ok {
		var list []string
		if strings.HasPrefix(v, "[") {
			if err := json.Unmarshal([]byte(v), &list); err != nil {
				p.fail("ECS_EXCLUDE_UNTRACKED_IMAGE", v, "want image references separated by commas, or a JSON array of strings")
				return
			}
		} else {
			list = strings.Split(v, ",")
		}
		for _, ref := range list {
			if ref = strings.TrimSpace(ref); ref != "" {
				c.ImageCleanupExclusions = append(c.ImageCleanupExclusions, ref)
			}
		}
	}
}

// count reads a whole number >= 1.
func (p *parser) count(key string, dst *int) {
	if v, ok := p.str(key); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			p.fail(key, v, "want a whole number >= 1")
			return
		}
		*dst = n
	}
}
