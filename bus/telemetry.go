package bus

import "time"

// Telemetry: what the reporter's TCS client needs from dockerexec, the only process
// that talks to Docker.
//
//	reporter ── StatsDemand every StatsDemandInterval ──▶ dockerexec
//	reporter ◀── ContainerStatsSample per reading ─────── dockerexec (one Docker stats
//	                                                       stream per running container,
//	                                                       while a demand is fresh)
//
// Both are plain NATS messages: samples are worthless once old, and a demand is
// repeated until it is no longer meant.

// Message type names of the telemetry messages.
const (
	TypeContainerStatsSample = "ContainerStatsSample"
	TypeStatsDemand          = "StatsDemand"
)

// StatsDemandInterval is how often a consumer of stats repeats its StatsDemand, and
// StatsDemandTTL how long dockerexec keeps streaming after the last one it heard.
const (
	StatsDemandInterval = 20 * time.Second
	StatsDemandTTL      = time.Minute
)

// StatsDemand asks dockerexec to stream container stats (SubjectStatsDemand).
type StatsDemand struct {
	Type string `json:"type"`
	// From names the consumer, for logs.
	From string `json:"from,omitempty"`
}

// ContainerStatsSample is one Docker stats reading of a managed container
// (StatsSampleSubject), reduced to what TCS metrics need. Counters are cumulative:
// a consumer derives CPU utilisation from two samples.
type ContainerStatsSample struct {
	Type          string `json:"type"`
	TaskArn       string `json:"taskArn"`
	ContainerName string `json:"containerName"`
	DockerID      string `json:"dockerId"`
	// Read is the engine's time of the reading.
	Read time.Time `json:"read"`
	// CPUUsageNanos is the container's total CPU time (cpu_stats.cpu_usage.total_usage).
	CPUUsageNanos uint64 `json:"cpuUsageNanos"`
	// OnlineCPUs is the number of CPUs the engine sees (cpu_stats.online_cpus): CPU
	// utilisation is a share of all of them, as the real agent counts it.
	OnlineCPUs uint32 `json:"onlineCpus,omitempty"`
	// MemoryBytes is the memory in use, page cache excluded (usage minus cache on
	// cgroup v1, minus inactive_file on cgroup v2).
	MemoryBytes uint64 `json:"memoryBytes"`
	// MemoryLimitBytes is the container's memory limit as the engine reports it.
	MemoryLimitBytes uint64 `json:"memoryLimitBytes,omitempty"`
	// RestartCount is the container's restarts.
	RestartCount int `json:"restartCount,omitempty"`
}
