package telemetry

import (
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/ecs-agent/ecs-agent/acs/tcs"
	"github.com/ecs-agent/ecs-agent/bus"
)

// bytesInMiB converts memory samples to the MiB TCS carries.
const bytesInMiB = 1 << 20

// staleAfter is how long a container with no new sample is kept: longer than a
// publication window, so a slow stream loses nothing, but a stopped container's
// figures do not linger.
const staleAfter = 2 * time.Minute

// aggregator turns stats samples into the statistic sets of one publication window,
// as the real agent does: each sample after the first gives a CPU utilisation (the
// CPU time used since the previous sample, over the time between them, as a
// percentage of all the instance's CPUs) and a memory figure (whole MiB); a
// publication sums the window's values into CWStatsSets and starts a new window. A
// container needs one CPU value in the window to be published. Safe for concurrent
// use: samples arrive on the bus's goroutine, windows are taken by the publisher.
type aggregator struct {
	mu         sync.Mutex
	containers map[key]*series
}

type key struct{ task, container string }

type series struct {
	last     bus.ContainerStatsSample // the previous sample, for CPU deltas
	lastSeen time.Time
	cpu      []float64 // percent, this window
	mem      []float64 // MiB, this window
}

func newAggregator() *aggregator { return &aggregator{containers: map[key]*series{}} }

// add takes one sample. A sample no newer than the previous one of its container,
// or of another incarnation of it (a new Docker ID), starts the deltas again.
func (a *aggregator) add(s bus.ContainerStatsSample, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := key{s.TaskArn, s.ContainerName}
	sr, ok := a.containers[k]
	if !ok {
		sr = &series{}
		a.containers[k] = sr
	}
	sr.lastSeen = now
	mem := float64(s.MemoryBytes / bytesInMiB)
	if ok && sr.last.DockerID == s.DockerID && s.Read.After(sr.last.Read) && s.CPUUsageNanos >= sr.last.CPUUsageNanos {
		cpus := s.OnlineCPUs
		if cpus == 0 {
			cpus = uint32(runtime.NumCPU())
		}
		elapsed := float64(s.Read.Sub(sr.last.Read).Nanoseconds())
		used := float64(s.CPUUsageNanos-sr.last.CPUUsageNanos) / float64(cpus)
		sr.cpu = append(sr.cpu, 100*used/elapsed)
		sr.mem = append(sr.mem, mem)
	} else if !ok || sr.last.DockerID != s.DockerID {
		sr.cpu, sr.mem = nil, []float64{mem}
	}
	sr.last = s
}

// window returns the statistics of each container with a CPU value since the last
// call, by task ARN, and starts a new window. Containers silent for staleAfter are
// forgotten.
func (a *aggregator) window(now time.Time) map[string][]tcs.ContainerMetric {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string][]tcs.ContainerMetric{}
	for k, sr := range a.containers {
		if now.Sub(sr.lastSeen) > staleAfter {
			delete(a.containers, k)
			continue
		}
		if len(sr.cpu) == 0 {
			continue
		}
		out[k.task] = append(out[k.task], tcs.ContainerMetric{
			ContainerName:  k.container,
			CPUStatsSet:    statsSet(sr.cpu),
			MemoryStatsSet: statsSet(sr.mem),
		})
		sr.cpu, sr.mem = nil, nil
	}
	return out
}

// forget drops a task's containers (the task is gone).
func (a *aggregator) forget(task string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k := range a.containers {
		if k.task == task {
			delete(a.containers, k)
		}
	}
}

func statsSet(vs []float64) *tcs.CWStatsSet {
	s := &tcs.CWStatsSet{Min: math.MaxFloat64, Max: -math.MaxFloat64}
	for _, v := range vs {
		s.Min, s.Max = math.Min(s.Min, v), math.Max(s.Max, v)
		s.Sum += v
		s.SampleCount++
	}
	if s.SampleCount == 0 {
		s.Min, s.Max = 0, 0
	}
	return s
}
