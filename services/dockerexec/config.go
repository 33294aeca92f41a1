package dockerexec

import (
	"runtime"
	"time"

	"github.com/ecs-agent/ecs-agent/awsclient"
	"github.com/ecs-agent/ecs-agent/bus/config"
)

// Config is what dockerexec needs of the agent's configuration.
type Config struct {
	// StatsPoll (ECS_POLL_METRICS) polls each container's stats every
	// StatsPollInterval (ECS_POLLING_METRICS_WAIT_DURATION) for the TCS client
	// instead of holding Docker's stats stream.
	StatsPoll         bool
	StatsPollInterval time.Duration
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
	// ExcludeIPv6PortBinding leaves IPv6 host bindings out of container states
	// (ECS_EXCLUDE_IPV6_PORTBINDING, default true).
	ExcludeIPv6PortBinding bool
	// MaxInFlight is how many requests are served at once; further requests wait in
	// the bus subscription.
	MaxInFlight int
	// EngineSlots is how many container creates, starts and removes the engine is
	// asked for at once, starts first (gate.go); 0 takes two per core. (On two
	// cores and fuse-overlayfs, bursts of 20 and 100 measured with 2, 4 and 8 slots:
	// 4 came within 4-19 % of the best direct parallelism, with the first container
	// of a burst started 0.4-0.5 s after the payload; 2 started it sooner, 8 later.)
	EngineSlots int

	// Image lifecycle.
	//
	// PullInactivityTimeout cancels a pull whose progress stream stays silent that
	// long (ECS_IMAGE_PULL_INACTIVITY_TIMEOUT); the attempt counts as failed.
	PullInactivityTimeout time.Duration
	// ImageCleanup is how unused images are removed; see cleanup.go.
	ImageCleanup ImageCleanupConfig
}

// ImageCleanupConfig is the image cleanup of the real agent's image manager
// (ECS_DISABLE_IMAGE_CLEANUP and the variables beside it, PROTOCOL.md §6.3). Zero
// fields take the real agent's defaults, but for Interval, whose zero means the
// default 30m: a test may set any shorter interval here, and the configuration
// package lets ECS_IMAGE_CLEANUP_INTERVAL go below the real agent's 10m minimum
// with a warning.
type ImageCleanupConfig struct {
	Disabled bool
	Interval time.Duration
	// MinimumAge is how long after its pull (or first use, for an image found in
	// the cache) a tracked image may be removed.
	MinimumAge time.Duration
	// NonECSMinimumAge is the same for untracked images, counted from their
	// creation.
	NonECSMinimumAge time.Duration
	// ImagesPerCycle caps the images removed per cycle, tracked and untracked.
	ImagesPerCycle int
	// NonECSContainersPerCycle caps the stopped untracked containers removed per
	// cycle.
	NonECSContainersPerCycle int
	// Untracked lets cleanup remove images and stopped containers that are not the
	// agent's.
	Untracked bool
	// Exclude are image references never removed.
	Exclude []string
	// AgeSet says that a zero MinimumAge or NonECSMinimumAge is meant (ConfigFrom
	// sets it); otherwise a zero age is the default 1h.
	AgeSet bool
}

// Defaults used by ConfigFrom and filled in by New for zero fields.
const (
	defaultPullTimeout   = 2 * time.Hour // ECS_IMAGE_PULL_TIMEOUT's default
	defaultPullAttempts  = 3
	defaultPullRetryWait = time.Second
	defaultCallTimeout   = 4 * time.Minute // ECS_CONTAINER_CREATE_TIMEOUT's default
	defaultMaxInFlight   = 32
	defaultStopTimeout   = 30 * time.Second

	defaultPullInactivityTimeout = time.Minute
	defaultImageCleanupInterval  = 30 * time.Minute
	defaultImageCleanupAge       = time.Hour
	defaultImagesPerCycle        = 5
)

// ConfigFrom takes dockerexec's settings out of the agent's configuration.
func ConfigFrom(c config.Config) Config {
	return Config{
		DockerHost:             c.DockerHost,
		Cluster:                c.Cluster,
		HostPortBindIP:         c.HostPortBindIP,
		ExcludeIPv6PortBinding: c.ExcludeIPv6PortBinding,
		PullBehavior:           c.ImagePullBehavior,
		StopTimeout:            c.ContainerStopTimeout,
		PullTimeout:            c.ImagePullTimeout,
		PullAttempts:           defaultPullAttempts,
		PullRetryWait:          defaultPullRetryWait,
		CallTimeout:            max(c.ContainerCreateTimeout, c.ContainerStartTimeout),
		DataDir:                c.DataDir,
		Region:                 c.Region,
		UserAgent:              awsclient.UserAgent(config.VersionString()),
		EngineAuthType:         c.EngineAuthType,
		EngineAuthData:         c.EngineAuthData,
		MaxInFlight:            defaultMaxInFlight,

		SharedVolumeMatchFullConfig: c.SharedVolumeMatchFullConfig,
		CgroupPath:                  c.CgroupPath,
		PullInactivityTimeout:       c.ImagePullInactivityTimeout,
		StatsPoll:                   c.PollMetrics,
		StatsPollInterval:           c.PollingMetricsWaitDuration,
		ImageCleanup: ImageCleanupConfig{
			Disabled:                 c.ImageCleanupDisabled,
			Interval:                 c.ImageCleanupInterval,
			MinimumAge:               c.ImageMinimumCleanupAge,
			NonECSMinimumAge:         c.NonECSImageMinimumCleanupAge,
			ImagesPerCycle:           c.NumImagesDeletePerCycle,
			NonECSContainersPerCycle: c.NumNonECSContainersDeletePerCycle,
			Untracked:                c.UntrackedImageCleanup,
			Exclude:                  c.ImageCleanupExclusions,
			AgeSet:                   true,
		},
	}
}

// withDefaults fills zero fields, so that a Config built by hand (tests, the
// all-in-one binary) works.
func (c Config) withDefaults() Config {
	if c.StatsPollInterval <= 0 {
		c.StatsPollInterval = 10 * time.Second
	}
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
	if c.EngineSlots <= 0 {
		c.EngineSlots = 2 * runtime.NumCPU()
	}
	if c.PullInactivityTimeout <= 0 {
		c.PullInactivityTimeout = defaultPullInactivityTimeout
	}
	ic := &c.ImageCleanup
	if ic.Interval <= 0 {
		ic.Interval = defaultImageCleanupInterval
	}
	if !ic.AgeSet && ic.MinimumAge == 0 {
		ic.MinimumAge = defaultImageCleanupAge
	}
	if !ic.AgeSet && ic.NonECSMinimumAge == 0 {
		ic.NonECSMinimumAge = defaultImageCleanupAge
	}
	if ic.ImagesPerCycle <= 0 {
		ic.ImagesPerCycle = defaultImagesPerCycle
	}
	if ic.NonECSContainersPerCycle <= 0 {
		ic.NonECSContainersPerCycle = defaultImagesPerCycle
	}
	return c
}
