package scheduler

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/ecs-agent/ecs-agent/bus/config"
)

// Config is what the scheduler needs of the agent's configuration.
type Config struct {
	// ImagePullBehavior is passed to every pull (ECS_IMAGE_PULL_BEHAVIOR).
	ImagePullBehavior string
	// StopTimeout is the grace period of a stop when the container sets none
	// (ECS_CONTAINER_STOP_TIMEOUT).
	StopTimeout time.Duration
	// StartTimeout and CreateTimeout bound a start and a create
	// (ECS_CONTAINER_START_TIMEOUT, ECS_CONTAINER_CREATE_TIMEOUT).
	StartTimeout, CreateTimeout time.Duration
	// CleanupWait is how long a STOPPED task is kept before its containers are
	// removed (ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION).
	CleanupWait time.Duration
	// ReservedPorts and ReservedPortsUDP are never handed to a task
	// (ECS_RESERVED_PORTS, ECS_RESERVED_PORTS_UDP).
	ReservedPorts, ReservedPortsUDP []int
	// ReservedMemory (MiB) is kept back from tasks (ECS_RESERVED_MEMORY).
	ReservedMemory int64
	// DynamicPortMin and DynamicPortMax bound the host ports chosen for hostPort 0
	// (ECS_DYNAMIC_HOST_PORT_RANGE).
	DynamicPortMin, DynamicPortMax int
	// HostCPU (shares) and HostMemoryMiB are what the host offers tasks; 0 means
	// no limit. ConfigFrom reads them from the machine.
	HostCPU       int64
	HostMemoryMiB int64
	// InspectInterval is how often running containers are inspected to catch
	// missed events (5 minutes as the real agent, plus jitter).
	InspectInterval time.Duration
}

// ConfigFrom takes the scheduler's settings from the agent's configuration and the
// host's CPU count and memory.
func ConfigFrom(c config.Config) Config {
	mem := memTotalMiB()
	if mem > 0 {
		mem -= c.ReservedMemory
		if mem < 1 {
			mem = 1
		}
	}
	return Config{
		ImagePullBehavior: c.ImagePullBehavior,
		StopTimeout:       c.ContainerStopTimeout,
		StartTimeout:      c.ContainerStartTimeout,
		CreateTimeout:     c.ContainerCreateTimeout,
		CleanupWait:       c.TaskCleanupWait,
		ReservedPorts:     c.ReservedPorts,
		ReservedPortsUDP:  c.ReservedPortsUDP,
		ReservedMemory:    c.ReservedMemory,
		DynamicPortMin:    c.DynamicPortMin,
		DynamicPortMax:    c.DynamicPortMax,
		HostCPU:           int64(runtime.NumCPU()) * 1024,
		HostMemoryMiB:     mem,
		InspectInterval:   5 * time.Minute,
	}
}

// withDefaults fills what a hand-built Config left out.
func (c Config) withDefaults() Config {
	d := ConfigFrom(config.Defaults())
	if c.ImagePullBehavior == "" {
		c.ImagePullBehavior = d.ImagePullBehavior
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
	return c
}

// memTotalMiB reads MemTotal from /proc/meminfo; 0 when it cannot.
func memTotalMiB() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0
			}
			return kb / 1024
		}
	}
	return 0
}
