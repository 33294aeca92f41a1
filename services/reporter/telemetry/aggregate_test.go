package telemetry

import (
	"math"
	"testing"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
)

func TestAggregationIsTheRealAgents(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 16, 0, 0, 0, time.UTC)
	a := newAggregator()
	sample := func(i int, cpuNanos uint64, memMiB float64, id string) bus.ContainerStatsSample {
		return bus.ContainerStatsSample{TaskArn: "task", ContainerName: "web", DockerID: id, Read: t0.Add(time.Duration(i) * time.Second),
			CPUUsageNanos: cpuNanos, OnlineCPUs: 2, MemoryBytes: uint64(memMiB * bytesInMiB)}
	}
	// One core busy for a second, then half a core, then none, on a 2-CPU host:
	// 50 %, 25 %, 0 % of the instance.
	a.add(sample(0, 0, 10, "a"), t0)
	if w := a.window(t0); len(w) != 0 {
		t.Fatalf("a single sample gave metrics: %+v", w)
	}
	a.add(sample(1, 1e9, 10.7, "a"), t0)
	a.add(sample(2, 1.5e9, 12, "a"), t0)
	a.add(sample(3, 1.5e9, 14, "a"), t0)
	w := a.window(t0)
	if len(w["task"]) != 1 {
		t.Fatalf("window %+v", w)
	}
	m := w["task"][0]
	cpu, mem := m.CPUStatsSet, m.MemoryStatsSet
	if cpu.SampleCount != 3 || math.Abs(cpu.Sum-75) > 1e-9 || cpu.Max != 50 || cpu.Min != 0 {
		t.Errorf("cpu %+v, want 3 samples 50+25+0", cpu)
	}
	// Memory in whole MiB (10.7 MiB counts as 10), one value per sample: the first
	// sample has no CPU value but its memory counts, as in the real agent's queue.
	if mem.SampleCount != 4 || mem.Sum != 46 || mem.Min != 10 || mem.Max != 14 {
		t.Errorf("memory %+v, want 10+10+12+14", mem)
	}
	// The next window starts from the last sample: one more value, 100 %.
	a.add(sample(4, 3.5e9, 14, "a"), t0)
	if m := a.window(t0)["task"][0]; m.CPUStatsSet.SampleCount != 1 || m.CPUStatsSet.Sum != 100 {
		t.Errorf("second window %+v", m.CPUStatsSet)
	}
	// A new incarnation of the container starts again (no delta across Docker IDs).
	a.add(sample(5, 10, 1, "b"), t0)
	if w := a.window(t0); len(w) != 0 {
		t.Errorf("a delta across containers: %+v", w)
	}
	// A silent container is forgotten.
	if w := a.window(t0.Add(staleAfter + time.Second)); len(w) != 0 || len(a.containers) != 0 {
		t.Errorf("a stale container kept: %+v", a.containers)
	}
}

func TestMetricsRequestsSplitWithFin(t *testing.T) {
	reg := bus.Registration{Cluster: "c", ContainerInstanceArn: "inst"}
	now := time.Now()
	if reqs := metricsRequests(reg, nil, nil, now); len(reqs) != 1 || !reqs[0].Metadata.Idle || !reqs[0].Metadata.Fin || reqs[0].TaskMetrics == nil {
		t.Fatalf("no tasks: %+v", reqs)
	}
	a := newAggregator()
	var tasks []bus.TaskRecord
	for i := range 23 {
		arn := "task-" + string(rune('a'+i))
		tasks = append(tasks, bus.TaskRecord{Spec: bus.TaskSpec{Arn: arn, Family: "f", Version: "3"}})
		for j := range 2 {
			a.add(bus.ContainerStatsSample{TaskArn: arn, ContainerName: "web", DockerID: "d", Read: now.Add(time.Duration(j) * time.Second), CPUUsageNanos: uint64(j) * 1e8}, now)
		}
	}
	reqs := metricsRequests(reg, a.window(now), tasks, now)
	if len(reqs) != 3 || len(reqs[0].TaskMetrics) != 10 || len(reqs[2].TaskMetrics) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, r := range reqs {
		if r.Metadata.Fin != (i == 2) || r.Metadata.Idle || r.Metadata.MessageID != reqs[0].Metadata.MessageID ||
			r.TaskMetrics[0].TaskDefinitionFamily != "f" || r.TaskMetrics[0].TaskDefinitionVersion != "3" {
			t.Errorf("request %d metadata %+v", i, r.Metadata)
		}
	}
}

func TestHealthOfCheckedRunningContainers(t *testing.T) {
	since := time.Date(2026, 12, 2, 16, 0, 0, 0, time.UTC)
	rec := bus.TaskRecord{
		Spec: bus.TaskSpec{Arn: "t", Family: "f", Version: "1", Containers: []bus.ContainerSpec{
			{Name: "web", HealthCheckType: bus.HealthCheckDocker}, {Name: "plain"}, {Name: "new", HealthCheckType: bus.HealthCheckDocker}, {Name: "gone", HealthCheckType: bus.HealthCheckDocker},
		}},
		Containers: []bus.ContainerRecord{
			{Name: "web", KnownStatus: bus.StatusRunning, Health: bus.HealthUnhealthy, HealthSince: &since},
			{Name: "plain", KnownStatus: bus.StatusRunning},
			{Name: "new", KnownStatus: bus.StatusRunning, StartedAt: &since},
			{Name: "gone", KnownStatus: bus.StatusStopped, Health: bus.HealthHealthy},
		},
	}
	got := healthOf([]bus.TaskRecord{rec, {Spec: bus.TaskSpec{Arn: "none"}}})
	if len(got) != 1 || len(got[0].Containers) != 2 {
		t.Fatalf("health %+v", got)
	}
	c := got[0].Containers
	if c[0].ContainerName != "new" || c[0].HealthStatus != "UNKNOWN" || !c[0].StatusSince.Equal(since) ||
		c[1].ContainerName != "web" || c[1].HealthStatus != "UNHEALTHY" || !c[1].StatusSince.Equal(since) {
		t.Errorf("containers %+v", c)
	}
	if reqs := healthRequests(bus.Registration{}, nil, time.Now()); len(reqs) != 0 {
		t.Errorf("a health request with no container: %+v", reqs)
	}
}
