package dockerexec_test

import (
	"context"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/services/dockerexec/dockerfake"
)

// Every command may be sent twice: the scheduler repeats a command whose reply it
// never got (dockerexec killed after the Docker call, before the reply). Each subtest
// makes the call, throws the reply away, and makes it again.
func TestCommandsAreSafeToRepeat(t *testing.T) {
	engine := fakeEngine()
	h := startService(t, testConfig(), engine)

	t.Run("create", func(t *testing.T) {
		first, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, createReq("c1"))
		if err != nil {
			t.Fatal(err)
		}
		again, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, createReq("c1"))
		if err != nil || again.DockerID != first.DockerID || !again.Existed {
			t.Fatalf("repeated create: %+v, %v; want the first container %s", again, err, first.DockerID)
		}
	})

	t.Run("start of a container that has exited since", func(t *testing.T) {
		c, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, createReq("c2"))
		if err != nil {
			t.Fatal(err)
		}
		ref := bus.ContainerRef{DockerID: c.DockerID, TaskArn: taskArn, ContainerName: "c2"}
		if _, err := call[bus.StartRequest, bus.ContainerState](t, h, bus.SubjectDockerStart, bus.StartRequest{ContainerRef: ref}); err != nil {
			t.Fatal(err)
		}
		// The reply is lost; meanwhile the container runs to its end (sh -c 'exit 42').
		if err := engine.Exit(c.DockerID, 42, false); err != nil {
			t.Fatal(err)
		}
		st, err := call[bus.StartRequest, bus.ContainerState](t, h, bus.SubjectDockerStart, bus.StartRequest{ContainerRef: ref})
		if err != nil {
			t.Fatal(err)
		}
		if n := engine.StartCount(c.DockerID); n != 1 {
			t.Fatalf("the container was started %d times, want once", n)
		}
		if st.Status != bus.StatusStopped || st.ExitCode == nil || *st.ExitCode != 42 {
			t.Fatalf("repeated start answered %+v, want the exited state (42)", st)
		}
	})

	t.Run("restart in place, repeated", func(t *testing.T) {
		c, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, createReq("c5"))
		if err != nil {
			t.Fatal(err)
		}
		ref := bus.ContainerRef{DockerID: c.DockerID, TaskArn: taskArn, ContainerName: "c5"}
		if _, err := call[bus.StartRequest, bus.ContainerState](t, h, bus.SubjectDockerStart, bus.StartRequest{ContainerRef: ref}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
		if err := engine.Exit(c.DockerID, 1, false); err != nil {
			t.Fatal(err)
		}
		exited := time.Now()
		time.Sleep(10 * time.Millisecond)
		// A restart policy answers the exit: started again, once however often asked.
		for range 2 {
			st, err := call[bus.StartRequest, bus.ContainerState](t, h, bus.SubjectDockerStart,
				bus.StartRequest{ContainerRef: ref, RestartAfter: &exited})
			if err != nil || st.Status != bus.StatusRunning {
				t.Fatalf("restart: %+v, %v", st, err)
			}
		}
		if n := engine.StartCount(c.DockerID); n != 2 {
			t.Fatalf("started %d times, want twice (the start and one restart)", n)
		}
	})

	t.Run("start of a running container", func(t *testing.T) {
		c, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, createReq("c3"))
		if err != nil {
			t.Fatal(err)
		}
		ref := bus.ContainerRef{DockerID: c.DockerID}
		for range 2 {
			st, err := call[bus.StartRequest, bus.ContainerState](t, h, bus.SubjectDockerStart, bus.StartRequest{ContainerRef: ref})
			if err != nil || st.Status != bus.StatusRunning {
				t.Fatalf("start: %+v, %v", st, err)
			}
		}
		if n := engine.StartCount(c.DockerID); n != 1 {
			t.Fatalf("started %d times", n)
		}
	})

	t.Run("stop", func(t *testing.T) {
		c, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, createReq("c4"))
		if err != nil {
			t.Fatal(err)
		}
		ref := bus.ContainerRef{DockerID: c.DockerID}
		if _, err := call[bus.StartRequest, bus.ContainerState](t, h, bus.SubjectDockerStart, bus.StartRequest{ContainerRef: ref}); err != nil {
			t.Fatal(err)
		}
		var last bus.ContainerState
		for range 2 {
			last, err = call[bus.StopRequest, bus.ContainerState](t, h, bus.SubjectDockerStop, bus.StopRequest{ContainerRef: ref, Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
		}
		if last.Status != bus.StatusStopped || last.ExitCode == nil || *last.ExitCode != 143 {
			t.Fatalf("repeated stop answered %+v, want the first stop's exit (143)", last)
		}
	})

	t.Run("remove", func(t *testing.T) {
		c, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, createReq("c5"))
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range []bus.ContainerRef{{DockerID: c.DockerID}, {DockerID: c.DockerID}, {TaskArn: taskArn, ContainerName: "c5"}} {
			if _, err := call[bus.RemoveRequest, struct{}](t, h, bus.SubjectDockerRemove, bus.RemoveRequest{ContainerRef: ref}); err != nil {
				t.Fatalf("remove %+v: %v", ref, err)
			}
		}
		if _, ok := engine.Container(c.DockerID); ok {
			t.Fatal("container still there")
		}
	})

	t.Run("pull", func(t *testing.T) {
		engine.AddRegistryImage("busybox:new", dockerfake.Image{ID: "sha256:new", RepoDigests: []string{"busybox@sha256:n"}})
		for range 2 {
			rep, err := call[bus.PullRequest, bus.PullReply](t, h, bus.SubjectDockerPull,
				bus.PullRequest{TaskArn: taskArn, ContainerName: "c6", Image: "busybox:new", Behavior: "prefer-cached"})
			if err != nil || rep.ImageID != "sha256:new" {
				t.Fatalf("pull: %+v, %v", rep, err)
			}
		}
		if n := engine.PullCount("busybox:new"); n != 1 {
			t.Fatalf("pulled %d times under prefer-cached", n)
		}
	})
}

// A container of another cluster or another instance on the same engine is not the
// agent's: no command touches it, no event of it is published, no listing shows it.
func TestOtherAgentsContainersAreLeftAlone(t *testing.T) {
	engine := fakeEngine()
	h := startService(t, testConfig(), engine)
	events := h.events(t)

	foreign := map[string]bus.CreateRequest{}
	other := createReq("theirs")
	other.Cluster, other.DockerName = "other-cluster", "ecs-other-1"
	foreign["another cluster"] = other
	sibling := createReq("sibling")
	sibling.ContainerInstanceArn, sibling.DockerName = "arn:aws:ecs:us-west-2:123456789012:container-instance/default/ffff", "ecs-sibling-1"
	foreign["another instance"] = sibling

	for what, req := range foreign {
		// Made behind the agent's back, as the other agent would.
		cfg, hostCfg := &container.Config{Image: req.Container.Image, Labels: map[string]string{
			bus.LabelTaskARN: req.TaskArn + "-" + req.Container.Name, bus.LabelContainerName: req.Container.Name,
			bus.LabelCluster: req.Cluster, bus.LabelContainerInstanceARN: req.ContainerInstanceArn,
		}}, &container.HostConfig{}
		made, err := engine.ContainerCreate(context.Background(), cfg, hostCfg, nil, nil, req.DockerName)
		if err != nil {
			t.Fatal(err)
		}
		ref := bus.ContainerRef{DockerID: made.ID}
		_, err = call[bus.StopRequest, bus.ContainerState](t, h, bus.SubjectDockerStop, bus.StopRequest{ContainerRef: ref})
		wantCode(t, err, bus.CodeNotFound)
		_, err = call[bus.StartRequest, bus.ContainerState](t, h, bus.SubjectDockerStart, bus.StartRequest{ContainerRef: ref})
		wantCode(t, err, bus.CodeNotFound)
		_, err = call[bus.InspectRequest, bus.ContainerState](t, h, bus.SubjectDockerInspect, bus.InspectRequest{ContainerRef: ref})
		wantCode(t, err, bus.CodeNotFound)
		if _, err := call[bus.RemoveRequest, struct{}](t, h, bus.SubjectDockerRemove, bus.RemoveRequest{ContainerRef: ref}); err != nil {
			t.Fatalf("%s: remove: %v", what, err)
		}
		if _, ok := engine.Container(made.ID); !ok {
			t.Fatalf("%s: the agent removed a container that is not its own", what)
		}
		l, err := call[bus.ListRequest, bus.ListReply](t, h, bus.SubjectDockerList, bus.ListRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range l.Containers {
			if c.DockerID == made.ID {
				t.Fatalf("%s: listed", what)
			}
		}
		if err := engine.ContainerStart(context.Background(), made.ID, container.StartOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Our own container's event comes; the foreign ones' never do.
	mine, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, createReq("mine"))
	if err != nil {
		t.Fatal(err)
	}
	for {
		ev := events.next(5 * time.Second)
		if ev.ContainerName == "theirs" || ev.ContainerName == "sibling" {
			t.Fatalf("published an event of another agent's container: %+v", ev)
		}
		if ev.DockerID == mine.DockerID {
			break
		}
	}
}

// A dockerexec that is down misses nothing: the next one resumes the event stream
// where the last one stopped and publishes the state of every container.
func TestEventsSurviveARestart(t *testing.T) {
	engine := fakeEngine()
	h := startService(t, testConfig(), engine)
	events := h.events(t)
	c, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, createReq("app"))
	if err != nil {
		t.Fatal(err)
	}
	events.until("create", c.DockerID, 5*time.Second)
	time.Sleep(1500 * time.Millisecond) // the cursor is saved every second

	// Only one dockerexec serves the test's bus at a time: stop the first.
	h.stopAll(t)
	if err := engine.ContainerStart(context.Background(), c.DockerID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := engine.Exit(c.DockerID, 3, false); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	h.run(t, testConfig(), engine)
	seen := map[string]bool{}
	for !(seen["start"] && seen["die"] && seen["inspect"]) {
		ev := events.next(10 * time.Second)
		if ev.DockerID != c.DockerID {
			continue
		}
		if ev.Action == "inspect" && ev.Status == bus.StatusCreated {
			// The first dockerexec's view of the container, published late when it
			// learnt the instance late (a loaded machine): before the downtime.
			continue
		}
		seen[ev.Action] = true
		if (ev.Action == "die" || ev.Action == "inspect") && (ev.Status != bus.StatusStopped || ev.ExitCode == nil || *ev.ExitCode != 3) {
			t.Fatalf("%s event %+v, want STOPPED with exit 3", ev.Action, ev)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the events of the downtime took %v to arrive", d)
	}
}
