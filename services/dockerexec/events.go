package dockerexec

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/logger"
)

// watcher turns the engine's container events into bus.ContainerEvent messages on
// the ECS_EVENTS stream.
//
//	Docker /events ──reader──▶ queue ──publisher──▶ JetStream (ECS_EVENTS)
//	     ▲                                             ID <dockerID>/<action>/<timeNano>
//	     └── reconnect with since = last event time
//
// Two goroutines, because the engine drops events for a subscriber that reads too
// slowly, and publishing waits on the bus (which may be restarting): the reader only
// queues, the publisher inspects and publishes, in order. Duplicates after a resume
// are harmless: the message ID makes JetStream drop them and the scheduler's handling
// is idempotent.
type watcher struct {
	docker EventSource
	nc     *nats.Conn
	log    zerolog.Logger
	// minBackoff and maxBackoff bound the wait between reconnects to the engine.
	minBackoff, maxBackoff time.Duration
}

func newWatcher(d EventSource, nc *nats.Conn, log zerolog.Logger) *watcher {
	return &watcher{docker: d, nc: nc, log: log.With().Str("component", "events").Logger(),
		minBackoff: 250 * time.Millisecond, maxBackoff: 10 * time.Second}
}

// queueSize is how many events may wait for the bus before the reader blocks.
const queueSize = 8192

// run watches until ctx ends.
func (w *watcher) run(ctx context.Context) {
	// Events are watched from the moment the service starts, not from the moment the
	// bus is ready, so that nothing that happens in between is lost.
	started := time.Now().UnixNano()
	js, err := bus.JetStream(w.nc)
	if err != nil {
		w.log.Error().Err(err).Msg("no JetStream context; container events are not published")
		return
	}
	if err := bus.Retry(ctx, func(ctx context.Context) error { return bus.EnsureStreams(ctx, js) }); err != nil {
		return // ctx ended
	}
	queue := make(chan events.Message, queueSize)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.publishLoop(ctx, js, queue)
	}()
	w.readLoop(ctx, queue, started)
	<-done
}

// readLoop subscribes to the engine's events and queues them, from started (the
// service's start; older history is the scheduler's to re-inspect) and, after a
// break, from the last event seen.
func (w *watcher) readLoop(ctx context.Context, queue chan<- events.Message, started int64) {
	since := started
	backoff := w.minBackoff
	for ctx.Err() == nil {
		if _, err := w.docker.Ping(ctx); err != nil {
			w.log.Warn().Err(err).Dur("retry_in", backoff).Msg("Docker engine does not answer")
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(backoff*2, w.maxBackoff)
			continue
		}
		opts := events.ListOptions{Filters: filters.NewArgs(
			filters.Arg("type", string(events.ContainerEventType)),
			filters.Arg("label", bus.LabelTaskARN),
		)}
		opts.Since = sinceParam(since)
		sctx, cancel := context.WithCancel(ctx)
		msgs, errs := w.docker.Events(sctx, opts)
		w.log.Debug().Str("since", opts.Since).Msg("watching container events")
		broke := w.drain(sctx, msgs, errs, queue, &since, &backoff)
		cancel()
		if !broke {
			return
		}
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(backoff*2, w.maxBackoff)
	}
}

// drain reads one subscription until it breaks (true) or ctx ends (false).
func (w *watcher) drain(ctx context.Context, msgs <-chan events.Message, errs <-chan error,
	queue chan<- events.Message, since *int64, backoff *time.Duration) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case err := <-errs:
			if ctx.Err() != nil {
				return false
			}
			w.log.Warn().Err(err).Str("resume_since", sinceParam(*since)).Msg("Docker event stream broke; reconnecting")
			return true
		case m := <-msgs:
			if t := eventTime(m); t > *since {
				*since = t
			}
			*backoff = w.minBackoff
			select {
			case queue <- m:
			case <-ctx.Done():
				return false
			}
		}
	}
}

// publishLoop translates and publishes queued events in order, retrying each until
// the bus takes it.
func (w *watcher) publishLoop(ctx context.Context, js jetstream.JetStream, queue <-chan events.Message) {
	oom := map[string]bool{} // containers with an oom event since their last start
	for {
		var m events.Message
		select {
		case <-ctx.Done():
			return
		case m = <-queue:
		}
		ev, ok := w.translate(ctx, m, oom)
		if !ok {
			continue
		}
		subject := bus.EventSubject(ev.TaskArn, ev.ContainerName)
		id := fmt.Sprintf("%s/%s/%d", ev.DockerID, ev.Action, ev.TimeNano)
		err := bus.Retry(ctx, func(ctx context.Context) error {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			_, err := bus.Publish(pctx, js, subject, id, ev)
			if err != nil {
				w.log.Warn().Err(err).Str("msg_id", id).Msg("publishing container event; retrying")
			}
			return err
		})
		if err != nil {
			return // ctx ended
		}
		w.log.Debug().Str(logger.FieldTaskARN, ev.TaskArn).Str(logger.FieldContainer, ev.ContainerName).
			Str(logger.FieldDockerID, ev.DockerID).Str("action", ev.Action).Str("status", string(ev.Status)).
			Msg("container event")
	}
}

// translate maps a Docker event to a bus event; ok is false for events the bus does
// not carry.
//
//	create → CREATED   start → RUNNING   die → STOPPED (exit code, OOMKilled)
//	stop, destroy → no status   health_status: healthy|unhealthy → Health
//	oom → logged, remembered for the die that follows
func (w *watcher) translate(ctx context.Context, m events.Message, oom map[string]bool) (bus.ContainerEvent, bool) {
	attrs := m.Actor.Attributes
	ev := bus.ContainerEvent{
		Type:          bus.TypeContainerEvent,
		TaskArn:       attrs[bus.LabelTaskARN],
		ContainerName: attrs[bus.LabelContainerName],
		DockerID:      m.Actor.ID,
		TimeNano:      eventTime(m),
	}
	if ev.TaskArn == "" || ev.ContainerName == "" || ev.DockerID == "" {
		return ev, false
	}
	action := string(m.Action)
	log := w.log.With().Str(logger.FieldTaskARN, ev.TaskArn).Str(logger.FieldContainer, ev.ContainerName).
		Str(logger.FieldDockerID, ev.DockerID).Logger()
	switch {
	case action == string(events.ActionCreate):
		ev.Status = bus.StatusCreated
	case action == string(events.ActionStart):
		delete(oom, ev.DockerID)
		ev.Status = bus.StatusRunning
	case action == string(events.ActionDie):
		ev.Status = bus.StatusStopped
		ev.ExitCode, ev.OOMKilled = w.exitOf(ctx, m)
		ev.OOMKilled = ev.OOMKilled || oom[ev.DockerID]
		delete(oom, ev.DockerID)
	case action == string(events.ActionStop):
	case action == string(events.ActionDestroy):
		delete(oom, ev.DockerID)
	case action == string(events.ActionOOM):
		oom[ev.DockerID] = true
		log.Warn().Msg("container ran out of memory")
		return ev, false
	case strings.HasPrefix(action, string(events.ActionHealthStatus)):
		_, status, _ := strings.Cut(action, ":")
		ev.Health = healthOf(strings.TrimSpace(status))
		if ev.Health != bus.HealthHealthy && ev.Health != bus.HealthUnhealthy {
			return ev, false
		}
		action = string(events.ActionHealthStatus)
	default:
		return ev, false
	}
	ev.Action = action
	return ev, true
}

// exitOf reads a dead container's exit code: from inspect while the container still
// describes that death, else from the event's exitCode attribute.
func (w *watcher) exitOf(ctx context.Context, m events.Message) (*int, bool) {
	ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	in, err := w.docker.ContainerInspect(ictx, m.Actor.ID)
	if err == nil && in.ContainerJSONBase != nil && in.State != nil && dockerStatus(in.State.Status) == bus.StatusStopped {
		code := in.State.ExitCode
		return &code, in.State.OOMKilled
	}
	if s, ok := m.Actor.Attributes["exitCode"]; ok {
		if code, err := strconv.Atoi(s); err == nil {
			return &code, false
		}
	}
	return nil, false
}

// eventTime is the event's time in nanoseconds; old engines set only seconds.
func eventTime(m events.Message) int64 {
	if m.TimeNano != 0 {
		return m.TimeNano
	}
	return m.Time * int64(time.Second)
}

// sinceParam formats a time for the events API's since parameter
// ("seconds.nanoseconds").
func sinceParam(ns int64) string {
	if ns == 0 {
		return ""
	}
	return fmt.Sprintf("%d.%09d", ns/int64(time.Second), ns%int64(time.Second))
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
