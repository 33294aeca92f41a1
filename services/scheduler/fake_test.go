package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
)

// fakeDocker is a hand-written dockerexec: a micro service on the real subjects
// that keeps containers in memory and publishes their events like dockerexec does.
type fakeDocker struct {
	t  testing.TB
	js jetstream.JetStream

	mu      sync.Mutex
	ctrs    map[string]*fakeCtr // by task ARN + "/" + container name
	byID    map[string]*fakeCtr
	creates map[string]int
	removed map[string]bool
	// exits says how a container behaves once started: after that long it exits
	// with that code. Containers not listed run until stopped.
	exits map[string]fakeExit
	// exitsBeforeReply makes a container exit with that code before its start is
	// answered (its die event published first, the reply showing it exited).
	exitsBeforeReply map[string]int
	seq              int
	// volumes are the volumes that exist, by name; calls logs the resource calls
	// and creates in order ("volume.create <name>", "cgroup.remove <arn>", …).
	volumes map[string]bus.VolumeCreateRequest
	calls   []string
	reqs    map[string]bus.CreateRequest
	// stopReplyAfter delays the reply to a stop past the container's die event, as
	// the engine answers only once it has torn the container down.
	stopReplyAfter time.Duration
}

type fakeExit struct {
	after time.Duration
	code  int
}

type fakeCtr struct {
	st     bus.ContainerState
	req    bus.CreateRequest
	starts int
}

func startFakeDocker(t testing.TB, nc *nats.Conn) *fakeDocker {
	t.Helper()
	js, err := bus.JetStream(nc)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDocker{t: t, js: js, ctrs: map[string]*fakeCtr{}, byID: map[string]*fakeCtr{},
		creates: map[string]int{}, removed: map[string]bool{}, exits: map[string]fakeExit{}, exitsBeforeReply: map[string]int{},
		volumes: map[string]bus.VolumeCreateRequest{}, reqs: map[string]bus.CreateRequest{}}
	svc, err := micro.AddService(nc, micro.Config{Name: bus.DockerService, Version: "0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop() })
	add := func(name, subject string, h func(micro.Request) (any, error)) {
		err := svc.AddEndpoint(name, micro.HandlerFunc(func(req micro.Request) {
			rep, err := h(req)
			if err != nil {
				bus.RespondError(req, err)
				return
			}
			_ = req.RespondJSON(rep)
		}), micro.WithEndpointSubject(subject))
		if err != nil {
			t.Fatal(err)
		}
	}
	add("pull", bus.SubjectDockerPull, func(req micro.Request) (any, error) {
		var r bus.PullRequest
		_ = json.Unmarshal(req.Data(), &r)
		if r.Image == "missing" {
			return nil, bus.Errorf(bus.CodePullFailed, "image %s not found", r.Image)
		}
		if strings.HasPrefix(r.Image, "cached-") {
			return bus.PullReply{ImageID: "sha256:" + r.Image}, nil // no pull needed
		}
		if strings.HasPrefix(r.Image, "slow-") {
			// A pull that takes a while and says how far it has got.
			var mu sync.Mutex
			status := ""
			stop := bus.KeepAliveStatus(nc, req.Reply(), func() string { mu.Lock(); defer mu.Unlock(); return status })
			for mb := 1; mb <= 4; mb++ {
				mu.Lock()
				status = fmt.Sprintf("%d.0MB of 4.0MB", mb)
				mu.Unlock()
				time.Sleep(time.Second)
			}
			stop()
		}
		stopped := time.Now()
		started := stopped.Add(-fakePullDuration)
		return bus.PullReply{ImageID: "sha256:" + r.Image, Pulled: true, StartedAt: &started, StoppedAt: &stopped}, nil
	})
	add("create", bus.SubjectDockerCreate, func(req micro.Request) (any, error) {
		var r bus.CreateRequest
		_ = json.Unmarshal(req.Data(), &r)
		f.mu.Lock()
		defer f.mu.Unlock()
		key := r.TaskArn + "/" + r.Container.Name
		if c, ok := f.ctrs[key]; ok {
			return bus.CreateReply{DockerID: c.st.DockerID, DockerName: c.st.DockerName, Existed: true}, nil
		}
		f.creates[key]++
		f.calls = append(f.calls, "create "+r.Container.Name)
		f.reqs[key] = r
		f.seq++
		c := &fakeCtr{req: r, st: bus.ContainerState{DockerID: fmt.Sprintf("docker%04d", f.seq), DockerName: r.DockerName,
			TaskArn: r.TaskArn, ContainerName: r.Container.Name, Status: bus.StatusCreated, CreatedAt: time.Now()}}
		f.ctrs[key], f.byID[c.st.DockerID] = c, c
		f.event(c, "create")
		return bus.CreateReply{DockerID: c.st.DockerID, DockerName: r.DockerName}, nil
	})
	add("start", bus.SubjectDockerStart, func(req micro.Request) (any, error) {
		c, err := f.find(req)
		if err != nil {
			return nil, err
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if c.st.Status == bus.StatusCreated || c.st.Status == bus.StatusStopped {
			// Docker starts an exited container again, under the same ID.
			now := time.Now()
			c.st.Status, c.st.StartedAt, c.st.FinishedAt, c.st.ExitCode = bus.StatusRunning, &now, nil, nil
			c.st.NetworkBindings = nil
			c.starts++
			for _, p := range c.req.PortBindings {
				c.st.NetworkBindings = append(c.st.NetworkBindings, bus.NetworkBinding{BindIP: "0.0.0.0",
					ContainerPort: p.ContainerPort, HostPort: p.HostPort, Protocol: p.Protocol})
			}
			f.event(c, "start")
			if code, ok := f.exitsBeforeReply[c.st.ContainerName]; ok {
				f.mu.Unlock()
				f.exit(c, code)
				f.mu.Lock()
			}
			if ex, ok := f.exits[c.st.ContainerName]; ok {
				time.AfterFunc(ex.after, func() { f.exit(c, ex.code) })
			}
		}
		return c.st, nil
	})
	add("stop", bus.SubjectDockerStop, func(req micro.Request) (any, error) {
		c, err := f.find(req)
		if err != nil {
			return nil, err
		}
		f.exit(c, 137)
		f.mu.Lock()
		delay := f.stopReplyAfter
		f.mu.Unlock()
		time.Sleep(delay)
		f.mu.Lock()
		defer f.mu.Unlock()
		return c.st, nil
	})
	add("remove", bus.SubjectDockerRemove, func(req micro.Request) (any, error) {
		c, err := f.find(req)
		if err != nil {
			return nil, err
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.ctrs, c.st.TaskArn+"/"+c.st.ContainerName)
		delete(f.byID, c.st.DockerID)
		f.removed[c.st.DockerID] = true
		return struct{}{}, nil
	})
	add("list", bus.SubjectDockerList, func(req micro.Request) (any, error) {
		var r bus.ListRequest
		_ = json.Unmarshal(req.Data(), &r)
		f.mu.Lock()
		defer f.mu.Unlock()
		rep := bus.ListReply{Containers: []bus.ContainerState{}}
		for _, c := range f.ctrs {
			if r.Cluster != "" && c.req.Cluster != r.Cluster {
				continue
			}
			st := c.st
			st.Labels = map[string]string{bus.LabelTaskARN: c.req.TaskArn, bus.LabelContainerName: c.req.Container.Name,
				bus.LabelCluster: c.req.Cluster, bus.LabelContainerInstanceARN: c.req.ContainerInstanceArn,
				bus.LabelTaskSpec: c.req.TaskSpec}
			rep.Containers = append(rep.Containers, st)
		}
		return rep, nil
	})
	add("volume-create", bus.SubjectDockerVolumeCreate, func(req micro.Request) (any, error) {
		var r bus.VolumeCreateRequest
		_ = json.Unmarshal(req.Data(), &r)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls = append(f.calls, "volume.create "+r.Name)
		if _, ok := f.volumes[r.Name]; ok {
			return bus.VolumeReply{Name: r.Name, Driver: "local"}, nil
		}
		if r.Scope == bus.VolumeScopeShared && !r.Autoprovision {
			return nil, bus.Errorf(bus.CodeResourceInit, "resource cannot be initialized for task %s: volume '%s' does not exist and autoprovision is set to false", r.TaskArn, r.Name)
		}
		f.volumes[r.Name] = r
		return bus.VolumeReply{Name: r.Name, Driver: "local", Created: true}, nil
	})
	add("volume-remove", bus.SubjectDockerVolumeRemove, func(req micro.Request) (any, error) {
		var r bus.VolumeRemoveRequest
		_ = json.Unmarshal(req.Data(), &r)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls = append(f.calls, "volume.remove "+r.Name)
		delete(f.volumes, r.Name)
		return struct{}{}, nil
	})
	add("cgroup-create", bus.SubjectDockerCgroupCreate, func(req micro.Request) (any, error) {
		var r bus.CgroupCreateRequest
		_ = json.Unmarshal(req.Data(), &r)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls = append(f.calls, fmt.Sprintf("cgroup.create %+v", r))
		return bus.CgroupReply{Parent: "/ecs/" + bus.TaskID(r.TaskArn)}, nil
	})
	add("cgroup-remove", bus.SubjectDockerCgroupRemove, func(req micro.Request) (any, error) {
		var r bus.CgroupRemoveRequest
		_ = json.Unmarshal(req.Data(), &r)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls = append(f.calls, "cgroup.remove "+bus.TaskID(r.TaskArn))
		return struct{}{}, nil
	})
	add("inspect", bus.SubjectDockerInspect, func(req micro.Request) (any, error) {
		c, err := f.find(req)
		if err != nil {
			return nil, err
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		return c.st, nil
	})
	return f
}

func (f *fakeDocker) find(req micro.Request) (*fakeCtr, error) {
	var ref bus.ContainerRef
	_ = json.Unmarshal(req.Data(), &ref)
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.byID[ref.DockerID]; ok && ref.DockerID != "" {
		return c, nil
	}
	if c, ok := f.ctrs[ref.TaskArn+"/"+ref.ContainerName]; ok && ref.DockerID == "" {
		return c, nil
	}
	return nil, bus.Errorf(bus.CodeNotFound, "no such container %+v", ref)
}

func (f *fakeDocker) exit(c *fakeCtr, code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c.st.Status == bus.StatusStopped {
		return
	}
	now := time.Now()
	c.st.Status, c.st.FinishedAt, c.st.ExitCode = bus.StatusStopped, &now, &code
	f.event(c, "die")
}

// event publishes a ContainerEvent; f.mu is held.
func (f *fakeDocker) event(c *fakeCtr, action string) {
	ev := bus.ContainerEvent{Type: bus.TypeContainerEvent, TaskArn: c.st.TaskArn, ContainerName: c.st.ContainerName,
		DockerID: c.st.DockerID, Action: action, Status: c.st.Status, ExitCode: c.st.ExitCode, TimeNano: time.Now().UnixNano()}
	id := fmt.Sprintf("%s/%s/%d", ev.DockerID, action, ev.TimeNano)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := bus.Publish(ctx, f.js, bus.EventSubject(ev.TaskArn, ev.ContainerName), id, ev); err != nil {
		f.t.Errorf("fake dockerexec: publishing event: %v", err)
	}
}

func (f *fakeDocker) createCount(arn, name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.creates[arn+"/"+name]
}

func (f *fakeDocker) wasRemoved(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.removed[id]
}

// requestLogged is the create request of a container, kept after its removal.
func (f *fakeDocker) requestLogged(arn, name string) bus.CreateRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reqs[arn+"/"+name]
}

func (f *fakeDocker) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeDocker) request(arn, name string) bus.CreateRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ctrs[arn+"/"+name].req
}

// fakePullDuration is how long the fake's pulls say they took.
const fakePullDuration = 3 * time.Second

func (f *fakeDocker) startCount(arn, name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.ctrs[arn+"/"+name]; ok {
		return c.starts
	}
	return 0
}
