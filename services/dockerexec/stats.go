package dockerexec

import (
	"bytes"
	"context"
	"encoding/json"
	"io"

	"github.com/docker/docker/api/types/container"

	"github.com/ecs-agent/ecs-agent/bus"
)

// Stats is the Docker call the stats endpoint makes.
type Stats interface {
	ContainerStats(ctx context.Context, id string, stream bool) (container.StatsResponseReader, error)
	ContainerStatsOneShot(ctx context.Context, id string) (container.StatsResponseReader, error)
}

// maxStatsBytes bounds one stats sample; the engine's is a few kilobytes.
const maxStatsBytes = 1 << 20

// handleStats returns one stats sample of a container, in the engine's own JSON, for
// the task metadata endpoint. It asks for a non-streamed sample rather than a
// one-shot one: the engine then waits for a second reading, so precpu_stats is filled
// and a client can compute CPU usage from one answer, as it can from the real agent's
// (which keeps a previous sample). That takes the engine about a second.
func (s *Service) handleStats(ctx context.Context, req bus.StatsRequest) (bus.StatsReply, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	in, err := s.resolve(ctx, req.ContainerRef, bus.CodeNotFound)
	if err != nil {
		return bus.StatsReply{}, err
	}
	rd, err := s.docker.ContainerStats(ctx, in.ID, false)
	if err != nil {
		return bus.StatsReply{}, engineError(err, bus.CodeInternal, true, "reading the stats of container %s", in.ID)
	}
	defer rd.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(rd.Body, maxStatsBytes))
	if err != nil {
		return bus.StatsReply{}, engineError(err, bus.CodeInternal, false, "reading the stats of container %s", in.ID)
	}
	if !json.Valid(raw) {
		return bus.StatsReply{}, bus.Errorf(bus.CodeInternal, "the engine's stats of container %s are not JSON", in.ID)
	}
	return bus.StatsReply{DockerStats: json.RawMessage(bytes.TrimSpace(raw))}, nil
}

// handlePing pings the engine: the reporter's CONTAINER_RUNTIME instance status is
// OK while it answers.
func (s *Service) handlePing(ctx context.Context, _ bus.PingRequest) (bus.PingReply, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	p, err := s.docker.Ping(ctx)
	if err != nil {
		return bus.PingReply{}, engineError(err, bus.CodeUnavailable, false, "pinging the Docker engine")
	}
	return bus.PingReply{APIVersion: p.APIVersion}, nil
}
