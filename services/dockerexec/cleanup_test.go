package dockerexec_test

import (
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/services/dockerexec"
	"github.com/ecs-agent/ecs-agent/services/dockerexec/dockerfake"
)

func cleanupConfig(minAge time.Duration, perCycle int) dockerexec.Config {
	cfg := testConfig()
	cfg.ImageCleanup = dockerexec.ImageCleanupConfig{
		Interval: 100 * time.Millisecond, MinimumAge: minAge, NonECSMinimumAge: time.Hour,
		ImagesPerCycle: perCycle, Exclude: []string{"keep:1"}, AgeSet: true,
	}
	return cfg
}

func waitRemoved(t *testing.T, engine *dockerfake.Engine, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(engine.Removed()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("removed %q, want %d images", engine.Removed(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return engine.Removed()
}

// Cleanup removes the agent's images that are unused and older than the minimum
// age, and keeps those in use by a container (even stopped), too young, excluded,
// or not the agent's.
func TestImageCleanupDecisions(t *testing.T) {
	engine := dockerfake.New()
	for _, ref := range []string{"old:1", "used:1", "stopped:1", "keep:1", "young:1"} {
		engine.AddRegistryImage(ref, dockerfake.Image{ID: "sha256:" + ref[:len(ref)-2]})
	}
	engine.AddImage("theirs:1", dockerfake.Image{ID: "sha256:theirs", Created: time.Now().Add(-48 * time.Hour)})
	h := startService(t, cleanupConfig(time.Second, 5), engine)
	for _, ref := range []string{"old:1", "used:1", "stopped:1", "keep:1"} {
		if _, err := call[bus.PullRequest, bus.PullReply](t, h, bus.SubjectDockerPull, pullReq(ref, "always")); err != nil {
			t.Fatal(err)
		}
	}
	for _, ref := range []string{"used:1", "stopped:1"} {
		req := createReq("c-" + ref[:len(ref)-2])
		req.Container.Image = ref
		req.DockerName = "ecs-web-1-" + req.Container.Name
		rep, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, req)
		if err != nil {
			t.Fatal(err)
		}
		if ref == "stopped:1" {
			if err := engine.ContainerStart(t.Context(), rep.DockerID, container.StartOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := engine.Exit(rep.DockerID, 0, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	time.Sleep(1100 * time.Millisecond)
	if _, err := call[bus.PullRequest, bus.PullReply](t, h, bus.SubjectDockerPull, pullReq("young:1", "always")); err != nil {
		t.Fatal(err)
	}
	if removed := waitRemoved(t, engine, 1); !slices.Equal(removed, []string{"old:1"}) {
		t.Fatalf("removed %q, want old:1", removed)
	}
	time.Sleep(400 * time.Millisecond) // a few more cycles decide the same
	if removed := engine.Removed(); len(removed) != 1 {
		t.Fatalf("removed %q, want only old:1", removed)
	}
	for _, ref := range []string{"used:1", "stopped:1", "keep:1", "young:1", "theirs:1"} {
		if !engine.HasImage(ref) {
			t.Errorf("%s was removed", ref)
		}
	}
	// A removed image is pulled again under once: the agent forgot it.
	if rep, err := call[bus.PullRequest, bus.PullReply](t, h, bus.SubjectDockerPull, pullReq("old:1", "once")); err != nil || !rep.Pulled {
		t.Errorf("once after cleanup: %+v, %v", rep, err)
	}
}

// At most ImagesPerCycle images go per cycle, the least recently used first.
func TestImageCleanupLeastRecentlyUsedFirst(t *testing.T) {
	engine := dockerfake.New()
	refs := []string{"a:1", "b:1", "c:1"}
	for _, ref := range refs {
		engine.AddRegistryImage(ref, dockerfake.Image{ID: "sha256:" + ref[:1]})
	}
	cfg := cleanupConfig(300*time.Millisecond, 1)
	cfg.ImageCleanup.Interval = 500 * time.Millisecond
	h := startService(t, cfg, engine)
	// Pulled in the order c, a, b: c is the least recently used, then a.
	for _, ref := range []string{"c:1", "a:1", "b:1"} {
		if _, err := call[bus.PullRequest, bus.PullReply](t, h, bus.SubjectDockerPull, pullReq(ref, "always")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	first := waitRemoved(t, engine, 1)
	if len(first) != 1 || first[0] != "c:1" {
		t.Fatalf("first cycle removed %q, want c:1 alone", first)
	}
	if removed := waitRemoved(t, engine, 3); !slices.Equal(removed, []string{"c:1", "a:1", "b:1"}) {
		t.Fatalf("removed %q, want c, a, b", removed)
	}
}

// With untracked cleanup, images the agent never used go too once older than the
// non-ECS minimum age; without it, they stay.
func TestImageCleanupUntracked(t *testing.T) {
	engine := dockerfake.New()
	engine.AddImage("theirs:old", dockerfake.Image{ID: "sha256:old", Created: time.Now().Add(-2 * time.Hour)})
	engine.AddImage("theirs:new", dockerfake.Image{ID: "sha256:new", Created: time.Now()})
	engine.AddImage("keep:1", dockerfake.Image{ID: "sha256:keep", Created: time.Now().Add(-2 * time.Hour)})
	cfg := cleanupConfig(time.Hour, 5)
	cfg.ImageCleanup.Untracked = true
	startService(t, cfg, engine)
	if removed := waitRemoved(t, engine, 1); !slices.Equal(removed, []string{"theirs:old"}) {
		t.Fatalf("removed %q, want theirs:old", removed)
	}
	time.Sleep(300 * time.Millisecond)
	if !engine.HasImage("theirs:new") || !engine.HasImage("keep:1") || len(engine.Removed()) != 1 {
		t.Errorf("removed %q, want theirs:new and keep:1 kept", engine.Removed())
	}
}

// ECS_DISABLE_IMAGE_CLEANUP: nothing is removed.
func TestImageCleanupDisabled(t *testing.T) {
	engine := dockerfake.New()
	engine.AddRegistryImage("old:1", dockerfake.Image{ID: "sha256:old"})
	cfg := cleanupConfig(0, 5)
	cfg.ImageCleanup.Disabled = true
	h := startService(t, cfg, engine)
	if _, err := call[bus.PullRequest, bus.PullReply](t, h, bus.SubjectDockerPull, pullReq("old:1", "always")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if len(engine.Removed()) != 0 || !engine.HasImage("old:1") {
		t.Errorf("removed %q with cleanup disabled", engine.Removed())
	}
}
