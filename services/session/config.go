package session

import (
	"errors"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"slices"
	"time"

	"github.com/ecs-agent/ecs-agent/bus/config"
)

// Config is what the session needs of the agent's configuration, plus the timers of
// PROTOCOL.md §1–2 so that tests can shorten them.
type Config struct {
	Cluster    string // ECS_CLUSTER, or "default"
	ClusterSet bool   // whether ECS_CLUSTER was given (only then is "default" not auto-created)

	// Region, AccessKeyID, SecretAccessKey and SessionToken are the configured
	// region and keys (AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID…); what is empty comes
	// from the SDK's default chain (shared files, AWS_PROFILE, the instance role
	// through IMDS) and, for the region, the instance identity document.
	Region          string
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// CredentialProfile is ECS_ALTERNATE_CREDENTIAL_PROFILE.
	CredentialProfile string
	BackendHost       string // ECS_BACKEND_HOST; empty means the SDK's regional endpoint
	SkipTLSVerify     bool   // -k

	// NoCheckpoint is ECS_CHECKPOINT=false: the stored registration is not reused, so
	// every start registers a new container instance, as the real agent does without
	// its state file.
	NoCheckpoint bool

	ReservedPorts    []int             // ECS_RESERVED_PORTS
	ReservedPortsUDP []int             // ECS_RESERVED_PORTS_UDP
	ReservedMemory   int64             // ECS_RESERVED_MEMORY, MiB
	InstanceAttrs    map[string]string // ECS_INSTANCE_ATTRIBUTES, sent on first registration only
	InstanceTags     map[string]string // ECS_CONTAINER_INSTANCE_TAGS, sent with every registration

	LoggingDrivers     []string // ECS_AVAILABLE_LOGGING_DRIVERS
	DisablePrivileged  bool     // ECS_DISABLE_PRIVILEGED
	DisableHealthCheck bool     // ECS_DISABLE_DOCKER_HEALTH_CHECK
	External           bool     // ECS_EXTERNAL
	NoIID              bool     // the JSON file's NoIID: no identity document at registration
	IMDSDisabled       bool     // AWS_EC2_METADATA_DISABLED (from the env file too)
	// TaskIAMRole and TaskIAMRoleNetworkHost advertise task IAM roles
	// (ECS_ENABLE_TASK_IAM_ROLE, ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST).
	TaskIAMRole            bool
	TaskIAMRoleNetworkHost bool

	// DataDir is ECS_DATADIR, where the bus keeps the key the credentials are
	// sealed with.
	DataDir string

	// AgentVersion and AgentVersionString identify the agent in the ACS URL, the
	// User-Agent and the stored Registration. AgentHash is the short source hash
	// sent as agentHash; DockerVersion, when known, is sent as dockerVersion.
	AgentVersion       string
	AgentVersionString string
	AgentHash          string
	DockerVersion      string

	// MemInfoPath is where the host's memory total is read (/proc/meminfo).
	MemInfoPath string
	// NumCPU is the number of logical CPUs to register; 0 means runtime.NumCPU().
	NumCPU int

	Timers Timers

	// Metrics is where the session registers its Prometheus metrics (the ACS
	// connection's state, reconnects, messages); nil keeps them unexported.
	Metrics prometheus.Registerer
}

// Timers are the session's waits. A zero duration is replaced by its default in New,
// except the jitters, where zero means no jitter (ConfigFrom sets the real ones).
type Timers struct {
	// Registration retries on transient errors: RegisterBackoffMin doubling up to
	// RegisterBackoffMax (plus 0–20 % jitter), for at most RegisterRetryFor.
	RegisterBackoffMin time.Duration // 3 s
	RegisterBackoffMax time.Duration // 192 s
	RegisterRetryFor   time.Duration // 1 h

	// ACS reconnects after a failure: ReconnectBackoffMin ×1.5 up to
	// ReconnectBackoffMax plus 0–20 % jitter, reset once a connection has lasted
	// BackoffResetAfter.
	ReconnectBackoffMin time.Duration // 250 ms
	ReconnectBackoffMax time.Duration // 2 min
	BackoffResetAfter   time.Duration // 1 min

	// A connection with no recognised message for Inactivity + rand(InactivityJitter)
	// is closed.
	Inactivity       time.Duration // 1 min
	InactivityJitter time.Duration // 1 min
	// A connection older than MaxConnAge + rand(MaxConnAgeJitter) is closed and
	// opened again.
	MaxConnAge       time.Duration // 30 min
	MaxConnAgeJitter time.Duration // 5 min

	// InactiveInstanceWait is the pause after the control plane says the instance
	// was deregistered.
	InactiveInstanceWait time.Duration // 1 h
	// EndpointCacheTTL is how long a DiscoverPollEndpoint answer is reused.
	EndpointCacheTTL time.Duration // 12 h
	// HandshakeTimeout bounds the websocket dial and upgrade; ReadDeadline bounds
	// every read and write.
	HandshakeTimeout time.Duration // 30 s
	// DockerVersionWait is how long the first ACS connection waits for dockerexec to
	// tell the engine's version (sent as dockerVersion).
	DockerVersionWait time.Duration // 5 s
	// DiscoverWait is how long a session without a stored registration waits for
	// dockerexec to list the cluster's containers (DESIGN.md §4.3).
	DiscoverWait time.Duration // 30 s
	ReadDeadline time.Duration // 3 min
	// APITimeout bounds one HTTP round trip to the ECS API.
	APITimeout time.Duration // 42 s
	// IdentityRetryFor is how long the instance identity document is asked for
	// before registering without one (on EC2, not in external mode).
	IdentityRetryFor time.Duration // 30 s
}

// DefaultTimers are the real agent's values.
func DefaultTimers() Timers {
	return Timers{
		RegisterBackoffMin:   3 * time.Second,
		RegisterBackoffMax:   192 * time.Second,
		RegisterRetryFor:     time.Hour,
		ReconnectBackoffMin:  250 * time.Millisecond,
		ReconnectBackoffMax:  2 * time.Minute,
		BackoffResetAfter:    time.Minute,
		Inactivity:           time.Minute,
		InactivityJitter:     time.Minute,
		MaxConnAge:           30 * time.Minute,
		MaxConnAgeJitter:     5 * time.Minute,
		InactiveInstanceWait: time.Hour,
		EndpointCacheTTL:     12 * time.Hour,
		HandshakeTimeout:     30 * time.Second,
		DockerVersionWait:    5 * time.Second,
		DiscoverWait:         30 * time.Second,
		ReadDeadline:         3 * time.Minute,
		APITimeout:           42 * time.Second,
		IdentityRetryFor:     30 * time.Second,
	}
}

// withDefaults fills every zero, non-jitter duration with its default.
func (t Timers) withDefaults() Timers {
	d := DefaultTimers()
	for _, p := range []struct{ v, def *time.Duration }{
		{&t.RegisterBackoffMin, &d.RegisterBackoffMin},
		{&t.RegisterBackoffMax, &d.RegisterBackoffMax},
		{&t.RegisterRetryFor, &d.RegisterRetryFor},
		{&t.ReconnectBackoffMin, &d.ReconnectBackoffMin},
		{&t.ReconnectBackoffMax, &d.ReconnectBackoffMax},
		{&t.BackoffResetAfter, &d.BackoffResetAfter},
		{&t.Inactivity, &d.Inactivity},
		{&t.MaxConnAge, &d.MaxConnAge},
		{&t.InactiveInstanceWait, &d.InactiveInstanceWait},
		{&t.EndpointCacheTTL, &d.EndpointCacheTTL},
		{&t.HandshakeTimeout, &d.HandshakeTimeout},
		{&t.DockerVersionWait, &d.DockerVersionWait},
		{&t.DiscoverWait, &d.DiscoverWait},
		{&t.ReadDeadline, &d.ReadDeadline},
		{&t.APITimeout, &d.APITimeout},
		{&t.IdentityRetryFor, &d.IdentityRetryFor},
	} {
		if *p.v <= 0 {
			*p.v = *p.def
		}
	}
	return t
}

// ConfigFrom takes the session's settings from the agent's configuration.
func ConfigFrom(c config.Config) Config {
	return Config{
		Cluster:           c.Cluster,
		ClusterSet:        c.ClusterSet,
		Region:            c.Region,
		AccessKeyID:       c.AccessKeyID,
		SecretAccessKey:   c.SecretAccessKey,
		SessionToken:      c.SessionToken,
		CredentialProfile: c.CredentialProfile,
		BackendHost:       c.BackendHost,
		SkipTLSVerify:     c.SkipTLSVerify,
		NoCheckpoint:      !c.Checkpoint,
		ReservedPorts: withAgentPorts(c.ReservedPorts, c.IntrospectionPort, c.TaskEndpointPort, c.MetricsPort,
			c.BusMetricsPort, c.SessionMetricsPort, c.SchedulerMetricsPort, c.DockerexecMetricsPort),
		ReservedPortsUDP:       c.ReservedPortsUDP,
		ReservedMemory:         c.ReservedMemory,
		InstanceAttrs:          c.InstanceAttrs,
		InstanceTags:           c.InstanceTags,
		LoggingDrivers:         c.LoggingDrivers,
		DisablePrivileged:      c.DisablePrivileged,
		DisableHealthCheck:     c.DisableHealthCheck,
		External:               c.External,
		NoIID:                  c.NoIID,
		IMDSDisabled:           c.IMDSDisabled,
		TaskIAMRole:            c.TaskIAMRole,
		TaskIAMRoleNetworkHost: c.TaskIAMRoleNetworkHost,
		DataDir:                c.DataDir,
		AgentVersion:           config.Version,
		AgentVersionString:     config.VersionString(),
		AgentHash:              config.GitHash(),
		MemInfoPath:            "/proc/meminfo",
		Timers:                 DefaultTimers(),
	}
}

// withAgentPorts adds the agent's own listening ports (introspection, the task
// endpoints, every process's metrics when enabled) to the reserved ones, as the real agent does, so
// that no task is placed on them.
func withAgentPorts(reserved []int, ports ...int) []int {
	out := append([]int{}, reserved...)
	for _, p := range ports {
		if p > 0 && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// ErrConfig classifies a configuration the session cannot run with.
var ErrConfig = errors.New("bad configuration")

func (c Config) validate() error {
	switch {
	case (c.AccessKeyID == "") != (c.SecretAccessKey == ""):
		return fmt.Errorf("%w: %s", ErrConfig, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together: set both, or neither to use the shared credentials file or the instance role")
	case c.Cluster == "":
		return fmt.Errorf("%w: %s", ErrConfig, `ECS_CLUSTER="": a cluster name must not be empty`)
	case c.ReservedMemory < 0:
		return fmt.Errorf("%w: %s", ErrConfig, "ECS_RESERVED_MEMORY must not be negative")
	}
	return nil
}
