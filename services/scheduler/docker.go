package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/backoff"
	"github.com/nats-io/nats.go"
)

// Docker is the part of dockerexec the scheduler calls. Every call is idempotent
// on dockerexec's side, keyed by task ARN and container name.
type Docker interface {
	// Pull hands progress (when not nil) how far the pull has got, as dockerexec
	// tells it ("12.3MB of 40.1MB").
	Pull(ctx context.Context, req bus.PullRequest, progress func(string)) (bus.PullReply, error)
	Create(ctx context.Context, req bus.CreateRequest) (bus.CreateReply, error)
	Start(ctx context.Context, req bus.StartRequest) (bus.ContainerState, error)
	Stop(ctx context.Context, req bus.StopRequest) (bus.ContainerState, error)
	Remove(ctx context.Context, req bus.RemoveRequest) error
	Inspect(ctx context.Context, req bus.InspectRequest) (bus.ContainerState, error)
	List(ctx context.Context, req bus.ListRequest) (bus.ListReply, error)
	VolumeCreate(ctx context.Context, req bus.VolumeCreateRequest) (bus.VolumeReply, error)
	VolumeRemove(ctx context.Context, req bus.VolumeRemoveRequest) error
	CgroupCreate(ctx context.Context, req bus.CgroupCreateRequest) (bus.CgroupReply, error)
	CgroupRemove(ctx context.Context, req bus.CgroupRemoveRequest) error
}

// busDocker calls dockerexec's micro service over the bus.
type busDocker struct{ nc *nats.Conn }

var _ Docker = busDocker{}

func (d busDocker) Pull(ctx context.Context, req bus.PullRequest, progress func(string)) (bus.PullReply, error) {
	return bus.CallProgress[bus.PullRequest, bus.PullReply](ctx, d.nc, bus.SubjectDockerPull, req, progress)
}

func (d busDocker) Create(ctx context.Context, req bus.CreateRequest) (bus.CreateReply, error) {
	return bus.Call[bus.CreateRequest, bus.CreateReply](ctx, d.nc, bus.SubjectDockerCreate, req)
}

func (d busDocker) Start(ctx context.Context, req bus.StartRequest) (bus.ContainerState, error) {
	return bus.Call[bus.StartRequest, bus.ContainerState](ctx, d.nc, bus.SubjectDockerStart, req)
}

func (d busDocker) Stop(ctx context.Context, req bus.StopRequest) (bus.ContainerState, error) {
	return bus.Call[bus.StopRequest, bus.ContainerState](ctx, d.nc, bus.SubjectDockerStop, req)
}

func (d busDocker) Remove(ctx context.Context, req bus.RemoveRequest) error {
	_, err := bus.Call[bus.RemoveRequest, json.RawMessage](ctx, d.nc, bus.SubjectDockerRemove, req)
	return err
}

func (d busDocker) Inspect(ctx context.Context, req bus.InspectRequest) (bus.ContainerState, error) {
	return bus.Call[bus.InspectRequest, bus.ContainerState](ctx, d.nc, bus.SubjectDockerInspect, req)
}

func (d busDocker) List(ctx context.Context, req bus.ListRequest) (bus.ListReply, error) {
	return bus.Call[bus.ListRequest, bus.ListReply](ctx, d.nc, bus.SubjectDockerList, req)
}

func (d busDocker) VolumeCreate(ctx context.Context, req bus.VolumeCreateRequest) (bus.VolumeReply, error) {
	return bus.Call[bus.VolumeCreateRequest, bus.VolumeReply](ctx, d.nc, bus.SubjectDockerVolumeCreate, req)
}

func (d busDocker) VolumeRemove(ctx context.Context, req bus.VolumeRemoveRequest) error {
	_, err := bus.Call[bus.VolumeRemoveRequest, json.RawMessage](ctx, d.nc, bus.SubjectDockerVolumeRemove, req)
	return err
}

func (d busDocker) CgroupCreate(ctx context.Context, req bus.CgroupCreateRequest) (bus.CgroupReply, error) {
	return bus.Call[bus.CgroupCreateRequest, bus.CgroupReply](ctx, d.nc, bus.SubjectDockerCgroupCreate, req)
}

func (d busDocker) CgroupRemove(ctx context.Context, req bus.CgroupRemoveRequest) error {
	_, err := bus.Call[bus.CgroupRemoveRequest, json.RawMessage](ctx, d.nc, bus.SubjectDockerCgroupRemove, req)
	return err
}

// retry runs fn, each attempt bounded by timeout, until it succeeds, fails for
// good, or ctx ends. Transport failures (dockerexec restarting, the bus
// reconnecting) are retried for as long as it takes, since the steps are
// idempotent and a task must outlive a restart of its neighbours; an endpoint error
// flagged retryable is tried three times; any other error is final. A request whose
// responder died is noticed within bus.ResponderIdle (the responder sends progress
// while it works), so timeout bounds only an operation that keeps making progress.
func retry(ctx context.Context, timeout time.Duration, fn func(context.Context) error) error {
	bo := backoff.Fast.Start()
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, timeout)
		err := fn(actx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var be *bus.Error
		if errors.As(err, &be) && (!be.Code.Retryable() || attempt >= 3) {
			return err
		}
		// A transport failure (dockerexec restarting, a responder gone silent, the bus
		// reconnecting) is retried soon: backoff.Fast waits at most a second.
		if !backoff.Sleep(ctx, bo.Next()) {
			return ctx.Err()
		}
	}
}
