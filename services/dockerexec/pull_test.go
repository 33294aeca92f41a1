package dockerexec_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/services/dockerexec/dockerfake"
)

func pullReq(image, behavior string) bus.PullRequest {
	return bus.PullRequest{TaskArn: taskArn, ContainerName: "app", Image: image, Behavior: behavior}
}

// Under default a pull that fails falls back to the cached image; under always and
// once it is CannotPullContainerError. The pull times are reported only when a pull
// was made.
func TestPullFallback(t *testing.T) {
	registryDown := errors.New(`Get "http://127.0.0.1:5/v2/": dial tcp 127.0.0.1:5: connect: connection refused`)
	for _, behavior := range []string{"default", "always", "once", "prefer-cached"} {
		t.Run(behavior, func(t *testing.T) {
			engine := dockerfake.New()
			engine.AddImage("app:1", dockerfake.Image{ID: "sha256:old", RepoDigests: []string{"app@sha256:0ld"}})
			engine.FailPull("app:1", registryDown)
			h := startService(t, testConfig(), engine)
			rep, err := call[bus.PullRequest, bus.PullReply](t, h, bus.SubjectDockerPull, pullReq("app:1", behavior))
			switch behavior {
			case "default":
				if err != nil {
					t.Fatal(err)
				}
				if !rep.FellBack || rep.Pulled || rep.ImageID != "sha256:old" || rep.Digest != "sha256:0ld" {
					t.Errorf("reply %+v, want the cached image", rep)
				}
				if rep.StartedAt == nil || rep.StoppedAt == nil || rep.StoppedAt.Before(*rep.StartedAt) {
					t.Errorf("pull times %v %v, want those of the failed pull", rep.StartedAt, rep.StoppedAt)
				}
			case "prefer-cached":
				if err != nil || rep.Pulled || rep.FellBack || rep.StartedAt != nil || rep.StoppedAt != nil {
					t.Errorf("reply %+v, %v: want the cached image without a pull", rep, err)
				}
			default:
				wantCode(t, err, bus.CodePullFailed)
				if !strings.Contains(err.Error(), "connection refused") {
					t.Errorf("error %v lacks the registry's answer", err)
				}
			}
		})
	}
}

// once pulls the first time, not after, and remembers it across a restart of
// dockerexec; an image removed meanwhile is pulled again.
func TestPullOnceIsRemembered(t *testing.T) {
	engine := dockerfake.New()
	img := dockerfake.Image{ID: "sha256:app", RepoDigests: []string{"app@sha256:feed"}}
	engine.AddImage("app:1", img)
	engine.AddRegistryImage("app:1", img)
	h := startService(t, testConfig(), engine)
	pull := func(want int) bus.PullReply {
		t.Helper()
		rep, err := call[bus.PullRequest, bus.PullReply](t, h, bus.SubjectDockerPull, pullReq("app:1", "once"))
		if err != nil {
			t.Fatal(err)
		}
		if n := engine.PullCount("app:1"); n != want {
			t.Fatalf("%d pulls, want %d", n, want)
		}
		return rep
	}
	if rep := pull(1); !rep.Pulled || rep.StartedAt == nil {
		t.Errorf("first pull %+v", rep)
	}
	if rep := pull(1); rep.Pulled || rep.StartedAt != nil || rep.ImageID != "sha256:app" {
		t.Errorf("second pull %+v, want the cached image and no pull times", rep)
	}
	h.stopAll(t)
	h.run(t, testConfig(), engine)
	pull(1)
	engine.RemoveImage("app:1")
	pull(2)
}

// However many callers, and whatever their behaviour, one image is pulled once at a
// time.
func TestOnePullPerImage(t *testing.T) {
	engine := dockerfake.New()
	engine.AddRegistryImage("app:1", dockerfake.Image{ID: "sha256:app", Size: 40_000_000})
	release := engine.HoldPulls("app:1")
	h := startService(t, testConfig(), engine)
	behaviors := []string{"default", "always", "once", "prefer-cached"}
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	reps := make(chan bus.PullReply, 10)
	for i := range 10 {
		wg.Go(func() {
			req := pullReq("app:1", behaviors[i%len(behaviors)])
			req.ContainerName = fmt.Sprintf("c%d", i)
			rep, err := call[bus.PullRequest, bus.PullReply](t, h, bus.SubjectDockerPull, req)
			errs <- err
			reps <- rep
		})
	}
	time.Sleep(300 * time.Millisecond) // every caller is waiting on the held pull
	release()
	wg.Wait()
	close(errs)
	close(reps)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for rep := range reps {
		if rep.ImageID != "sha256:app" || !rep.Pulled || rep.Bytes != 40_000_000 {
			t.Errorf("reply %+v, want the pulled image with its 40 MB", rep)
		}
	}
	if n := engine.PullCount("app:1"); n != 1 {
		t.Fatalf("%d pulls for 10 callers, want 1", n)
	}
}

// A pull whose progress stream goes silent for the inactivity timeout is cancelled
// and reported with the real agent's reason; it does not wait for the pull timeout.
func TestPullInactivityTimeout(t *testing.T) {
	engine := dockerfake.New()
	engine.AddRegistryImage("app:1", dockerfake.Image{ID: "sha256:app"})
	engine.StallPulls("app:1", true)
	cfg := testConfig()
	cfg.PullInactivityTimeout = 200 * time.Millisecond
	cfg.PullAttempts = 2
	h := startService(t, cfg, engine)
	start := time.Now()
	_, err := call[bus.PullRequest, bus.PullReply](t, h, bus.SubjectDockerPull, pullReq("app:1", "default"))
	wantCode(t, err, bus.CodePullFailed)
	if !strings.Contains(err.Error(), "inactivity time exceeded timeout while pulling image") {
		t.Errorf("error %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %v", took)
	}
	if n := engine.PullCount("app:1"); n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}
}

// The whole pull is bounded by the pull timeout, and a pull that ran out of it is
// not retryable: a caller must not start it over.
func TestPullTimeout(t *testing.T) {
	engine := dockerfake.New()
	engine.AddRegistryImage("app:1", dockerfake.Image{ID: "sha256:app"})
	release := engine.HoldPulls("app:1")
	defer release()
	cfg := testConfig()
	cfg.PullTimeout = 300 * time.Millisecond
	h := startService(t, cfg, engine)
	start := time.Now()
	_, err := call[bus.PullRequest, bus.PullReply](t, h, bus.SubjectDockerPull, pullReq("app:1", "always"))
	wantCode(t, err, bus.CodePullFailed)
	if !strings.Contains(err.Error(), "timed out after waiting 300ms") {
		t.Errorf("error %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %v", took)
	}
}

// A caller listening to the pull's progress hears how far it has got.
func TestPullProgressReachesTheCaller(t *testing.T) {
	engine := dockerfake.New()
	engine.AddRegistryImage("app:1", dockerfake.Image{ID: "sha256:app", Size: 40_000_000})
	engine.StallPulls("app:1", true)
	cfg := testConfig()
	cfg.PullInactivityTimeout = 1500 * time.Millisecond
	cfg.PullAttempts = 1
	h := startService(t, cfg, engine)
	var seen []string
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := bus.CallProgress[bus.PullRequest, bus.PullReply](ctx, h.nc, bus.SubjectDockerPull, pullReq("app:1", "default"),
		func(s string) { seen = append(seen, s) })
	wantCode(t, err, bus.CodePullFailed) // the registry stays silent: the inactivity timeout ends it
	if len(seen) == 0 || seen[0] != "10.0MB of 40.0MB" {
		t.Errorf("progress heard %q", seen)
	}
}
