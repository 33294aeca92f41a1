package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/docker/docker/client"
)

// results is everything one run measured, as written to bench/results/.
type results struct {
	Started     time.Time      `json:"started"`
	WallSeconds float64        `json:"wall_s"`
	Machine     machine        `json:"machine"`
	Settings    settings       `json:"settings"`
	Table       []row          `json:"table"`
	Agents      []*agentResult `json:"agents"`
	// BaselineWorkers is the parallelism of the direct baseline bursts and what
	// each tried parallelism took on the first burst size.
	BaselineWorkers *workersChoice `json:"baseline_workers,omitempty"`
	Churn           *churnResult   `json:"churn,omitempty"`
	Bus             *busResult     `json:"bus,omitempty"`
	// Errors are the phases that failed, whose figures are missing.
	Errors []string `json:"errors,omitempty"`
}

type workersChoice struct {
	Chosen int             `json:"chosen"`
	Tried  []baselineBurst `json:"tried"`
}

// agentResult is the figures of one instance.
type agentResult struct {
	Kind    string         `json:"kind"`
	Cluster string         `json:"cluster"`
	Idle    *idleResult    `json:"idle"`
	Single  *singleResult  `json:"single,omitempty"`
	Bursts  []*burstResult `json:"bursts,omitempty"`
	// AfterCleanup is every process's memory once the bursts' containers are gone.
	AfterCleanup []procCost `json:"memory_after_cleanup,omitempty"`
}

// idleResult is the instance with no task: memory at the end of the window and
// CPU over it.
type idleResult struct {
	Processes []procCost `json:"processes"`
	Seconds   float64    `json:"seconds,omitempty"`
	// The processes' CPU added up, over the window and scaled to 30 s, by each
	// counter (schedstat is the finer: ns against 10 ms ticks).
	StatCPU     float64 `json:"stat_cpu_s"`
	SchedCPU    float64 `json:"schedstat_cpu_s"`
	StatPer30s  float64 `json:"stat_cpu_s_per_30s"`
	SchedPer30s float64 `json:"schedstat_cpu_s_per_30s"`
	RSSMiB      float64 `json:"rss_mib"`
	HWMMiB      float64 `json:"hwm_mib"`
}

func newIdle(ps []procCost) *idleResult {
	r := &idleResult{Processes: ps}
	rss, hwm, stat, sched := totals(ps)
	r.RSSMiB, r.HWMMiB, r.StatCPU, r.SchedCPU = mib(rss), mib(hwm), stat, sched
	if len(ps) > 0 && ps[0].CPU != nil {
		r.Seconds = ps[0].CPU.Seconds
		r.StatPer30s = stat * 30 / r.Seconds
		r.SchedPer30s = sched * 30 / r.Seconds
	}
	return r
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

// machine describes where the figures were taken.
type machine struct {
	Cores          int    `json:"cores"`
	Kernel         string `json:"kernel"`
	DockerVersion  string `json:"docker_server_version"`
	DockerAPI      string `json:"docker_api_version"`
	StorageDriver  string `json:"docker_storage_driver"`
	CgroupVersion  string `json:"cgroup_version"`
	GoVersion      string `json:"go_version"`
	GitCommit      string `json:"git_commit"`
	GitDirty       bool   `json:"git_dirty"`
	ControlPlane   string `json:"control_plane"`
	MemoryTotalKiB int64  `json:"memory_total_kib"`
}

func describeMachine(ctx context.Context, dc *client.Client) (machine, error) {
	info, err := dc.Info(ctx)
	if err != nil {
		return machine{}, fmt.Errorf("docker info: %w", err)
	}
	m := machine{
		Cores: runtime.NumCPU(), DockerVersion: info.ServerVersion, DockerAPI: dc.ClientVersion(),
		StorageDriver: info.Driver, CgroupVersion: info.CgroupVersion, GoVersion: runtime.Version(),
		ControlPlane: "local (ecs-controlplane on loopback)",
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
		m.GitCommit = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil {
		m.GitDirty = len(strings.TrimSpace(string(out))) > 0
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kib int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kib); err == nil {
			m.MemoryTotalKiB = kib
		}
	}
	return m, nil
}

// settings says how the agent ran and which per-task work was enabled.
type settings struct {
	// PerTaskWork: the agent's defaults, left unset by the bench.
	TaskCPUMemLimit bool     `json:"ECS_ENABLE_TASK_CPU_MEM_LIMIT"`
	PollMetrics     bool     `json:"ECS_POLL_METRICS"`
	Environment     []string `json:"environment"`
	TaskDefinition  string   `json:"task_definition"`
	SingleReps      int      `json:"single_reps"`
	Bursts          []int    `json:"bursts"`
	IdleSeconds     float64  `json:"idle_s"`
	ChurnTasks      int      `json:"churn_tasks"`
	ChurnBoundS     float64  `json:"churn_bound_s"`
	BusTrips        int      `json:"bus_trips"`
	Phases          []string `json:"phases"`
	CPUCounter      string   `json:"cpu_counter"`
	Notes           []string `json:"notes"`
}

func newSettings(c config) settings {
	s := settings{
		TaskCPUMemLimit: true, PollMetrics: true,
		Environment: []string{"ECS_CONTAINER_STOP_TIMEOUT=1s", "ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION=1s",
			"ECS_IMAGE_PULL_BEHAVIOR=prefer-cached", "ECS_LOGLEVEL=info", "ECS_LOGFILE=<per process, debug>",
			"AWS_EC2_METADATA_DISABLED=true"},
		TaskDefinition: fmt.Sprintf("%s, sleep 3600, memory %d MiB, cpu %d, stopTimeout 1", benchImage, taskMemoryMiB, taskCPU),
		SingleReps:     c.singleReps, Bursts: c.bursts, IdleSeconds: c.idle.Seconds(),
		ChurnTasks: c.churnTasks, ChurnBoundS: c.churnBound.Seconds(), BusTrips: c.busTrips,
		CPUCounter: "schedstat (sum of /proc/<pid>/task/*/schedstat, ns) is compared with the targets; " +
			"utime+stime (/proc/<pid>/stat, 10 ms ticks) is shown beside it",
		Notes: []string{
			"ECS_ENABLE_TASK_CPU_MEM_LIMIT and ECS_POLL_METRICS are left at the agent's defaults (true): a cgroup per task and stats polling",
			"both instances are measured idle over the same window; the pod's other phases run with the all-in-one instance idle beside it, the all-in-one's after the pod has stopped",
		},
	}
	for _, p := range []string{"idle", "single", "burst", "churn", "bus"} {
		if c.on(p) {
			s.Phases = append(s.Phases, p)
		}
	}
	return s
}

// publish prints the table and writes the results as <UTC timestamp>.json and
// latest.json in dir.
func publish(res *results, dir string) error {
	res.Table = buildTable(res)
	printTable(os.Stdout, res)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	name := filepath.Join(dir, res.Started.Format("20060102T150405Z")+".json")
	if err := os.WriteFile(name, b, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "latest.json"), b, 0o644); err != nil {
		return err
	}
	fmt.Printf("\nresults: %s (and latest.json); wall time %.0f s\n", name, res.WallSeconds)
	return nil
}
