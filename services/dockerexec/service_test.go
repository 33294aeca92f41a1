package dockerexec_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/services/dockerexec"
	"github.com/ecs-agent/ecs-agent/services/dockerexec/dockerfake"
)

const taskArn = "arn:aws:ecs:us-west-2:123456789012:task/default/0123456789abcdef"

func testConfig() dockerexec.Config {
	return dockerexec.Config{HostPortBindIP: "127.0.0.1", Cluster: "default", PullRetryWait: time.Millisecond, PullAttempts: 3}
}

func fakeEngine() *dockerfake.Engine {
	e := dockerfake.New()
	e.AddImage("busybox:latest", dockerfake.Image{ID: "sha256:local", RepoDigests: []string{"busybox@sha256:d1"}})
	return e
}

func createReq(name string) bus.CreateRequest {
	return bus.CreateRequest{
		TaskArn: taskArn, Cluster: "default", Family: "web", Version: "1",
		DockerName: "ecs-web-1-" + name + "-abcd", ContainerInstanceArn: instanceArn,
		Container: bus.ContainerSpec{
			Name: name, Image: "busybox:latest", CPU: 0, Memory: 2,
			DockerConfig: bus.DockerConfig{
				Config:     `{"Labels":{"com.amazonaws.ecs.container-name":"evil","mine":"yes"},"WorkingDir":"/tmp"}`,
				HostConfig: `{"CapAdd":["NET_ADMIN"]}`,
			},
		},
		PortBindings: []bus.PortMapping{{ContainerPort: 80}},
	}
}

func wantCode(t *testing.T, err error, code bus.Code) {
	t.Helper()
	if !errors.Is(err, &bus.Error{Code: code}) {
		t.Fatalf("err %v, want code %d (%s)", err, code, code.Name())
	}
}

func TestCreateIsIdempotent(t *testing.T) {
	engine := fakeEngine()
	h := startService(t, testConfig(), engine)

	first, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, createReq("app"))
	if err != nil {
		t.Fatal(err)
	}
	if first.Existed || first.DockerID == "" || first.DockerName != "ecs-web-1-app-abcd" {
		t.Fatalf("first create %+v", first)
	}
	// A retry under another Docker name (a new attempt of the scheduler) finds the
	// container by its labels.
	again := createReq("app")
	again.DockerName = "ecs-web-1-app-ffff"
	second, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, again)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Existed || second.DockerID != first.DockerID || second.DockerName != first.DockerName {
		t.Fatalf("second create %+v, want the first container", second)
	}
	if engine.Count() != 1 || engine.CreateCount() != 1 {
		t.Fatalf("%d containers after %d creates, want 1 and 1", engine.Count(), engine.CreateCount())
	}

	c, _ := engine.Container(first.DockerID)
	if c.Config.Labels[bus.LabelContainerName] != "app" || c.Config.Labels["mine"] != "yes" {
		t.Errorf("labels %v: agent labels must win, others stay", c.Config.Labels)
	}
	if c.Config.WorkingDir != "/tmp" || len(c.HostConfig.CapAdd) != 1 {
		t.Errorf("dockerConfig not merged: dir %q capAdd %v", c.Config.WorkingDir, c.HostConfig.CapAdd)
	}
	if c.HostConfig.CPUShares != 2 || c.HostConfig.Memory != 4<<20 {
		t.Errorf("shares %d memory %d, want 2 and 4 MiB", c.HostConfig.CPUShares, c.HostConfig.Memory)
	}
	if b := c.HostConfig.PortBindings["80/tcp"]; len(b) != 1 || b[0].HostIP != "127.0.0.1" || b[0].HostPort != "" {
		t.Errorf("port bindings %v", c.HostConfig.PortBindings)
	}
}

func TestConcurrentCreatesMakeOneContainer(t *testing.T) {
	engine := fakeEngine()
	h := startService(t, testConfig(), engine)
	var wg sync.WaitGroup
	ids := make([]string, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := createReq("app")
			req.DockerName = fmt.Sprintf("ecs-web-1-app-%d", i)
			rep, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, req)
			ids[i], errs[i] = rep.DockerID, err
		}()
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("create %d: id %q err %v, want %q", i, ids[i], errs[i], ids[0])
		}
	}
	if engine.Count() != 1 {
		t.Fatalf("%d containers, want 1", engine.Count())
	}
}

// A container created under the requested name whose labels did not show up in the
// listing (created by a dockerexec that crashed right after) is found by name.
func TestCreateNameConflict(t *testing.T) {
	engine := fakeEngine()
	h := startService(t, testConfig(), engine)
	req := createReq("app")
	first, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, req)
	if err != nil {
		t.Fatal(err)
	}
	other := createReq("sidecar")
	other.DockerName = req.DockerName
	_, err = call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, other)
	wantCode(t, err, bus.CodeCreateFailed)
	if !strings.Contains(err.Error(), "already in use") {
		t.Errorf("description %q should say the name is taken", err)
	}
	if engine.Count() != 1 || first.DockerID == "" {
		t.Fatalf("%d containers", engine.Count())
	}
}

func TestCommandErrors(t *testing.T) {
	engine := fakeEngine()
	h := startService(t, testConfig(), engine)

	t.Run("malformed JSON", func(t *testing.T) {
		msg, err := h.nc.Request(bus.SubjectDockerCreate, []byte("{not json"), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, bus.ErrorFromReply(msg), bus.CodeBadRequest)
	})
	t.Run("create without task", func(t *testing.T) {
		req := createReq("app")
		req.TaskArn = ""
		_, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, req)
		wantCode(t, err, bus.CodeBadRequest)
	})
	t.Run("create with a missing image", func(t *testing.T) {
		req := createReq("app")
		req.Container.Image = "nothere:1"
		_, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, req)
		wantCode(t, err, bus.CodeCreateFailed)
		if !strings.HasPrefix(err.(*bus.Error).Description, "CannotCreateContainerError: ") {
			t.Errorf("description %q", err.(*bus.Error).Description)
		}
	})
	t.Run("create with bad dockerConfig", func(t *testing.T) {
		req := createReq("bad")
		req.Container.DockerConfig.HostConfig = `{"Memory":`
		_, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, req)
		wantCode(t, err, bus.CodeCreateFailed)
	})
	t.Run("inspect of an unknown container", func(t *testing.T) {
		_, err := call[bus.InspectRequest, bus.ContainerState](t, h, bus.SubjectDockerInspect,
			bus.InspectRequest{ContainerRef: bus.ContainerRef{TaskArn: taskArn, ContainerName: "ghost"}})
		wantCode(t, err, bus.CodeNotFound)
		_, err = call[bus.InspectRequest, bus.ContainerState](t, h, bus.SubjectDockerInspect,
			bus.InspectRequest{ContainerRef: bus.ContainerRef{DockerID: "deadbeef"}})
		wantCode(t, err, bus.CodeNotFound)
	})
	t.Run("start without a reference", func(t *testing.T) {
		_, err := call[bus.StartRequest, bus.ContainerState](t, h, bus.SubjectDockerStart, bus.StartRequest{})
		wantCode(t, err, bus.CodeBadRequest)
	})
	t.Run("unknown pull behavior", func(t *testing.T) {
		_, err := call[bus.PullRequest, bus.PullReply](t, h, bus.SubjectDockerPull,
			bus.PullRequest{Image: "busybox:latest", Behavior: "sometimes"})
		wantCode(t, err, bus.CodeBadRequest)
	})
	t.Run("engine down", func(t *testing.T) {
		engine.SetDown(true)
		defer engine.SetDown(false)
		_, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, createReq("app"))
		wantCode(t, err, bus.CodeUnavailable)
		if !bus.IsRetryable(err) {
			t.Error("an engine that does not answer is worth retrying")
		}
		_, err = call[bus.ListRequest, bus.ListReply](t, h, bus.SubjectDockerList, bus.ListRequest{})
		wantCode(t, err, bus.CodeUnavailable)
		_, err = call[bus.PullRequest, bus.PullReply](t, h, bus.SubjectDockerPull, bus.PullRequest{Image: "busybox:latest"})
		wantCode(t, err, bus.CodeUnavailable)
	})
}

func TestLifecycle(t *testing.T) {
	engine := fakeEngine()
	h := startService(t, testConfig(), engine)
	created, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, createReq("app"))
	if err != nil {
		t.Fatal(err)
	}
	ref := bus.ContainerRef{TaskArn: taskArn, ContainerName: "app"}

	st, err := call[bus.InspectRequest, bus.ContainerState](t, h, bus.SubjectDockerInspect, bus.InspectRequest{ContainerRef: ref})
	if err != nil || st.Status != bus.StatusCreated || st.DockerID != created.DockerID {
		t.Fatalf("inspect after create: %+v %v", st, err)
	}
	for range 2 { // a second start is a no-op
		st, err = call[bus.StartRequest, bus.ContainerState](t, h, bus.SubjectDockerStart, bus.StartRequest{ContainerRef: ref})
		if err != nil || st.Status != bus.StatusRunning || st.StartedAt == nil {
			t.Fatalf("start: %+v %v", st, err)
		}
	}
	if len(st.NetworkBindings) != 1 || st.NetworkBindings[0].BindIP != "127.0.0.1" || st.NetworkBindings[0].HostPort == 0 ||
		st.NetworkBindings[0].ContainerPort != 80 || st.NetworkBindings[0].Protocol != "tcp" {
		t.Errorf("network bindings %+v", st.NetworkBindings)
	}
	for range 2 { // stopping a stopped container succeeds
		st, err = call[bus.StopRequest, bus.ContainerState](t, h, bus.SubjectDockerStop,
			bus.StopRequest{ContainerRef: bus.ContainerRef{DockerID: created.DockerID}, Timeout: time.Second})
		if err != nil || st.Status != bus.StatusStopped || st.ExitCode == nil || *st.ExitCode != 143 {
			t.Fatalf("stop: %+v %v", st, err)
		}
	}
	list, err := call[bus.ListRequest, bus.ListReply](t, h, bus.SubjectDockerList, bus.ListRequest{TaskArn: taskArn})
	if err != nil || len(list.Containers) != 1 || list.Containers[0].ContainerName != "app" {
		t.Fatalf("list: %+v %v", list, err)
	}
	other, err := call[bus.ListRequest, bus.ListReply](t, h, bus.SubjectDockerList, bus.ListRequest{TaskArn: taskArn + "-other"})
	if err != nil || len(other.Containers) != 0 {
		t.Fatalf("list of another task: %+v %v", other, err)
	}
	for range 2 { // removing a missing container succeeds
		if _, err := call[bus.RemoveRequest, struct{}](t, h, bus.SubjectDockerRemove, bus.RemoveRequest{ContainerRef: ref}); err != nil {
			t.Fatalf("remove: %v", err)
		}
	}
	if _, err := call[bus.RemoveRequest, struct{}](t, h, bus.SubjectDockerRemove,
		bus.RemoveRequest{ContainerRef: bus.ContainerRef{DockerID: created.DockerID}}); err != nil {
		t.Fatalf("remove by a gone ID: %v", err)
	}
	if engine.Count() != 0 {
		t.Fatalf("%d containers left", engine.Count())
	}
}

func TestPull(t *testing.T) {
	registryErr := errors.New("Get \"https://registry.example/v2/\": dial tcp: lookup registry.example: no such host")
	tests := []struct {
		name       string
		image      string
		behavior   string
		local      bool
		registry   bool
		pullErr    error
		wantCode   bus.Code // 0: success
		wantPulled bool
		wantPulls  int
	}{
		{"default, present: pulled", "app:1", "default", true, true, nil, 0, true, 1},
		{"prefer-cached, present: no pull", "app:1", "prefer-cached", true, true, nil, 0, false, 0},
		{"once, present but never pulled by the agent: pulled", "app:1", "once", true, true, nil, 0, true, 1},
		{"always, present: pulled", "app:1", "always", true, true, nil, 0, true, 1},
		{"default, absent: pulled", "app:1", "default", false, true, nil, 0, true, 1},
		{"always, failure is an error", "app:1", "always", true, false, registryErr, bus.CodePullFailed, false, 3},
		{"default, absent, no such repository: not retried", "app:1", "", false, false, nil, bus.CodePullFailed, false, 1},
		{"prefer-cached, absent, registry down: retried", "app:1", "prefer-cached", false, false, registryErr, bus.CodePullFailed, false, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			engine := dockerfake.New()
			img := dockerfake.Image{ID: "sha256:app", RepoDigests: []string{"app@sha256:feed"}}
			if tc.local {
				engine.AddImage(tc.image, img)
			}
			if tc.registry {
				engine.AddRegistryImage(tc.image, img)
			}
			if tc.pullErr != nil {
				engine.FailPull(tc.image, tc.pullErr)
			}
			h := startService(t, testConfig(), engine)
			rep, err := call[bus.PullRequest, bus.PullReply](t, h, bus.SubjectDockerPull,
				bus.PullRequest{TaskArn: taskArn, ContainerName: "app", Image: tc.image, Behavior: tc.behavior})
			if tc.wantCode != 0 {
				wantCode(t, err, tc.wantCode)
				desc := err.(*bus.Error).Description
				if !strings.HasPrefix(desc, "CannotPullContainerError: pull image manifest has been retried ") {
					t.Errorf("description %q", desc)
				}
				if tc.pullErr != nil && !strings.Contains(desc, "no such host") {
					t.Errorf("description %q lacks Docker's reason", desc)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if rep.Pulled != tc.wantPulled || rep.ImageID != "sha256:app" || rep.Digest != "sha256:feed" {
					t.Errorf("reply %+v", rep)
				}
			}
			if n := engine.PullCount(tc.image); n != tc.wantPulls {
				t.Errorf("%d pulls, want %d", n, tc.wantPulls)
			}
		})
	}
}

// The fake's errors must be recognised the way the real client's are, or the tests
// above prove nothing about classification.
func TestFakeErrorClasses(t *testing.T) {
	engine := dockerfake.New()
	_, err := engine.ContainerInspect(t.Context(), "x")
	if !cerrdefs.IsNotFound(err) {
		t.Errorf("not found: %v", err)
	}
	engine.SetDown(true)
	_, err = engine.Ping(t.Context())
	if !cerrdefs.IsUnavailable(err) {
		t.Errorf("down: %v", err)
	}
}

// staleList hides every container from listings, as happens when another dockerexec
// created the container between this one's listing and its create.
type staleList struct {
	*dockerfake.Engine
	stale atomic.Bool
}

func (s *staleList) ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error) {
	if s.stale.Load() {
		return nil, nil
	}
	return s.Engine.ContainerList(ctx, opts)
}

func TestCreateRaceFoundByName(t *testing.T) {
	engine := &staleList{Engine: fakeEngine()}
	h := startService(t, testConfig(), engine)
	first, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, createReq("app"))
	if err != nil {
		t.Fatal(err)
	}
	engine.stale.Store(true)
	second, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, createReq("app"))
	if err != nil {
		t.Fatal(err)
	}
	if !second.Existed || second.DockerID != first.DockerID || second.DockerName != first.DockerName {
		t.Fatalf("second create %+v, want the first container %s", second, first.DockerID)
	}
	if engine.Count() != 1 {
		t.Fatalf("%d containers, want 1", engine.Count())
	}
}

// The service's info carries the engine's version, which the session reports to ACS.
func TestServiceInfoCarriesDockerVersion(t *testing.T) {
	h := startService(t, testConfig(), fakeEngine())
	var v string
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		v, err = bus.DockerEngineVersion(ctx, h.nc)
		cancel()
		if err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || v != "20.10.24" {
		t.Fatalf("engine version %q, %v", v, err)
	}
}
