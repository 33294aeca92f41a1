package scheduler

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
)

// wipe deletes every key of the tasks and ledger buckets, as losing the data
// directory does (the containers stay in Docker).
func (e *env) wipe() {
	e.t.Helper()
	ctx := context.Background()
	for _, b := range []string{bus.BucketTasks, bus.BucketLedger} {
		kv, err := e.js.KeyValue(ctx, b)
		if err != nil {
			e.t.Fatal(err)
		}
		keys, err := kv.ListKeys(ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		for k := range keys.Keys() {
			if err := kv.Purge(ctx, k); err != nil {
				e.t.Fatal(err)
			}
		}
	}
}

// nextFor returns the next report of one task, skipping others'.
func (e *env) nextFor(arn string) bus.TaskStateChange {
	e.t.Helper()
	for {
		if rep := e.next(); rep.TaskArn == arn {
			return rep
		}
	}
}

func TestAdoptsTheContainersOfALostStore(t *testing.T) {
	e := newEnv(t)
	stop := e.start()
	static := taskSpec("static", bus.ContainerSpec{Name: "web", Image: "x", Essential: true, Memory: 64,
		PortMappings: []bus.PortMapping{{ContainerPort: 80, HostPort: 8080}}})
	dynamic := taskSpec("dynamic", bus.ContainerSpec{Name: "web", Image: "x", Essential: true, Memory: 64,
		PortMappings: []bus.PortMapping{{ContainerPort: 80}}})
	e.desire(static, "m1")
	e.desire(dynamic, "m1")
	ids := map[string]string{}
	ports := map[string]int{}
	for len(ids) < 2 {
		rep := e.next()
		if rep.Status == "RUNNING" {
			ids[rep.TaskArn] = rep.Containers[0].RuntimeID
			ports[rep.TaskArn] = rep.Containers[0].NetworkBindings[0].HostPort
		}
	}
	stop()
	e.wipe()

	e.start()
	seen := map[string]bool{}
	for len(seen) < 2 {
		rep := e.next()
		if rep.Status != "RUNNING" || len(rep.Containers) != 1 {
			t.Fatalf("after adoption: %+v, want a RUNNING report of what was found", rep)
		}
		c := rep.Containers[0]
		if c.RuntimeID != ids[rep.TaskArn] || c.NetworkBindings[0].HostPort != ports[rep.TaskArn] {
			t.Fatalf("adopted %s reports %+v, want container %s on port %d", rep.TaskArn, c, ids[rep.TaskArn], ports[rep.TaskArn])
		}
		if rep.Seq < 1000 {
			t.Errorf("adopted report numbered %d: it could collide with a report of before the loss", rep.Seq)
		}
		seen[rep.TaskArn] = true
	}
	for _, s := range []bus.TaskSpec{static, dynamic} {
		if n := e.docker.createCount(s.Arn, "web"); n != 1 {
			t.Fatalf("%s: %d containers created, want the adopted one only", s.Arn, n)
		}
		rec, err := e.record(s.Arn)
		if err != nil || rec.KnownStatus != bus.StatusRunning || len(rec.HostPorts) != 1 {
			t.Fatalf("adopted record %+v, %v", rec, err)
		}
	}

	// The ports the adopted tasks hold are not handed out again.
	clash := taskSpec("clash", bus.ContainerSpec{Name: "web", Image: "x", Essential: true, Memory: 64,
		PortMappings: []bus.PortMapping{{ContainerPort: 80, HostPort: 8080}}})
	other := taskSpec("other", bus.ContainerSpec{Name: "web", Image: "x", Essential: true, Memory: 64,
		PortMappings: []bus.PortMapping{{ContainerPort: 80}}})
	e.desire(other, "m2")
	rep := e.nextFor(other.Arn)
	if rep.Status != "RUNNING" || rep.Containers[0].NetworkBindings[0].HostPort == ports[dynamic.Arn] {
		t.Fatalf("new task %+v got the adopted task's dynamic port %d", rep, ports[dynamic.Arn])
	}
	e.desire(clash, "m2")
	time.Sleep(500 * time.Millisecond)
	if rec, err := e.record(clash.Arn); err != nil || rec.KnownStatus != bus.StatusNone || len(rec.HostPorts) != 0 {
		t.Fatalf("a task asking for the adopted task's port 8080: %+v, %v; want it waiting", rec, err)
	}

	// Stopping the adopted task works, and frees its port for the waiting one.
	static.DesiredStatus = bus.StatusStopped
	e.desire(static, "m3")
	rep = e.nextFor(static.Arn)
	if rep.Status != "STOPPED" || rep.Containers[0].RuntimeID != ids[static.Arn] {
		t.Fatalf("stopping the adopted task: %+v", rep)
	}
	if rep := e.nextFor(clash.Arn); rep.Status != "RUNNING" || rep.Containers[0].NetworkBindings[0].HostPort != 8080 {
		t.Fatalf("the waiting task once port 8080 was free: %+v", rep)
	}
}

func TestTasksThatCannotBeLoadedAreReportedStopped(t *testing.T) {
	e := newEnv(t)
	e.start()
	arn := "arn:aws:ecs:us-west-2:123456789012:task/test/unloadable"
	d := bus.DesiredTask{Type: bus.TypeDesiredTask, Cluster: "test-cluster",
		Task:      bus.TaskSpec{Arn: arn, DesiredStatus: bus.StatusStopped},
		LoadError: "UnrecogniedTaskError: Error loading task - invalid task: port protocol \"sctp\" is not tcp or udp"}
	if _, err := bus.Publish(context.Background(), e.js, bus.DesiredSubject(arn), arn+"/invalid", d); err != nil {
		t.Fatal(err)
	}
	rep := e.next()
	if rep.TaskArn != arn || rep.Status != "STOPPED" || !strings.HasPrefix(rep.Reason, "UnrecogniedTaskError: Error loading task - ") {
		t.Fatalf("report %+v", rep)
	}

	// An unknown task the control plane wants stopped is reported stopped at once.
	gone := taskSpec("gone")
	gone.DesiredStatus = bus.StatusStopped
	e.desire(gone, "m1")
	if rep := e.next(); rep.TaskArn != gone.Arn || rep.Status != "STOPPED" || rep.Reason != "" {
		t.Fatalf("report %+v", rep)
	}
}

func TestAdmitsAgainstTheRegisteredResources(t *testing.T) {
	e := newEnv(t)
	e.register(bus.HostResources{CPU: 1024, MemoryMiB: 100, ReservedPorts: []int{9999}})
	e.start()
	big := taskSpec("big", bus.ContainerSpec{Name: "c", Image: "x", Essential: true, Memory: 200})
	e.desire(big, "m1")
	rep := e.next()
	if rep.Status != "STOPPED" || !strings.Contains(rep.Reason, "100 MiB") {
		t.Fatalf("a task bigger than the registered memory: %+v", rep)
	}
	reserved := taskSpec("reserved", bus.ContainerSpec{Name: "c", Image: "x", Essential: true, Memory: 10,
		PortMappings: []bus.PortMapping{{ContainerPort: 80, HostPort: 9999}}})
	e.desire(reserved, "m1")
	if rep := e.next(); rep.Status != "STOPPED" || !strings.Contains(rep.Reason, "9999") {
		t.Fatalf("a task on a registered reserved port: %+v", rep)
	}
}

func TestCleanupWaitsForTheStoppedReportToBeAccepted(t *testing.T) {
	e := newEnv(t)
	e.cfg.CleanupWait = 100 * time.Millisecond
	e.docker.exits["once"] = fakeExit{after: 10 * time.Millisecond, code: 0}
	e.start()
	s := taskSpec("t6", bus.ContainerSpec{Name: "once", Image: "x", Essential: true})
	e.desire(s, "m1")
	// The reports stay in the outbox, unacknowledged, as while the control plane is
	// unreachable.
	time.Sleep(2 * cleanupRecheck)
	if _, err := e.record(s.Arn); err != nil {
		t.Fatalf("the record went before its reports were delivered: %v", err)
	}
	if e.docker.createCount(s.Arn, "once") != 1 {
		t.Fatal("no container")
	}
	var id string
	for rep := e.next(); ; rep = e.next() {
		if len(rep.Containers) > 0 {
			id = rep.Containers[0].RuntimeID
		}
		if rep.Status == "STOPPED" {
			break
		}
	}
	if e.docker.wasRemoved(id) {
		t.Fatal("container removed before its STOPPED report was accepted")
	}
	deadline := time.Now().Add(3 * cleanupRecheck)
	for !e.docker.wasRemoved(id) {
		if time.Now().After(deadline) {
			t.Fatal("not cleaned up once the report was accepted")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A task found stopped after the store was lost is reported STOPPED, and only that:
// the control plane may have had its STOPPED already.
func TestAdoptedStoppedTaskIsReportedStoppedOnly(t *testing.T) {
	e := newEnv(t)
	e.docker.exits["once"] = fakeExit{after: 10 * time.Millisecond, code: 4}
	stop := e.start()
	s := taskSpec("done", bus.ContainerSpec{Name: "once", Image: "x", Essential: true, Memory: 8})
	e.desire(s, "m1")
	for rep := e.nextFor(s.Arn); rep.Status != "STOPPED"; rep = e.nextFor(s.Arn) {
	}
	stop()
	e.wipe()
	e.start()
	rep := e.nextFor(s.Arn)
	if rep.Status != "STOPPED" || len(rep.Containers) != 1 || rep.Containers[0].ExitCode == nil || *rep.Containers[0].ExitCode != 4 {
		t.Fatalf("after adoption %+v, want STOPPED with exit 4 and no RUNNING before it", rep)
	}
}
