package dockerexec

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/volume"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/logger"
)

// The volume endpoints. A task's volumes are made before its containers and, when
// they are the task's own, removed at its cleanup:
//
//	scope    exists                     absent
//	task     ours: used; else refused   created, agent labels + the task's
//	shared   used (checked against the  autoprovision: created, the task's labels
//	         task's configuration with  no autoprovision: ResourceInitializationError
//	         MATCH_FULL_CONFIG)
//
// Shared volumes are never removed by the agent.

const defaultVolumeDriver = "local"

func (s *Service) handleVolumeCreate(ctx context.Context, req bus.VolumeCreateRequest) (bus.VolumeReply, error) {
	switch {
	case req.TaskArn == "":
		return bus.VolumeReply{}, badRequest("volume create: taskArn is required")
	case req.Name == "":
		return bus.VolumeReply{}, badRequest("volume create: name is required")
	case req.Scope != bus.VolumeScopeTask && req.Scope != bus.VolumeScopeShared:
		return bus.VolumeReply{}, badRequest("volume create: scope %q, want task or shared", req.Scope)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	defer s.keys.lock("volume\x00" + req.Name)()
	log := s.log.With().Str(logger.FieldTaskARN, req.TaskArn).Str("volume", req.Name).Str("scope", req.Scope).Logger()

	existing, err := s.docker.VolumeInspect(ctx, req.Name)
	switch {
	case err == nil:
		if err := s.usable(req, existing); err != nil {
			log.Warn().Err(err).Msg("volume refused")
			return bus.VolumeReply{}, err
		}
		log.Debug().Str("driver", existing.Driver).Msg("volume exists")
		return volumeReply(existing, false), nil
	case !cerrdefs.IsNotFound(err):
		return bus.VolumeReply{}, engineError(err, bus.CodeResourceInit, false, "inspecting volume %s", req.Name)
	}
	if req.Scope == bus.VolumeScopeShared && !req.Autoprovision {
		return bus.VolumeReply{}, bus.Errorf(bus.CodeResourceInit,
			"resource cannot be initialized for task %s: initialize volume: volume detection failed, volume '%s' does not exist and autoprovision is set to false",
			req.TaskArn, req.Name)
	}
	opts := volume.CreateOptions{Name: req.Name, Driver: driverOf(req.Driver), DriverOpts: req.DriverOpts, Labels: volumeLabels(req)}
	created, err := s.docker.VolumeCreate(ctx, opts)
	if err != nil {
		return bus.VolumeReply{}, engineError(err, bus.CodeResourceInit, false, "creating volume %s with driver %s", req.Name, opts.Driver)
	}
	log.Info().Str("driver", created.Driver).Str("options", describeMap(req.DriverOpts)).
		Str("labels", describeMap(req.Labels)).Msg("volume created")
	return volumeReply(created, true), nil
}

// usable reports whether an existing volume may serve the request. A task-scoped
// volume must be the task's own (a name collision with anything else is refused
// rather than shared); a shared one is taken as it is, unless the task
// autoprovisions it and ECS_SHARED_VOLUME_MATCH_FULL_CONFIG asks for its driver,
// options and labels to be the task's.
func (s *Service) usable(req bus.VolumeCreateRequest, v volume.Volume) error {
	if req.Scope == bus.VolumeScopeTask {
		if v.Labels[bus.LabelTaskARN] != req.TaskArn || !s.ownsVolume(v) {
			return bus.Errorf(bus.CodeResourceInit,
				"resource cannot be initialized for task %s: initialize volume: volume %s exists and is not this task's", req.TaskArn, req.Name)
		}
		return nil
	}
	if !req.Autoprovision || !s.cfg.SharedVolumeMatchFullConfig {
		return nil
	}
	mismatch := func(what string, have, want any) error {
		return bus.Errorf(bus.CodeResourceInit,
			"resource cannot be initialized for task %s: initialize volume: existing volume %s does not match the task's %s: existing: %v, expected: %v",
			req.TaskArn, req.Name, what, have, want)
	}
	if driverOf(v.Driver) != driverOf(req.Driver) {
		return mismatch("driver", v.Driver, driverOf(req.Driver))
	}
	if !sameMap(v.Labels, req.Labels) {
		return mismatch("labels", describeMap(v.Labels), describeMap(req.Labels))
	}
	if !sameMap(v.Options, req.DriverOpts) {
		return mismatch("driver options", describeMap(v.Options), describeMap(req.DriverOpts))
	}
	return nil
}

// ownsVolume reports whether a task-scoped volume was made by this instance's agent
// (or before the instance was known).
func (s *Service) ownsVolume(v volume.Volume) bool {
	if s.cfg.Cluster != "" && v.Labels[bus.LabelCluster] != "" && v.Labels[bus.LabelCluster] != s.cfg.Cluster {
		return false
	}
	own, theirs := s.inst.ARN(), v.Labels[bus.LabelContainerInstanceARN]
	return own == "" || theirs == "" || own == theirs
}

// handleVolumeRemove removes a task's own volume. A volume that is gone is
// success; one that is not labelled with the task is left alone (success, logged):
// the agent removes only what it made.
func (s *Service) handleVolumeRemove(ctx context.Context, req bus.VolumeRemoveRequest) (struct{}, error) {
	if req.TaskArn == "" || req.Name == "" {
		return struct{}{}, badRequest("volume remove: taskArn and name are required")
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	defer s.keys.lock("volume\x00" + req.Name)()
	log := s.log.With().Str(logger.FieldTaskARN, req.TaskArn).Str("volume", req.Name).Logger()
	v, err := s.docker.VolumeInspect(ctx, req.Name)
	switch {
	case cerrdefs.IsNotFound(err):
		return struct{}{}, nil
	case err != nil:
		return struct{}{}, engineError(err, bus.CodeInternal, false, "inspecting volume %s", req.Name)
	}
	if v.Labels[bus.LabelTaskARN] != req.TaskArn || !s.ownsVolume(v) {
		log.Info().Str("task_label", v.Labels[bus.LabelTaskARN]).Msg("volume is not this task's; not removing it")
		return struct{}{}, nil
	}
	if err := s.docker.VolumeRemove(ctx, req.Name, false); err != nil && !cerrdefs.IsNotFound(err) {
		// In use (a container not yet removed): the cleanup tries again.
		return struct{}{}, engineError(err, bus.CodeInternal, false, "removing volume %s", req.Name)
	}
	log.Info().Msg("volume removed")
	return struct{}{}, nil
}

// volumeLabels are a created volume's labels: the task's, and for a task-scoped
// volume the agent's, which win. A shared volume outlives its task and carries
// only the task definition's labels, so that it matches the next task's.
func volumeLabels(req bus.VolumeCreateRequest) map[string]string {
	l := maps.Clone(req.Labels)
	if req.Scope != bus.VolumeScopeTask {
		return l
	}
	if l == nil {
		l = map[string]string{}
	}
	l[bus.LabelTaskARN] = req.TaskArn
	if req.Cluster != "" {
		l[bus.LabelCluster] = req.Cluster
	}
	if req.ContainerInstanceArn != "" {
		l[bus.LabelContainerInstanceARN] = req.ContainerInstanceArn
	}
	return l
}

func volumeReply(v volume.Volume, created bool) bus.VolumeReply {
	return bus.VolumeReply{Name: v.Name, Driver: v.Driver, Mountpoint: v.Mountpoint, Created: created}
}

func driverOf(d string) string {
	if d == "" {
		return defaultVolumeDriver
	}
	return d
}

// sameMap compares two string maps, nil and empty being the same.
func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// describeMap is a map for logs and reasons, sorted.
func describeMap(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s=%s", k, v))
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, ",") + "}"
}
