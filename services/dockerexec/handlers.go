package dockerexec

import (
	"context"
	"math"
	"sort"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/logger"
)

// The handlers below run on their own goroutine each (see dispatch) and may block on
// the engine; each bounds its Docker calls with a timeout.

func (s *Service) handlePull(ctx context.Context, req bus.PullRequest) (bus.PullReply, error) {
	rep, err := s.pull.pull(ctx, req)
	log := s.log.With().Str(logger.FieldTaskARN, req.TaskArn).Str(logger.FieldContainer, req.ContainerName).
		Str("image", req.Image).Logger()
	if err == nil {
		log.Debug().Bool("pulled", rep.Pulled).Str("image_id", rep.ImageID).Msg("image ready")
	}
	return rep, err
}

// handleCreate is idempotent: the container of a task ARN and container name is
// created once. A retry finds it by its labels; a retry racing a create that had not
// yet finished (or one from before a crash) trips over the Docker name and finds it
// by name.
func (s *Service) handleCreate(ctx context.Context, req bus.CreateRequest) (bus.CreateReply, error) {
	if err := validateCreate(req); err != nil {
		return bus.CreateReply{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	name := req.Container.Name
	log := s.log.With().Str(logger.FieldTaskARN, req.TaskArn).Str(logger.FieldContainer, name).Logger()
	defer s.keys.lock(req.TaskArn + "\x00" + name)()

	existing, err := s.findByLabels(ctx, req.TaskArn, name)
	if err != nil {
		return bus.CreateReply{}, engineError(err, bus.CodeCreateFailed, false, "looking for container %s", name)
	}
	if len(existing) > 0 {
		c := existing[0]
		log.Debug().Str(logger.FieldDockerID, c.ID).Msg("container already exists")
		return bus.CreateReply{DockerID: c.ID, DockerName: summaryName(c), Existed: true}, nil
	}
	cfg, host, err := createConfig(req, s.cfg.HostPortBindIP)
	if err != nil {
		return bus.CreateReply{}, err
	}
	resp, err := s.docker.ContainerCreate(ctx, cfg, host, nil, nil, req.DockerName)
	if err != nil {
		if cerrdefs.IsConflict(err) && req.DockerName != "" {
			if rep, ok := s.sameContainer(ctx, req); ok {
				log.Debug().Str(logger.FieldDockerID, rep.DockerID).Msg("container already exists under its name")
				return rep, nil
			}
		}
		return bus.CreateReply{}, engineError(err, bus.CodeCreateFailed, false, "creating container %s", name)
	}
	for _, w := range resp.Warnings {
		log.Warn().Str(logger.FieldDockerID, resp.ID).Str("warning", w).Msg("docker create")
	}
	log.Info().Str(logger.FieldDockerID, resp.ID).Str("docker_name", req.DockerName).
		Str("ports", describePorts(host.PortBindings)).Msg("container created")
	return bus.CreateReply{DockerID: resp.ID, DockerName: req.DockerName}, nil
}

// sameContainer reports whether the container holding req.DockerName is req's own.
func (s *Service) sameContainer(ctx context.Context, req bus.CreateRequest) (bus.CreateReply, bool) {
	in, err := s.docker.ContainerInspect(ctx, req.DockerName)
	if err != nil || in.ContainerJSONBase == nil || in.Config == nil {
		return bus.CreateReply{}, false
	}
	l := in.Config.Labels
	if l[bus.LabelTaskARN] != req.TaskArn || l[bus.LabelContainerName] != req.Container.Name {
		return bus.CreateReply{}, false
	}
	return bus.CreateReply{DockerID: in.ID, DockerName: strings.TrimPrefix(in.Name, "/"), Existed: true}, true
}

func (s *Service) handleStart(ctx context.Context, req bus.StartRequest) (bus.ContainerState, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	id, err := s.resolve(ctx, req.ContainerRef)
	if err != nil {
		return bus.ContainerState{}, err
	}
	// Starting a running container is a no-op for Docker (304), which makes start
	// idempotent for free.
	if err := s.docker.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return bus.ContainerState{}, engineError(err, bus.CodeStartFailed, true, "starting container %s", refName(req.ContainerRef))
	}
	s.log.Info().Str(logger.FieldTaskARN, req.TaskArn).Str(logger.FieldContainer, req.ContainerName).
		Str(logger.FieldDockerID, id).Msg("container started")
	return s.inspect(ctx, id, bus.CodeStartFailed)
}

// handleStop stops with the request's timeout (the configured stop timeout when it
// carries none), then kills. Stopping a stopped container succeeds.
func (s *Service) handleStop(ctx context.Context, req bus.StopRequest) (bus.ContainerState, error) {
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = s.cfg.StopTimeout
	}
	// The engine waits for the timeout, then kills and waits for the exit.
	ctx, cancel := context.WithTimeout(ctx, timeout+s.cfg.CallTimeout)
	defer cancel()
	id, err := s.resolve(ctx, req.ContainerRef)
	if err != nil {
		return bus.ContainerState{}, err
	}
	secs := int(math.Ceil(timeout.Seconds()))
	if err := s.docker.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs}); err != nil {
		return bus.ContainerState{}, engineError(err, bus.CodeStopFailed, true, "stopping container %s", refName(req.ContainerRef))
	}
	s.log.Info().Str(logger.FieldTaskARN, req.TaskArn).Str(logger.FieldContainer, req.ContainerName).
		Str(logger.FieldDockerID, id).Msg("container stopped")
	return s.inspect(ctx, id, bus.CodeStopFailed)
}

// handleRemove removes the container with its anonymous volumes, by force. A
// container that is already gone is success. When named by task and container, every
// container carrying those labels goes, so that a duplicate left by an old crash does
// not leak.
func (s *Service) handleRemove(ctx context.Context, req bus.RemoveRequest) (struct{}, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	var ids []string
	switch {
	case req.DockerID != "":
		ids = []string{req.DockerID}
	case req.TaskArn != "" && req.ContainerName != "":
		found, err := s.findByLabels(ctx, req.TaskArn, req.ContainerName)
		if err != nil {
			return struct{}{}, engineError(err, bus.CodeInternal, false, "looking for container %s", req.ContainerName)
		}
		for _, c := range found {
			ids = append(ids, c.ID)
		}
	default:
		return struct{}{}, badRequest("remove: name a container by dockerId, or by taskArn and containerName")
	}
	for _, id := range ids {
		err := s.docker.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			return struct{}{}, engineError(err, bus.CodeInternal, false, "removing container %s", refName(req.ContainerRef))
		}
		s.log.Info().Str(logger.FieldTaskARN, req.TaskArn).Str(logger.FieldContainer, req.ContainerName).
			Str(logger.FieldDockerID, id).Msg("container removed")
	}
	return struct{}{}, nil
}

func (s *Service) handleInspect(ctx context.Context, req bus.InspectRequest) (bus.ContainerState, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	id, err := s.resolve(ctx, req.ContainerRef)
	if err != nil {
		return bus.ContainerState{}, err
	}
	return s.inspect(ctx, id, bus.CodeInternal)
}

// handleList inspects every container of the agent (or of one task): a listing alone
// lacks exit codes and times, which is what the scheduler lists for.
func (s *Service) handleList(ctx context.Context, req bus.ListRequest) (bus.ListReply, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	label := bus.LabelTaskARN
	if req.TaskArn != "" {
		label += "=" + req.TaskArn
	}
	list, err := s.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", label))})
	if err != nil {
		return bus.ListReply{}, engineError(err, bus.CodeInternal, false, "listing containers")
	}
	rep := bus.ListReply{Containers: make([]bus.ContainerState, 0, len(list))}
	for _, c := range list {
		in, err := s.docker.ContainerInspect(ctx, c.ID)
		if cerrdefs.IsNotFound(err) {
			continue // removed between the listing and now
		}
		if err != nil {
			return bus.ListReply{}, engineError(err, bus.CodeInternal, false, "inspecting container %s", c.ID)
		}
		rep.Containers = append(rep.Containers, containerState(in))
	}
	return rep, nil
}

// resolve finds the Docker ID of a reference: the ID as given, or the container that
// carries the task and container labels.
func (s *Service) resolve(ctx context.Context, ref bus.ContainerRef) (string, error) {
	if ref.DockerID != "" {
		return ref.DockerID, nil
	}
	if ref.TaskArn == "" || ref.ContainerName == "" {
		return "", badRequest("name a container by dockerId, or by taskArn and containerName")
	}
	found, err := s.findByLabels(ctx, ref.TaskArn, ref.ContainerName)
	if err != nil {
		return "", engineError(err, bus.CodeInternal, false, "looking for container %s", ref.ContainerName)
	}
	if len(found) == 0 {
		return "", bus.Errorf(bus.CodeNotFound, "no container %s of task %s", ref.ContainerName, ref.TaskArn)
	}
	return found[0].ID, nil
}

// findByLabels lists the containers of one task container, oldest first, so that
// every caller picks the same one if an old crash left two.
func (s *Service) findByLabels(ctx context.Context, taskArn, name string) ([]container.Summary, error) {
	list, err := s.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", bus.LabelTaskARN+"="+taskArn),
		filters.Arg("label", bus.LabelContainerName+"="+name),
	)})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].Created != list[j].Created {
			return list[i].Created < list[j].Created
		}
		return list[i].ID < list[j].ID
	})
	return list, nil
}

func (s *Service) inspect(ctx context.Context, id string, domain bus.Code) (bus.ContainerState, error) {
	in, err := s.docker.ContainerInspect(ctx, id)
	if err != nil {
		return bus.ContainerState{}, engineError(err, domain, true, "inspecting container %s", id)
	}
	return containerState(in), nil
}

func summaryName(c container.Summary) string {
	if len(c.Names) == 0 {
		return ""
	}
	return strings.TrimPrefix(c.Names[0], "/")
}

func refName(ref bus.ContainerRef) string {
	if ref.ContainerName != "" {
		return ref.ContainerName
	}
	return ref.DockerID
}
