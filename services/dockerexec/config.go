package dockerexec

import (
	"time"

	"github.com/ecs-agent/ecs-agent/awsclient"
	"github.com/ecs-agent/ecs-agent/bus/config"
)

// Config is what dockerexec needs of the agent's configuration.
type Config struct {
	// DockerHost is the engine's address (DOCKER_HOST); empty means the Docker
	// client's own default.
	DockerHost string
	// Cluster is the configured cluster (ECS_CLUSTER): only containers labelled with
	// it are watched and acted on; empty means any agent container.
	Cluster string
	// HostPortBindIP is the host address container ports are published on
	// (ECS_HOST_PORT_BIND_IP, default 0.0.0.0).
	HostPortBindIP string
	// PullBehavior is used when a pull request names none (ECS_IMAGE_PULL_BEHAVIOR).
	PullBehavior string
	// StopTimeout is used when a stop request carries no timeout
	// (ECS_CONTAINER_STOP_TIMEOUT).
	StopTimeout time.Duration
	// PullTimeout bounds one whole pull, retries included.
	PullTimeout time.Duration
	// PullAttempts is how many times a failing pull is tried before it is reported;
	// errors that cannot heal (no such repository, denied) are not retried.
	PullAttempts int
	// PullRetryWait is the wait before the second attempt; it doubles after that.
	PullRetryWait time.Duration
	// CallTimeout bounds every other Docker call (create, start, inspect, …).
	CallTimeout time.Duration
	// DataDir is ECS_DATADIR, where the bus keeps the key the tasks' credentials
	// are sealed with.
	DataDir string
	// Region is the region of a secret whose reference names none.
	Region string
	// UserAgent is sent on every AWS call.
	UserAgent string
	// EngineAuthType and EngineAuthData are the instance's registry credentials
	// (ECS_ENGINE_AUTH_TYPE, ECS_ENGINE_AUTH_DATA).
	EngineAuthType, EngineAuthData string
	// SharedVolumeMatchFullConfig is ECS_SHARED_VOLUME_MATCH_FULL_CONFIG: an existing
	// shared volume a task autoprovisions must match its driver, options and labels.
	SharedVolumeMatchFullConfig bool
	// CgroupPath is ECS_CGROUP_PATH, where task cgroups are made.
	CgroupPath string
	// MaxInFlight is how many requests are served at once; further requests wait in
	// the bus subscription.
	MaxInFlight int
}

// Defaults used by ConfigFrom and filled in by New for zero fields.
const (
	defaultPullTimeout   = 2 * time.Hour // ECS_IMAGE_PULL_TIMEOUT's default
	defaultPullAttempts  = 3
	defaultPullRetryWait = time.Second
	defaultCallTimeout   = 4 * time.Minute // ECS_CONTAINER_CREATE_TIMEOUT's default
	defaultMaxInFlight   = 32
	defaultStopTimeout   = 30 * time.Second
)

// ConfigFrom takes dockerexec's settings out of the agent's configuration.
func ConfigFrom(c config.Config) Config {
	return Config{
		DockerHost:     c.DockerHost,
		Cluster:        c.Cluster,
		HostPortBindIP: c.HostPortBindIP,
		PullBehavior:   c.ImagePullBehavior,
		StopTimeout:    c.ContainerStopTimeout,
		PullTimeout:    c.ImagePullTimeout,
		PullAttempts:   defaultPullAttempts,
		PullRetryWait:  defaultPullRetryWait,
		CallTimeout:    max(c.ContainerCreateTimeout, c.ContainerStartTimeout),
		DataDir:        c.DataDir,
		Region:         c.Region,
		UserAgent:      awsclient.UserAgent(config.VersionString()),
		EngineAuthType: c.EngineAuthType,
		EngineAuthData: c.EngineAuthData,
		MaxInFlight:    defaultMaxInFlight,

		SharedVolumeMatchFullConfig: c.SharedVolumeMatchFullConfig,
		CgroupPath:                  c.CgroupPath,
	}
}

// withDefaults fills zero fields, so that a Config built by hand (tests, the
// all-in-one binary) works.
func (c Config) withDefaults() Config {
	if c.HostPortBindIP == "" {
		c.HostPortBindIP = "0.0.0.0"
	}
	if c.PullBehavior == "" {
		c.PullBehavior = PullDefault
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = defaultStopTimeout
	}
	if c.PullTimeout <= 0 {
		c.PullTimeout = defaultPullTimeout
	}
	if c.PullAttempts <= 0 {
		c.PullAttempts = defaultPullAttempts
	}
	if c.PullRetryWait <= 0 {
		c.PullRetryWait = defaultPullRetryWait
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = defaultCallTimeout
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = defaultMaxInFlight
	}
	return c
}
