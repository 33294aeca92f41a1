package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/nats-io/nats.go"
)

// Docker is the part of dockerexec the scheduler calls. Every call is idempotent
// on dockerexec's side, keyed by task ARN and container name.
type Docker interface {
	Pull(ctx context.Context, req bus.PullRequest) (bus.PullReply, error)
	Create(ctx context.Context, req bus.CreateRequest) (bus.CreateReply, error)
	Start(ctx context.Context, req bus.StartRequest) (bus.ContainerState, error)
	Stop(ctx context.Context, req bus.StopRequest) (bus.ContainerState, error)
	Remove(ctx context.Context, req bus.RemoveRequest) error
	Inspect(ctx context.Context, req bus.InspectRequest) (bus.ContainerState, error)
}

// busDocker calls dockerexec's micro service over the bus.
type busDocker struct{ nc *nats.Conn }

var _ Docker = busDocker{}

// call is bus.Call that accepts an empty reply body, so that an endpoint answering
// a bare success (remove) decodes into the zero value.
func call[Rep any](ctx context.Context, nc *nats.Conn, subject string, req any) (Rep, error) {
	var rep Rep
	data, err := json.Marshal(req)
	if err != nil {
		return rep, fmt.Errorf("encoding %s request: %w", subject, err)
	}
	msg, err := nc.RequestWithContext(ctx, subject, data)
	if err != nil {
		return rep, fmt.Errorf("calling %s: %w", subject, err)
	}
	if err := bus.ErrorFromReply(msg); err != nil {
		return rep, err
	}
	if len(msg.Data) == 0 {
		return rep, nil
	}
	if err := json.Unmarshal(msg.Data, &rep); err != nil {
		return rep, fmt.Errorf("decoding %s reply: %w", subject, err)
	}
	return rep, nil
}

func (d busDocker) Pull(ctx context.Context, req bus.PullRequest) (bus.PullReply, error) {
	return call[bus.PullReply](ctx, d.nc, bus.SubjectDockerPull, req)
}

func (d busDocker) Create(ctx context.Context, req bus.CreateRequest) (bus.CreateReply, error) {
	return call[bus.CreateReply](ctx, d.nc, bus.SubjectDockerCreate, req)
}

func (d busDocker) Start(ctx context.Context, req bus.StartRequest) (bus.ContainerState, error) {
	return call[bus.ContainerState](ctx, d.nc, bus.SubjectDockerStart, req)
}

func (d busDocker) Stop(ctx context.Context, req bus.StopRequest) (bus.ContainerState, error) {
	return call[bus.ContainerState](ctx, d.nc, bus.SubjectDockerStop, req)
}

func (d busDocker) Remove(ctx context.Context, req bus.RemoveRequest) error {
	_, err := call[json.RawMessage](ctx, d.nc, bus.SubjectDockerRemove, req)
	return err
}

func (d busDocker) Inspect(ctx context.Context, req bus.InspectRequest) (bus.ContainerState, error) {
	return call[bus.ContainerState](ctx, d.nc, bus.SubjectDockerInspect, req)
}

// retry runs fn, each attempt bounded by timeout, until it succeeds, fails for
// good, or ctx ends. Transport failures (dockerexec restarting, the bus
// reconnecting) are retried for as long as it takes, since the steps are
// idempotent and a task must outlive a restart of its neighbours; an endpoint error
// flagged retryable is tried three times; any other error is final.
func retry(ctx context.Context, timeout time.Duration, fn func(context.Context) error) error {
	wait := 250 * time.Millisecond
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
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		if wait *= 2; wait > 5*time.Second {
			wait = 5 * time.Second
		}
	}
}
