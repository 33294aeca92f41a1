package scheduler

import (
	"github.com/prometheus/client_golang/prometheus"
	"time"

	"github.com/ecs-agent/ecs-agent/bus/config"
)

// Config is what the scheduler needs of the agent's configuration. What the host
// offers tasks (CPU, memory, reserved ports) is not in it: the session computes it
// once and registers it, and the scheduler admits against the registration.
type Config struct {
	// ImagePullBehavior is passed to every pull (ECS_IMAGE_PULL_BEHAVIOR).
	ImagePullBehavior string
	// PullTimeout bounds one pull (ECS_IMAGE_PULL_TIMEOUT).
	PullTimeout time.Duration
	// StopTimeout is the grace period of a stop when the container sets none
	// (ECS_CONTAINER_STOP_TIMEOUT).
	StopTimeout time.Duration
	// StartTimeout and CreateTimeout bound a start and a create
	// (ECS_CONTAINER_START_TIMEOUT, ECS_CONTAINER_CREATE_TIMEOUT).
	StartTimeout, CreateTimeout time.Duration
	// CleanupWait is how long a STOPPED task is kept before its containers are
	// removed (ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION).
	CleanupWait time.Duration
	// DynamicPortMin and DynamicPortMax bound the host ports chosen for hostPort 0
	// (ECS_DYNAMIC_HOST_PORT_RANGE).
	DynamicPortMin, DynamicPortMax int
	// HostPortBindIP is where container ports are published (ECS_HOST_PORT_BIND_IP):
	// a dynamic port is one free there.
	HostPortBindIP string
	// Region is given to containers as AWS_REGION and AWS_DEFAULT_REGION unless
	// they set them.
	Region string
	// InspectInterval is how often running containers are inspected to catch
	// missed events (5 minutes as the real agent, plus jitter).
	InspectInterval time.Duration
	// TaskCPUMemLimit gives every task a cgroup with its limits
	// (ECS_ENABLE_TASK_CPU_MEM_LIMIT); CgroupCPUPeriod is the CFS period its CPU
	// quota is counted in (ECS_CGROUP_CPU_PERIOD).
	TaskCPUMemLimit bool
	CgroupCPUPeriod time.Duration
	// PullUpfront pulls images before dependsOn is met
	// (ECS_PULL_DEPENDENT_CONTAINERS_UPFRONT).
	PullUpfront bool
	// CleanupJitter bounds a random delay added to CleanupWait
	// (ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION_JITTER).
	CleanupJitter time.Duration
	// BatchMin and BatchMax bound the random wait of the batching ticker: container
	// changes of a task that stays RUNNING are sent together after it (10–30 s, as
	// the real agent's ticker).
	BatchMin, BatchMax time.Duration
	// Metrics is where the scheduler registers its Prometheus metrics (tasks by
	// status, containers started and stopped, start latency by stage); nil keeps
	// them unexported.
	Metrics prometheus.Registerer
}

// ConfigFrom takes the scheduler's settings from the agent's configuration.
func ConfigFrom(c config.Config) Config {
	return Config{
		ImagePullBehavior: c.ImagePullBehavior,
		PullTimeout:       c.ImagePullTimeout,
		StopTimeout:       c.ContainerStopTimeout,
		StartTimeout:      c.ContainerStartTimeout,
		CreateTimeout:     c.ContainerCreateTimeout,
		CleanupWait:       c.TaskCleanupWait,
		DynamicPortMin:    c.DynamicPortMin,
		DynamicPortMax:    c.DynamicPortMax,
		InspectInterval:   5 * time.Minute,
		Region:            c.Region,
		HostPortBindIP:    c.HostPortBindIP,
		TaskCPUMemLimit:   c.TaskCPUMemLimit,
		CgroupCPUPeriod:   c.CgroupCPUPeriod,
		PullUpfront:       c.PullDependentContainersUpfront,
		CleanupJitter:     c.TaskCleanupWaitJitter,
		BatchMin:          10 * time.Second,
		BatchMax:          30 * time.Second,
	}
}

// withDefaults fills what a hand-built Config left out.
func (c Config) withDefaults() Config {
	d := ConfigFrom(config.Defaults())
	if c.ImagePullBehavior == "" {
		c.ImagePullBehavior = d.ImagePullBehavior
	}
	if c.PullTimeout <= 0 {
		c.PullTimeout = d.PullTimeout
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = d.StopTimeout
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = d.StartTimeout
	}
	if c.CreateTimeout <= 0 {
		c.CreateTimeout = d.CreateTimeout
	}
	if c.CleanupWait <= 0 {
		c.CleanupWait = d.CleanupWait
	}
	if c.DynamicPortMin <= 0 || c.DynamicPortMax < c.DynamicPortMin {
		c.DynamicPortMin, c.DynamicPortMax = d.DynamicPortMin, d.DynamicPortMax
	}
	if c.InspectInterval <= 0 {
		c.InspectInterval = d.InspectInterval
	}
	if c.CgroupCPUPeriod <= 0 {
		c.CgroupCPUPeriod = d.CgroupCPUPeriod
	}
	if c.BatchMin <= 0 || c.BatchMax < c.BatchMin {
		c.BatchMin, c.BatchMax = d.BatchMin, d.BatchMax
	}
	return c
}
