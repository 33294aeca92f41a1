package config

// Credentials, the JSON config file and logging (issue 10).
//
// The real agent's JSON configuration file (ECS_AGENT_CONFIG_FILE_PATH, default
// /etc/ecs_container_agent/config.json) is keyed by the Go field names of its
// config struct ({"Cluster":"x","AWSRegion":"…","NoIID":true}). Its values are
// turned into the environment variable each field stands for and go through the
// same parsing and checks, below the env file and the environment.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultAgentConfigFile is the real agent's JSON file when
// ECS_AGENT_CONFIG_FILE_PATH is unset.
const DefaultAgentConfigFile = "/etc/ecs_container_agent/config.json"

// jsonKind says how a JSON field's value becomes its variable's text.
type jsonKind int

const (
	jsonText     jsonKind = iota // a string, a number or a boolean, as written
	jsonDuration                 // a number of nanoseconds (Go's time.Duration) or a duration string
	jsonRaw                      // an array or an object, kept as JSON
	jsonPull                     // ImagePullBehavior: 0-3, or the variable's words
)

// jsonFields maps the real agent's config field names to the variables this agent
// reads. A field of the real agent that has no variable here is ignored, as the
// real agent ignores unknown fields.
var jsonFields = map[string]struct {
	env  string
	kind jsonKind
}{
	"Cluster":                             {"ECS_CLUSTER", jsonText},
	"ClusterArn":                          {"ECS_CLUSTER", jsonText}, // deprecated alias
	"AWSRegion":                           {"AWS_DEFAULT_REGION", jsonText},
	"APIEndpoint":                         {"ECS_BACKEND_HOST", jsonText},
	"DockerEndpoint":                      {"DOCKER_HOST", jsonText},
	"ReservedPorts":                       {"ECS_RESERVED_PORTS", jsonRaw},
	"ReservedPortsUDP":                    {"ECS_RESERVED_PORTS_UDP", jsonRaw},
	"ReservedMemory":                      {"ECS_RESERVED_MEMORY", jsonText},
	"DataDir":                             {"ECS_DATADIR", jsonText},
	"Checkpoint":                          {"ECS_CHECKPOINT", jsonText},
	"EngineAuthType":                      {"ECS_ENGINE_AUTH_TYPE", jsonText},
	"EngineAuthData":                      {"ECS_ENGINE_AUTH_DATA", jsonRaw},
	"UpdatesEnabled":                      {"ECS_UPDATES_ENABLED", jsonText},
	"DisableDockerHealthCheck":            {"ECS_DISABLE_DOCKER_HEALTH_CHECK", jsonText},
	"DockerStopTimeout":                   {"ECS_CONTAINER_STOP_TIMEOUT", jsonDuration},
	"ContainerStartTimeout":               {"ECS_CONTAINER_START_TIMEOUT", jsonDuration},
	"ContainerCreateTimeout":              {"ECS_CONTAINER_CREATE_TIMEOUT", jsonDuration},
	"ImagePullTimeout":                    {"ECS_IMAGE_PULL_TIMEOUT", jsonDuration},
	"ImagePullInactivityTimeout":          {"ECS_IMAGE_PULL_INACTIVITY_TIMEOUT", jsonDuration},
	"AvailableLoggingDrivers":             {"ECS_AVAILABLE_LOGGING_DRIVERS", jsonRaw},
	"PrivilegedDisabled":                  {"ECS_DISABLE_PRIVILEGED", jsonText},
	"TaskCleanupWaitDuration":             {"ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION", jsonDuration},
	"TaskCleanupWaitDurationJitter":       {"ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION_JITTER", jsonDuration},
	"TaskIAMRoleEnabled":                  {"ECS_ENABLE_TASK_IAM_ROLE", jsonText},
	"TaskIAMRoleEnabledForNetworkHost":    {"ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST", jsonText},
	"DeleteNonECSImagesEnabled":           {"ECS_ENABLE_UNTRACKED_IMAGE_CLEANUP", jsonText},
	"TaskCPUMemLimit":                     {"ECS_ENABLE_TASK_CPU_MEM_LIMIT", jsonText},
	"ImageCleanupDisabled":                {"ECS_DISABLE_IMAGE_CLEANUP", jsonText},
	"MinimumImageDeletionAge":             {"ECS_IMAGE_MINIMUM_CLEANUP_AGE", jsonDuration},
	"NonECSMinimumImageDeletionAge":       {"NON_ECS_IMAGE_MINIMUM_CLEANUP_AGE", jsonDuration},
	"ImageCleanupInterval":                {"ECS_IMAGE_CLEANUP_INTERVAL", jsonDuration},
	"NumImagesToDeletePerCycle":           {"ECS_NUM_IMAGES_DELETE_PER_CYCLE", jsonText},
	"NumNonECSContainersToDeletePerCycle": {"NONECS_NUM_CONTAINERS_DELETE_PER_CYCLE", jsonText},
	"ImagePullBehavior":                   {"ECS_IMAGE_PULL_BEHAVIOR", jsonPull},
	"ImageCleanupExclusionList":           {"ECS_EXCLUDE_UNTRACKED_IMAGE", jsonRaw},
	"InstanceAttributes":                  {"ECS_INSTANCE_ATTRIBUTES", jsonRaw},
	"ContainerInstanceTags":               {"ECS_CONTAINER_INSTANCE_TAGS", jsonRaw},
	"PrometheusMetricsEnabled":            {"ECS_ENABLE_PROMETHEUS_METRICS", jsonText},
	"EnableRuntimeStats":                  {"ECS_ENABLE_RUNTIME_STATS", jsonText},
	"CgroupPath":                          {"ECS_CGROUP_PATH", jsonText},
	"CgroupCPUPeriod":                     {"ECS_CGROUP_CPU_PERIOD", jsonDuration},
	"TaskMetadataSteadyStateRate":         {"", jsonText}, // with TaskMetadataBurstRate, below
	"TaskMetadataBurstRate":               {"", jsonText},
	"SharedVolumeMatchFullConfig":         {"ECS_SHARED_VOLUME_MATCH_FULL_CONFIG", jsonText},
	"DependentContainersPullUpfront":      {"ECS_PULL_DEPENDENT_CONTAINERS_UPFRONT", jsonText},
	"ShouldExcludeIPv6PortBinding":        {"ECS_EXCLUDE_IPV6_PORTBINDING", jsonText},
	"External":                            {"ECS_EXTERNAL", jsonText},
	"NoIID":                               {envNoIID, jsonText},
}

// envNoIID is not a variable of the real agent: NoIID is set by the JSON file only.
// The name carries it through the lookup layer; it is never read from the
// environment.
const envNoIID = "\x00NoIID"

// readAgentFile reads the JSON file into variables. A missing file is fine when it
// is the default path; an explicit one must exist.
func readAgentFile(path string, explicit bool) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
	case !explicit && errors.Is(err, os.ErrNotExist):
		return map[string]string{}, nil
	default:
		return nil, fmt.Errorf("ECS_AGENT_CONFIG_FILE_PATH=%q: %w", path, err)
	}
	vars, err := ParseAgentJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("ECS_AGENT_CONFIG_FILE_PATH=%q: %w", path, err)
	}
	return vars, nil
}

// ParseAgentJSON turns the real agent's JSON configuration into variables.
func ParseAgentJSON(raw []byte) (map[string]string, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return map[string]string{}, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names) // ClusterArn before Cluster: the current name wins
	vars := map[string]string{}
	for _, name := range names {
		f, ok := jsonFields[name]
		if !ok || f.env == "" || string(fields[name]) == "null" {
			continue
		}
		v, err := jsonValue(fields[name], f.kind)
		if err != nil {
			return nil, fmt.Errorf("field %s (%s): %w", name, f.env, err)
		}
		vars[f.env] = v
	}
	steady, hasSteady := fields["TaskMetadataSteadyStateRate"]
	burst, hasBurst := fields["TaskMetadataBurstRate"]
	if hasSteady || hasBurst {
		s, b := "40", "60"
		if hasSteady {
			s = strings.TrimSpace(string(steady))
		}
		if hasBurst {
			b = strings.TrimSpace(string(burst))
		}
		vars["ECS_TASK_METADATA_RPS_LIMIT"] = s + "," + b
	}
	return vars, nil
}

var pullBehaviors = []string{"default", "always", "once", "prefer-cached"}

func jsonValue(raw json.RawMessage, kind jsonKind) (string, error) {
	var s string
	isString := json.Unmarshal(raw, &s) == nil
	switch kind {
	case jsonRaw:
		if isString {
			return s, nil // already the variable's text
		}
		return string(raw), nil
	case jsonDuration:
		if isString {
			return s, nil
		}
		var n float64
		if err := json.Unmarshal(raw, &n); err != nil || n != math.Trunc(n) {
			return "", errors.New("want a whole number of nanoseconds or a duration such as \"30s\"")
		}
		return time.Duration(int64(n)).String(), nil
	case jsonPull:
		if isString {
			return s, nil
		}
		var n int
		if err := json.Unmarshal(raw, &n); err != nil || n < 0 || n >= len(pullBehaviors) {
			return "", errors.New("want 0 (default), 1 (always), 2 (once) or 3 (prefer-cached)")
		}
		return pullBehaviors[n], nil
	}
	if isString {
		return s, nil
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return strconv.FormatBool(b), nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), nil
	}
	return "", errors.New("want a string, a number or a boolean")
}

// Log rollover types: size, or hourly (the real agent's "date", its default).
const (
	RolloverHourly = "hourly"
	RolloverSize   = "size"
)

// logging reads the log variables and the other variables of this block.
func (p *parser) logging(c *Config) {
	c.CredentialProfile, _ = p.str("ECS_ALTERNATE_CREDENTIAL_PROFILE")
	if v, ok := p.str("ECS_LOG_ROLLOVER_TYPE"); ok {
		switch strings.ToLower(v) {
		case "hourly", "date":
			c.LogRolloverType = RolloverHourly
		case "size":
			c.LogRolloverType = RolloverSize
		default:
			p.fail("ECS_LOG_ROLLOVER_TYPE", v, "want hourly or size")
		}
	}
	if v, ok := p.str("ECS_LOG_MAX_FILE_SIZE_MB"); ok {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || n <= 0 || math.IsInf(n, 0) {
			p.fail("ECS_LOG_MAX_FILE_SIZE_MB", v, "want a size in MB greater than 0, e.g. 10")
		} else {
			c.LogMaxFileSizeMB = n
		}
	}
	p.count("ECS_LOG_MAX_ROLL_COUNT", &c.LogMaxRollCount)
	if v, ok := p.str("ECS_LOGLEVEL_ON_INSTANCE"); ok {
		v = strings.ToLower(v)
		switch v {
		case "crit", "error", "warn", "info", "debug", "off":
			c.LogLevelOnInstance = v
		default:
			p.fail("ECS_LOGLEVEL_ON_INSTANCE", v, "want crit, error, warn, info, debug or off")
		}
	}
	if v, ok := p.str("ECS_LOG_OUTPUT_FORMAT"); ok {
		switch strings.ToLower(v) {
		case "logfmt", "json":
			c.LogOutputFormat = strings.ToLower(v)
		default:
			p.fail("ECS_LOG_OUTPUT_FORMAT", v, "want logfmt or json")
		}
	}
	p.boolean("ECS_ENABLE_PROMETHEUS_METRICS", &c.PrometheusMetrics)
	p.boolean("ECS_ENABLE_RUNTIME_STATS", &c.RuntimeStats)
	p.boolean("AWS_EC2_METADATA_DISABLED", &c.IMDSDisabled)
	p.boolean(envNoIID, &c.NoIID)
	if v, ok := p.str("ECS_UPDATES_ENABLED"); ok && c.UpdatesEnabled {
		p.warnings = append(p.warnings, fmt.Sprintf("ECS_UPDATES_ENABLED=%q: this agent does not update itself; "+
			"StageUpdate and PerformUpdate messages are refused (\"Updates are disabled\")", v))
	}
}
