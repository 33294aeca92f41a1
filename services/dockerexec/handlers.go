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
		log.Debug().Bool("pulled", rep.Pulled).Bool("fell_back", rep.FellBack).Str("image_id", rep.ImageID).Msg("image ready")
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
	defer s.keys.lock(lockKey(bus.ContainerRef{TaskArn: req.TaskArn, ContainerName: name}))()

	existing, err := s.findByLabels(ctx, req.TaskArn, name)
	if err != nil {
		return bus.CreateReply{}, engineError(err, bus.CodeCreateFailed, false, "looking for container %s", name)
	}
	if len(existing) > 0 {
		c := existing[0]
		log.Debug().Str(logger.FieldDockerID, c.ID).Msg("container already exists")
		return bus.CreateReply{DockerID: c.ID, DockerName: summaryName(c), Existed: true}, nil
	}
	secretEnv, err := s.secrets.env(ctx, req.ExecutionCredentialsID, req.Container.Secrets)
	if err != nil {
		log.Warn().Err(err).Msg("the container's secrets could not be fetched")
		return bus.CreateReply{}, err
	}
	cfg, host, err := createConfig(req, s.cfg.HostPortBindIP, secretEnv)
	if err != nil {
		return bus.CreateReply{}, err
	}
	var resp container.CreateResponse
	err = s.engine.through(ctx, prioCreate, func() (err error) {
		resp, err = s.docker.ContainerCreate(ctx, cfg, host, nil, nil, req.DockerName)
		return err
	})
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

// handleStart starts a created container once. It inspects first: a container that is
// running, or has run before (it has a start time, or has exited), is not started
// again, so that a start retried after its reply was lost never runs a finished
// container a second time; the reply is the container's state either way.
func (s *Service) handleStart(ctx context.Context, req bus.StartRequest) (bus.ContainerState, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	defer s.keys.lock(lockKey(req.ContainerRef))()
	in, err := s.resolve(ctx, req.ContainerRef, bus.CodeStartFailed)
	if err != nil {
		return bus.ContainerState{}, err
	}
	st := containerState(in, s.cfg.ExcludeIPv6PortBinding)
	restart := req.RestartAfter != nil && st.Status == bus.StatusStopped &&
		(st.StartedAt == nil || !st.StartedAt.After(*req.RestartAfter))
	if !restart && (st.Status != bus.StatusCreated || st.StartedAt != nil) {
		s.log.Debug().Str(logger.FieldTaskARN, req.TaskArn).Str(logger.FieldContainer, req.ContainerName).
			Str(logger.FieldDockerID, in.ID).Str("status", string(st.Status)).Msg("container has run already; not starting it again")
		return st, nil
	}
	if err := s.engine.through(ctx, prioStart, func() error {
		return s.docker.ContainerStart(ctx, in.ID, container.StartOptions{})
	}); err != nil {
		return bus.ContainerState{}, engineError(err, bus.CodeStartFailed, true, "starting container %s", refName(req.ContainerRef))
	}
	s.log.Info().Str(logger.FieldTaskARN, req.TaskArn).Str(logger.FieldContainer, req.ContainerName).
		Str(logger.FieldDockerID, in.ID).Msg("container started")
	return s.inspect(ctx, in.ID, bus.CodeStartFailed)
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
	defer s.keys.lock(lockKey(req.ContainerRef))()
	in, err := s.resolve(ctx, req.ContainerRef, bus.CodeStopFailed)
	if err != nil {
		return bus.ContainerState{}, err
	}
	id := in.ID
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
		in, err := s.resolve(ctx, req.ContainerRef, bus.CodeInternal)
		if bus.CodeOf(err) == bus.CodeNotFound {
			return struct{}{}, nil // already gone, or never ours: nothing of ours to remove
		}
		if err != nil {
			return struct{}{}, err
		}
		ids = []string{in.ID}
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
		err := s.engine.through(ctx, prioRemove, func() error {
			return s.docker.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
		})
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
	in, err := s.resolve(ctx, req.ContainerRef, bus.CodeInternal)
	if err != nil {
		return bus.ContainerState{}, err
	}
	return containerState(in, s.cfg.ExcludeIPv6PortBinding), nil
}

// handleList inspects every container of this agent's cluster (or of one task, or one
// container instance): a listing alone lacks exit codes and times, which is what the
// callers list for. Containers of other clusters sharing the engine are never listed,
// nor, once the instance is registered, those of other instances; before that (a
// session that lost its store looks for the instance it was) every instance's
// containers of the cluster are.
func (s *Service) handleList(ctx context.Context, req bus.ListRequest) (bus.ListReply, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	args := filters.NewArgs()
	if req.TaskArn != "" {
		args.Add("label", bus.LabelTaskARN+"="+req.TaskArn)
	} else {
		args.Add("label", bus.LabelTaskARN)
	}
	if cluster := firstNonEmpty(req.Cluster, s.cfg.Cluster); cluster != "" {
		args.Add("label", bus.LabelCluster+"="+cluster)
	}
	if req.ContainerInstanceArn != "" {
		args.Add("label", bus.LabelContainerInstanceARN+"="+req.ContainerInstanceArn)
	}
	list, err := s.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
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
		if in.Config == nil || !s.inst.owns(in.Config.Labels) {
			continue // another instance's, sharing the engine and the cluster
		}
		rep.Containers = append(rep.Containers, containerState(in, s.cfg.ExcludeIPv6PortBinding))
	}
	return rep, nil
}

// resolve inspects the container a reference names: by Docker ID, or the one that
// carries the task and container labels. A container that is not this instance's
// (another agent's, or none at all) is CodeNotFound, so that no command can touch a
// container the agent did not create.
func (s *Service) resolve(ctx context.Context, ref bus.ContainerRef, domain bus.Code) (container.InspectResponse, error) {
	// Which containers are this instance's is known once the session registered it;
	// a command that comes before (a dockerexec just restarted) waits for that.
	if _, ok := s.inst.wait(ctx); !ok {
		return container.InspectResponse{}, bus.Errorf(bus.CodeUnavailable, "the container instance is not registered yet")
	}
	id := ref.DockerID
	if id == "" {
		if ref.TaskArn == "" || ref.ContainerName == "" {
			return container.InspectResponse{}, badRequest("name a container by dockerId, or by taskArn and containerName")
		}
		found, err := s.findByLabels(ctx, ref.TaskArn, ref.ContainerName)
		if err != nil {
			return container.InspectResponse{}, engineError(err, bus.CodeInternal, false, "looking for container %s", ref.ContainerName)
		}
		if len(found) == 0 {
			return container.InspectResponse{}, bus.Errorf(bus.CodeNotFound, "no container %s of task %s", ref.ContainerName, ref.TaskArn)
		}
		id = found[0].ID
	}
	in, err := s.docker.ContainerInspect(ctx, id)
	if err != nil {
		return container.InspectResponse{}, engineError(err, domain, true, "inspecting container %s", id)
	}
	if in.ContainerJSONBase == nil || in.Config == nil || !s.inst.owns(in.Config.Labels) {
		return container.InspectResponse{}, bus.Errorf(bus.CodeNotFound, "container %s is not one of this agent's", id)
	}
	return in, nil
}

// findByLabels lists the containers of one task container, oldest first, so that
// every caller picks the same one if an old crash left two.
func (s *Service) findByLabels(ctx context.Context, taskArn, name string) ([]container.Summary, error) {
	args := filters.NewArgs(
		filters.Arg("label", bus.LabelTaskARN+"="+taskArn),
		filters.Arg("label", bus.LabelContainerName+"="+name),
	)
	if s.cfg.Cluster != "" {
		args.Add("label", bus.LabelCluster+"="+s.cfg.Cluster)
	}
	list, err := s.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		return nil, err
	}
	own := list[:0]
	for _, c := range list {
		if s.inst.owns(c.Labels) {
			own = append(own, c)
		}
	}
	list = own
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
	return containerState(in, s.cfg.ExcludeIPv6PortBinding), nil
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

// lockKey serialises the commands of one container within this process.
func lockKey(ref bus.ContainerRef) string {
	if ref.TaskArn != "" && ref.ContainerName != "" {
		return ref.TaskArn + "\x00" + ref.ContainerName
	}
	return ref.DockerID
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
