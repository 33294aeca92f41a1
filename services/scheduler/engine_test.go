package scheduler

import (
	"strings"
	"testing"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
)

// waitRecord polls the task's record until ok says it is as wanted.
func (e *env) waitRecord(arn string, what string, ok func(bus.TaskRecord) bool) bus.TaskRecord {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var rec bus.TaskRecord
	for time.Now().Before(deadline) {
		var err error
		if rec, err = e.record(arn); err == nil && ok(rec) {
			return rec
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("%s: record never came: %+v", what, rec)
	return rec
}

// A task says what it waits for: memory, a port another task holds, a HEALTHY
// dependency. A task that fits is admitted although one before it waits.
func TestWaitingReasons(t *testing.T) {
	e := newEnv(t)
	e.start()
	holder := taskSpec("holder", bus.ContainerSpec{Name: "web", Image: "busybox", Essential: true, Memory: 3840,
		PortMappings: []bus.PortMapping{{ContainerPort: 80, HostPort: 8080}}})
	e.desire(holder, "m1")
	if rep := e.next(); rep.Status != "RUNNING" {
		t.Fatalf("holder: %+v", rep)
	}
	port := taskSpec("port", bus.ContainerSpec{Name: "web", Image: "busybox", Essential: true, Memory: 64,
		PortMappings: []bus.PortMapping{{ContainerPort: 80, HostPort: 8080}}})
	e.desire(port, "m2")
	memory := taskSpec("memory", bus.ContainerSpec{Name: "big", Image: "busybox", Essential: true})
	memory.Memory = 512
	e.desire(memory, "m3")
	healthy := taskSpec("healthy",
		bus.ContainerSpec{Name: "db", Image: "busybox", Essential: true, Memory: 32},
		bus.ContainerSpec{Name: "app", Image: "busybox", Essential: true, Memory: 32,
			DependsOn: []bus.Dependency{{ContainerName: "db", Condition: "HEALTHY"}}})
	e.desire(healthy, "m4")

	want := map[string]string{
		port.Arn: "waiting for port 8080 (held by task " + holder.Arn + ")",
		// 4096 MiB - 3840 (holder) - 64 (the healthy task, admitted after it)
		memory.Arn:  "waiting for 512 MiB of memory (192 MiB free)",
		healthy.Arn: "waiting for container db to be HEALTHY before app can start",
	}
	for arn, w := range want {
		rec := e.waitRecord(arn, w, func(r bus.TaskRecord) bool { return r.Waiting == w })
		if arn == healthy.Arn {
			db := rec.Containers[0]
			if db.KnownStatus != bus.StatusRunning || len(db.Stages) != 4 || db.Stages[3].Name != "run" || db.Stages[3].EndedAt != nil {
				t.Fatalf("db's stages %+v", db.Stages)
			}
		}
	}
	// The holder stops: the port waiter is admitted and runs.
	holder.DesiredStatus = bus.StatusStopped
	e.desire(holder, "m5")
	e.waitRecord(port.Arn, "port waiter running", func(r bus.TaskRecord) bool {
		return r.KnownStatus == bus.StatusRunning && r.Waiting == ""
	})
}

// A non-essential container's exit waits for the batching ticker and rides on a
// later RUNNING report; the task's own reports are not delayed.
func TestNonEssentialExitBatched(t *testing.T) {
	e := newEnv(t)
	e.cfg.BatchMin, e.cfg.BatchMax = 700*time.Millisecond, 800*time.Millisecond
	e.docker.exits["side"] = fakeExit{after: 100 * time.Millisecond, code: 3}
	e.start()
	s := taskSpec("batch", bus.ContainerSpec{Name: "main", Image: "busybox", Essential: true},
		bus.ContainerSpec{Name: "side", Image: "busybox", Essential: false})
	e.desire(s, "m1")
	if rep := e.next(); rep.Status != "RUNNING" || len(rep.Containers) != 2 {
		t.Fatalf("first report %+v", rep)
	}
	sent := time.Now()
	rep := e.next()
	if waited := time.Since(sent); waited < 500*time.Millisecond {
		t.Fatalf("the exit was sent after %v, not batched", waited)
	}
	if rep.Status != "RUNNING" || len(rep.Containers) != 1 || rep.Containers[0].ContainerName != "side" ||
		rep.Containers[0].Status != "STOPPED" || *rep.Containers[0].ExitCode != 3 {
		t.Fatalf("batched report %+v", rep)
	}
}

// A container with a restart policy that exits is started again in place: the same
// task, the same Docker container, its restart count kept; StopTask stops it for
// good.
func TestRestartPolicyInPlace(t *testing.T) {
	e := newEnv(t)
	e.docker.exits["app"] = fakeExit{after: 1200 * time.Millisecond, code: 1}
	e.start()
	s := taskSpec("restart", bus.ContainerSpec{Name: "app", Image: "busybox", Essential: true,
		RestartPolicy: &bus.RestartPolicy{Enabled: true, RestartAttemptPeriod: 1}})
	e.desire(s, "m1")
	if rep := e.next(); rep.Status != "RUNNING" {
		t.Fatalf("first report %+v", rep)
	}
	rec := e.waitRecord(s.Arn, "restarted", func(r bus.TaskRecord) bool { return r.Containers[0].RestartCount >= 1 })
	if rec.KnownStatus != bus.StatusRunning || rec.DesiredStatus != bus.StatusRunning || e.docker.createCount(s.Arn, "app") != 1 {
		t.Fatalf("after a restart: task %s/%s, %d creates", rec.KnownStatus, rec.DesiredStatus, e.docker.createCount(s.Arn, "app"))
	}
	e.waitRecord(s.Arn, "running again", func(r bus.TaskRecord) bool { return !r.Containers[0].RestartPending })
	if n := e.docker.startCount(s.Arn, "app"); n < 2 {
		t.Fatalf("%d starts", n)
	}
	s.DesiredStatus = bus.StatusStopped
	e.desire(s, "m2")
	rep := e.next()
	if rep.Status != "STOPPED" || rep.Containers[0].Status != "STOPPED" {
		t.Fatalf("report %+v", rep)
	}
	starts := e.docker.startCount(s.Arn, "app")
	time.Sleep(1500 * time.Millisecond)
	if n := e.docker.startCount(s.Arn, "app"); n != starts {
		t.Fatalf("started again after StopTask: %d starts, were %d", n, starts)
	}
	if rec, _ := e.record(s.Arn); rec.KnownStatus != bus.StatusStopped || rec.Containers[0].RestartPending {
		t.Fatalf("task %s, container %+v", rec.KnownStatus, rec.Containers[0])
	}
}

// A running pull's progress, as dockerexec tells it, is in the task's waiting reason
// and goes when the pull ends.
func TestWaitingShowsPullProgress(t *testing.T) {
	e := newEnv(t)
	e.start()
	s := taskSpec("slow", bus.ContainerSpec{Name: "app", Image: "slow-app", Essential: true, Memory: 32})
	e.desire(s, "m1")
	e.waitRecord(s.Arn, "pull progress", func(r bus.TaskRecord) bool {
		return strings.HasPrefix(r.Waiting, "pulling image slow-app (") && strings.HasSuffix(r.Waiting, "MB of 4.0MB)")
	})
	rec := e.waitRecord(s.Arn, "running", func(r bus.TaskRecord) bool { return r.KnownStatus == bus.StatusRunning })
	if rec.Waiting != "" || rec.Containers[0].PullProgress != "" {
		t.Errorf("after the pull: waiting %q, progress %q", rec.Waiting, rec.Containers[0].PullProgress)
	}
}
