package scheduler

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/nats-io/nats.go/jetstream"
)

func TestCgroupRequest(t *testing.T) {
	ctr := func(name string, cpu, mem int64) bus.ContainerSpec {
		return bus.ContainerSpec{Name: name, CPU: cpu, Memory: mem}
	}
	cases := []struct {
		name    string
		spec    bus.TaskSpec
		period  time.Duration
		want    bus.CgroupCreateRequest
		wantErr string
	}{
		{"task cpu is a quota", bus.TaskSpec{CPU: 0.5, Memory: 256, Containers: []bus.ContainerSpec{ctr("a", 10, 128)}}, 100 * time.Millisecond,
			bus.CgroupCreateRequest{CPUQuota: 50000, CPUPeriod: 100000, MemoryBytes: 256 << 20}, ""},
		{"two vCPUs on a short period", bus.TaskSpec{CPU: 2, Containers: []bus.ContainerSpec{ctr("a", 0, 0)}}, 10 * time.Millisecond,
			bus.CgroupCreateRequest{CPUQuota: 20000, CPUPeriod: 10000}, ""},
		{"no task cpu: the containers' shares, each at least 2", bus.TaskSpec{Containers: []bus.ContainerSpec{ctr("a", 100, 0), ctr("b", 0, 0), ctr("c", 1, 0)}}, 100 * time.Millisecond,
			bus.CgroupCreateRequest{CPUShares: 104}, ""},
		{"a quota below the kernel's least", bus.TaskSpec{CPU: 0.001, Containers: []bus.ContainerSpec{ctr("a", 0, 0)}}, 100 * time.Millisecond,
			bus.CgroupCreateRequest{}, "CPU quota 100 is lower than minimum allowed 1000"},
		{"a container above the task's memory", bus.TaskSpec{Memory: 64, Containers: []bus.ContainerSpec{ctr("big", 0, 128)}}, 100 * time.Millisecond,
			bus.CgroupCreateRequest{}, "container big memory limit(128) greater than task memory limit(64)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := cgroupRequest(c.spec, c.period)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestTaskVolumes(t *testing.T) {
	rec := &bus.TaskRecord{Cluster: "c", Spec: bus.TaskSpec{Arn: "arn:aws:ecs:r:1:task/c/abc", Family: "f", Version: "3", Volumes: []bus.VolumeSpec{
		{Name: "bind", Type: "host", SourcePath: "/srv"},
		{Name: "scratch", Type: "host"},
		{Name: "tmp", Type: "docker", Docker: &bus.DockerVolumeSpec{Scope: "task", Driver: "local",
			DriverOpts: map[string]string{"type": "tmpfs", "device": "tmpfs"}, Labels: map[string]string{"k": "v"}}},
		{Name: "cache", Type: "docker", Docker: &bus.DockerVolumeSpec{Scope: "shared", Autoprovision: true}},
	}}}
	got := taskVolumes(rec, "inst")
	if len(got) != 3 {
		t.Fatalf("%d volumes, want 3 (the host bind needs none): %+v", len(got), got)
	}
	if got[0].Scope != "task" || !strings.HasPrefix(got[0].Name, "ecs-f-3-scratch-") || got[0].Driver != "" {
		t.Errorf("scratch volume %+v", got[0])
	}
	if got[1].Scope != "task" || !strings.HasPrefix(got[1].Name, "ecs-f-3-tmp-") || got[1].DriverOpts["type"] != "tmpfs" ||
		got[1].Labels["k"] != "v" || got[1].Cluster != "c" || got[1].ContainerInstanceArn != "inst" {
		t.Errorf("task volume %+v", got[1])
	}
	if got[2].Scope != "shared" || got[2].Name != "cache" || !got[2].Autoprovision {
		t.Errorf("shared volume %+v", got[2])
	}
	if own := ownVolumes(rec); len(own) != 2 || own[0] != got[0].Name || own[1] != got[1].Name {
		t.Errorf("volumes removed with the task %v, want the scratch and the task-scoped one", own)
	}
}

// The task's volumes and cgroup come before its containers, the containers are
// created under the cgroup with the volumes bound, and at cleanup the task's own
// volumes and its cgroup go after the containers while the shared volume stays.
func TestResourcesBeforeContainersAndAtCleanup(t *testing.T) {
	e := newEnv(t)
	e.cfg.CleanupWait = 200 * time.Millisecond
	e.cfg.TaskCPUMemLimit = true
	e.docker.exits["app"] = fakeExit{after: 50 * time.Millisecond, code: 0}
	e.start()
	s := taskSpec("vol1", bus.ContainerSpec{Name: "app", Image: "x", Essential: true, CPU: 10, Memory: 64,
		MountPoints: []bus.MountPoint{{SourceVolume: "tmp", ContainerPath: "/tmp/a"}, {SourceVolume: "cache", ContainerPath: "/cache"}}})
	s.CPU, s.Memory = 0.25, 128
	s.Volumes = []bus.VolumeSpec{
		{Name: "tmp", Type: "docker", Docker: &bus.DockerVolumeSpec{Scope: "task", Driver: "local"}},
		{Name: "cache", Type: "docker", Docker: &bus.DockerVolumeSpec{Scope: "shared", Autoprovision: true}},
	}
	e.desire(s, "m1")
	for rep := e.next(); rep.Status != "STOPPED"; rep = e.next() {
	}
	req := e.docker.requestLogged(s.Arn, "app")
	if req.CgroupParent != "/ecs/vol1" {
		t.Errorf("container created under cgroup %q, want /ecs/vol1", req.CgroupParent)
	}
	tmp := volumeName(s, s.Volumes[0])
	if !slices.Contains(req.Binds, tmp+":/tmp/a") || !slices.Contains(req.Binds, "cache:/cache") {
		t.Errorf("binds %v", req.Binds)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := e.record(s.Arn); errors.Is(err, jetstream.ErrKeyNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task not cleaned up; calls %q", e.docker.callLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
	want := []string{
		"volume.create " + tmp,
		"volume.create cache",
		"cgroup.create {TaskArn:" + s.Arn + " CPUShares:0 CPUQuota:25000 CPUPeriod:100000 MemoryBytes:134217728}",
		"create app",
		"volume.remove " + tmp,
		"cgroup.remove vol1",
	}
	if got := e.docker.callLog(); !slices.Equal(got, want) {
		t.Errorf("calls\n%q\nwant\n%q", got, want)
	}
}

func TestAbsentSharedVolumeFailsTheTask(t *testing.T) {
	e := newEnv(t)
	e.start()
	s := taskSpec("vol2", bus.ContainerSpec{Name: "app", Image: "x", Essential: true,
		MountPoints: []bus.MountPoint{{SourceVolume: "data", ContainerPath: "/data"}}})
	s.Volumes = []bus.VolumeSpec{{Name: "data", Type: "docker", Docker: &bus.DockerVolumeSpec{Scope: "shared"}}}
	e.desire(s, "m1")
	rep := e.next()
	for rep.Status != "STOPPED" {
		rep = e.next()
	}
	want := "ResourceInitializationError: resource cannot be initialized for task " + s.Arn +
		": volume 'data' does not exist and autoprovision is set to false"
	if rep.Reason != want {
		t.Errorf("reason %q\nwant   %q", rep.Reason, want)
	}
	if n := e.docker.createCount(s.Arn, "app"); n != 0 {
		t.Errorf("%d containers created for a task whose volume is missing", n)
	}
}
