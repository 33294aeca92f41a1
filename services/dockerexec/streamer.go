package dockerexec

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/logger"
)

// The stats streamer feeds the reporter's TCS client. Reading a container's stats
// costs the engine (dockerd asks containerd for the cgroup's figures), so it runs
// only while someone wants the samples: a consumer repeats a StatsDemand every
// bus.StatsDemandInterval, and the readings go on for bus.StatsDemandTTL after the
// last one. With metrics disabled (ECS_DISABLE_METRICS) or TCS unreachable no demand
// comes, and the engine is not asked. Per container it either polls (ECS_POLL_METRICS,
// the default: one one-shot reading every ECS_POLLING_METRICS_WAIT_DURATION) or holds
// Docker's stats stream (a reading every second, several times the engine's CPU).
//
//	demand, a container started or stopped (the event watcher), streamReconcile ──▶
//	    reconcile: one poller (or stream) per running managed container of this
//	    instance; those of containers gone end
//	no demand for StatsDemandTTL ──▶ every poller and stream ends
//
// Each reading is published as a bus.ContainerStatsSample on the container's
// StatsSampleSubject.

// streamReconcile is how often the set of streamed containers is brought in line
// with the running ones when no container event says so first (an event missed).
const streamReconcile = time.Minute

// StatsStream is the Docker call the streamer makes, with the listing it needs.
type StatsStream interface {
	ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error)
	ContainerStats(ctx context.Context, id string, stream bool) (container.StatsResponseReader, error)
	ContainerStatsOneShot(ctx context.Context, id string) (container.StatsResponseReader, error)
}

type streamer struct {
	docker StatsStream
	nc     *nats.Conn
	inst   *instance
	log    zerolog.Logger
	now    func() time.Time
	// poll, when set, is the wait between two one-shot readings of a container
	// (ECS_POLL_METRICS); zero holds Docker's stats stream instead.
	poll time.Duration

	lastDemand atomic.Int64  // Unix nanoseconds of the last StatsDemand heard
	kick       chan struct{} // a first demand, a container started or stopped: reconcile now

	mu      sync.Mutex
	streams map[string]context.CancelFunc // by Docker ID
	wg      sync.WaitGroup
}

func newStreamer(d StatsStream, nc *nats.Conn, inst *instance, poll time.Duration, log zerolog.Logger) *streamer {
	return &streamer{docker: d, nc: nc, inst: inst, poll: poll, log: log.With().Str("component", "stats").Logger(),
		now: time.Now, streams: map[string]context.CancelFunc{}, kick: make(chan struct{}, 1)}
}

// run serves demands until ctx ends, then closes every stream.
func (s *streamer) run(ctx context.Context) {
	sub, err := s.nc.Subscribe(bus.SubjectStatsDemand, func(m *nats.Msg) {
		if s.lastDemand.Swap(s.now().UnixNano()) == 0 {
			s.log.Debug().Msg("stats wanted; streaming the running containers' stats")
			s.changed()
		}
	})
	if err != nil {
		s.log.Error().Err(err).Msg("subscribing to stats demands; no stats will be streamed")
		return
	}
	defer func() { _ = sub.Unsubscribe() }()
	t := time.NewTimer(streamReconcile)
	defer t.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			s.closeAll()
			s.wg.Wait()
			return
		case <-t.C:
		case <-s.kick:
			// The starts of a burst make one listing, not one each.
			if wait := time.Until(last.Add(streamDebounce)); wait > 0 {
				t.Reset(wait)
				continue
			}
		}
		s.reconcile(ctx)
		last = time.Now()
		t.Reset(s.nextReconcile())
	}
}

// streamDebounce is the least wait between two listings of the running containers.
const streamDebounce = time.Second

// changed asks for a reconcile now (coalesced with one already asked for).
func (s *streamer) changed() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// nextReconcile is the wait for the next reconcile without a kick: streamReconcile,
// or less when the demand runs out sooner, so that the streams end on time.
func (s *streamer) nextReconcile() time.Duration {
	d := streamReconcile
	if last := s.lastDemand.Load(); last != 0 {
		if left := time.Unix(0, last).Add(bus.StatsDemandTTL).Sub(s.now()); left < d {
			d = max(left, 0) + 10*time.Millisecond
		}
	}
	return d
}

// wanted reports whether a demand was heard within the TTL.
func (s *streamer) wanted() bool {
	last := s.lastDemand.Load()
	return last != 0 && s.now().Sub(time.Unix(0, last)) < bus.StatsDemandTTL
}

func (s *streamer) reconcile(ctx context.Context) {
	if !s.wanted() {
		if s.closeAll() > 0 {
			s.log.Debug().Msg("stats no longer wanted; streams closed")
		}
		s.lastDemand.Store(0)
		return
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	list, err := s.docker.ContainerList(lctx, container.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", bus.LabelTaskARN), filters.Arg("status", container.StateRunning))})
	cancel()
	if err != nil {
		s.log.Debug().Err(err).Msg("listing the running containers for stats")
		return
	}
	running := map[string]bool{}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range list {
		task, name := c.Labels[bus.LabelTaskARN], c.Labels[bus.LabelContainerName]
		if c.State != container.StateRunning || task == "" || name == "" || !s.inst.owns(c.Labels) {
			continue
		}
		running[c.ID] = true
		if _, ok := s.streams[c.ID]; ok {
			continue
		}
		sctx, stop := context.WithCancel(ctx)
		s.streams[c.ID] = stop
		s.wg.Go(func() {
			if s.poll > 0 {
				s.pollStats(sctx, c.ID, task, name)
			} else {
				s.stream(sctx, c.ID, task, name)
			}
			s.mu.Lock()
			delete(s.streams, c.ID)
			s.mu.Unlock()
			stop()
		})
	}
	for id, stop := range s.streams {
		if !running[id] {
			stop()
		}
	}
}

func (s *streamer) closeAll() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, stop := range s.streams {
		stop()
	}
	return len(s.streams)
}

// stream publishes each reading of one container's stats stream until the stream
// ends (the container stopped) or ctx does.
func (s *streamer) stream(ctx context.Context, id, task, name string) {
	log := s.log.With().Str(logger.FieldTaskARN, task).Str(logger.FieldContainer, name).Str(logger.FieldDockerID, id).Logger()
	rd, err := s.docker.ContainerStats(ctx, id, true)
	if err != nil {
		if ctx.Err() == nil {
			log.Debug().Err(err).Msg("opening the stats stream")
		}
		return
	}
	defer rd.Body.Close()
	dec := json.NewDecoder(io.LimitReader(rd.Body, 1<<40))
	subject := bus.StatsSampleSubject(task, name)
	for {
		var st container.StatsResponse
		if err := dec.Decode(&st); err != nil {
			if ctx.Err() == nil && !errors.Is(err, io.EOF) {
				log.Debug().Err(err).Msg("the stats stream ended")
			}
			return
		}
		if st.Read.IsZero() || (st.CPUStats.CPUUsage.TotalUsage == 0 && st.MemoryStats.Usage == 0 && st.PidsStats.Current == 0) {
			continue // the engine's reading of a container that has stopped
		}
		data, err := json.Marshal(sampleOf(st, task, name, id))
		if err != nil {
			continue
		}
		if err := s.nc.Publish(subject, data); err != nil {
			log.Debug().Err(err).Msg("publishing a stats sample")
		}
	}
}

// pollStats publishes one one-shot reading of a container every s.poll until the
// container is gone or ctx ends: Docker reads the container once per poll, not once
// a second.
func (s *streamer) pollStats(ctx context.Context, id, task, name string) {
	log := s.log.With().Str(logger.FieldTaskARN, task).Str(logger.FieldContainer, name).Str(logger.FieldDockerID, id).Logger()
	subject := bus.StatsSampleSubject(task, name)
	// The first reading comes at a random point of the first interval: the
	// containers of a burst are not all read at once, while they start.
	select {
	case <-ctx.Done():
		return
	case <-time.After(rand.N(s.poll)):
	}
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		rd, err := s.docker.ContainerStatsOneShot(ctx, id)
		if err != nil {
			if ctx.Err() == nil {
				log.Debug().Err(err).Msg("reading the container's stats")
			}
			return
		}
		var st container.StatsResponse
		err = json.NewDecoder(io.LimitReader(rd.Body, maxStatsBytes)).Decode(&st)
		rd.Body.Close()
		if err != nil || st.Read.IsZero() || (st.CPUStats.CPUUsage.TotalUsage == 0 && st.MemoryStats.Usage == 0 && st.PidsStats.Current == 0) {
			return // the container has stopped
		}
		if data, err := json.Marshal(sampleOf(st, task, name, id)); err == nil {
			if err := s.nc.Publish(subject, data); err != nil {
				log.Debug().Err(err).Msg("publishing a stats sample")
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sampleOf reduces an engine reading to what TCS needs. Memory leaves out the page
// cache: the "cache" figure on cgroup v1, as the real agent does, and on cgroup v2
// (which has none) inactive_file, as docker stats does.
func sampleOf(st container.StatsResponse, task, name, id string) bus.ContainerStatsSample {
	mem := st.MemoryStats.Usage
	if v, ok := st.MemoryStats.Stats["cache"]; ok && v <= mem {
		mem -= v
	} else if v, ok := st.MemoryStats.Stats["inactive_file"]; ok && v <= mem {
		mem -= v
	}
	return bus.ContainerStatsSample{
		Type: bus.TypeContainerStatsSample, TaskArn: task, ContainerName: name, DockerID: id,
		Read: st.Read.UTC(), CPUUsageNanos: st.CPUStats.CPUUsage.TotalUsage, OnlineCPUs: st.CPUStats.OnlineCPUs,
		MemoryBytes: mem, MemoryLimitBytes: st.MemoryStats.Limit,
	}
}
