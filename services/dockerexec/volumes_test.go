package dockerexec_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/volume"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/services/dockerexec"
	"github.com/ecs-agent/ecs-agent/services/dockerexec/dockerfake"
)

const volTask = "arn:aws:ecs:us-west-2:123456789012:task/default/vol1"

func TestTaskVolumeCreatedLabelledAndRemoved(t *testing.T) {
	eng := dockerfake.New()
	h := startService(t, dockerexec.Config{Cluster: "default"}, eng)
	req := bus.VolumeCreateRequest{TaskArn: volTask, Cluster: "default", ContainerInstanceArn: instanceArn,
		Name: "ecs-f-1-tmp-0011", Scope: bus.VolumeScopeTask, Driver: "local",
		DriverOpts: map[string]string{"type": "tmpfs", "device": "tmpfs"},
		Labels:     map[string]string{"team": "a", bus.LabelTaskARN: "forged"}}
	rep, err := call[bus.VolumeCreateRequest, bus.VolumeReply](t, h, bus.SubjectDockerVolumeCreate, req)
	if err != nil || !rep.Created || rep.Driver != "local" {
		t.Fatalf("create: %+v, %v", rep, err)
	}
	v, _ := eng.Volume(req.Name)
	if v.Options["type"] != "tmpfs" || v.Labels["team"] != "a" || v.Labels[bus.LabelTaskARN] != volTask ||
		v.Labels[bus.LabelCluster] != "default" || v.Labels[bus.LabelContainerInstanceARN] != instanceArn {
		t.Errorf("volume options %v labels %v", v.Options, v.Labels)
	}
	// A second create (a retry, another container of the task) finds it.
	rep, err = call[bus.VolumeCreateRequest, bus.VolumeReply](t, h, bus.SubjectDockerVolumeCreate, req)
	if err != nil || rep.Created || eng.VolumeCreateCount(req.Name) != 1 {
		t.Fatalf("second create: %+v, %v, %d creates", rep, err, eng.VolumeCreateCount(req.Name))
	}
	// Another task's remove leaves it; its own removes it; a second remove succeeds.
	if _, err := call[bus.VolumeRemoveRequest, struct{}](t, h, bus.SubjectDockerVolumeRemove,
		bus.VolumeRemoveRequest{TaskArn: volTask + "x", Name: req.Name}); err != nil {
		t.Fatal(err)
	}
	if _, ok := eng.Volume(req.Name); !ok {
		t.Fatal("another task's remove removed the volume")
	}
	for i := 0; i < 2; i++ {
		if _, err := call[bus.VolumeRemoveRequest, struct{}](t, h, bus.SubjectDockerVolumeRemove,
			bus.VolumeRemoveRequest{TaskArn: volTask, Name: req.Name}); err != nil {
			t.Fatalf("remove %d: %v", i+1, err)
		}
	}
	if _, ok := eng.Volume(req.Name); ok {
		t.Fatal("volume still there after its task's remove")
	}
}

func TestTaskVolumeNameTakenByAnother(t *testing.T) {
	eng := dockerfake.New()
	eng.AddVolume(volume.Volume{Name: "ecs-f-1-tmp-0011", Labels: map[string]string{bus.LabelTaskARN: "someone-else"}})
	h := startService(t, dockerexec.Config{Cluster: "default"}, eng)
	_, err := call[bus.VolumeCreateRequest, bus.VolumeReply](t, h, bus.SubjectDockerVolumeCreate,
		bus.VolumeCreateRequest{TaskArn: volTask, Name: "ecs-f-1-tmp-0011", Scope: bus.VolumeScopeTask})
	if !errors.Is(err, &bus.Error{Code: bus.CodeResourceInit}) {
		t.Fatalf("error %v, want ResourceInitializationError", err)
	}
}

func TestSharedVolumes(t *testing.T) {
	shared := func(name string, auto bool) bus.VolumeCreateRequest {
		return bus.VolumeCreateRequest{TaskArn: volTask, Cluster: "default", ContainerInstanceArn: instanceArn, Name: name,
			Scope: bus.VolumeScopeShared, Autoprovision: auto, Labels: map[string]string{"app": "db"}}
	}
	t.Run("absent without autoprovision", func(t *testing.T) {
		h := startService(t, dockerexec.Config{}, dockerfake.New())
		_, err := call[bus.VolumeCreateRequest, bus.VolumeReply](t, h, bus.SubjectDockerVolumeCreate, shared("data", false))
		if !errors.Is(err, &bus.Error{Code: bus.CodeResourceInit}) ||
			!strings.Contains(err.Error(), "volume 'data' does not exist and autoprovision is set to false") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("autoprovisioned, with the task's labels only, and never removed", func(t *testing.T) {
		eng := dockerfake.New()
		h := startService(t, dockerexec.Config{}, eng)
		rep, err := call[bus.VolumeCreateRequest, bus.VolumeReply](t, h, bus.SubjectDockerVolumeCreate, shared("data", true))
		if err != nil || !rep.Created {
			t.Fatalf("%+v, %v", rep, err)
		}
		v, _ := eng.Volume("data")
		if len(v.Labels) != 1 || v.Labels["app"] != "db" {
			t.Errorf("labels %v", v.Labels)
		}
		if _, err := call[bus.VolumeRemoveRequest, struct{}](t, h, bus.SubjectDockerVolumeRemove,
			bus.VolumeRemoveRequest{TaskArn: volTask, Name: "data"}); err != nil {
			t.Fatal(err)
		}
		if _, ok := eng.Volume("data"); !ok {
			t.Fatal("a shared volume was removed")
		}
	})
	t.Run("existing one, matched in full only when asked", func(t *testing.T) {
		eng := dockerfake.New()
		eng.AddVolume(volume.Volume{Name: "data", Labels: map[string]string{"app": "web"}})
		h := startService(t, dockerexec.Config{}, eng)
		if _, err := call[bus.VolumeCreateRequest, bus.VolumeReply](t, h, bus.SubjectDockerVolumeCreate, shared("data", true)); err != nil {
			t.Fatalf("without ECS_SHARED_VOLUME_MATCH_FULL_CONFIG: %v", err)
		}
		h = startService(t, dockerexec.Config{SharedVolumeMatchFullConfig: true}, eng)
		_, err := call[bus.VolumeCreateRequest, bus.VolumeReply](t, h, bus.SubjectDockerVolumeCreate, shared("data", true))
		if !errors.Is(err, &bus.Error{Code: bus.CodeResourceInit}) || !strings.Contains(err.Error(), "labels") {
			t.Fatalf("with ECS_SHARED_VOLUME_MATCH_FULL_CONFIG: %v", err)
		}
		if _, err := call[bus.VolumeCreateRequest, bus.VolumeReply](t, h, bus.SubjectDockerVolumeCreate, shared("data", false)); err != nil {
			t.Fatalf("not autoprovisioned, so not matched: %v", err)
		}
	})
}
