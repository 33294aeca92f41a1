package dockerexec

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/backoff"
	"github.com/ecs-agent/ecs-agent/bus/logger"
)

// watcher turns the engine's container events into bus.ContainerEvent messages on
// the ECS_EVENTS stream.
//
//	Docker /events ──reader──▶ queue ──publisher──▶ JetStream (ECS_EVENTS)
//	  since = cursor ▲            ▲                    ID <dockerID>/<action>/<timeNano>
//	                 │            └── one "inspect" event per container of the instance, at start
//	  ecs_dockerexec["events-since"] ◀── saver (at most once a second, only when it moved) ◀── time of the last published event
//
// Nothing that happens while dockerexec is down is lost: the reader resumes from the
// time of the last event published (persisted in the cursor), and once the instance is
// known every container of it is inspected and its state published, for what the
// engine no longer remembers. Only this instance's containers are published (the
// engine may run other agents' and other clusters').
//
// Two goroutines, because the engine drops events for a subscriber that reads too
// slowly, and publishing waits on the bus (which may be restarting): the reader only
// queues, the publisher inspects and publishes, in order. Duplicates after a resume
// are harmless: the message ID makes JetStream drop them and the scheduler's handling
// is idempotent.
type watcher struct {
	docker EventSource
	js     jetstream.JetStream
	inst   *instance
	log    zerolog.Logger
	// reconnect is the wait between reconnects to the engine.
	reconnect backoff.Backoff
	// published is the time (Unix ns) of the last event published, saved as the cursor;
	// moved tells the saver it changed.
	published atomic.Int64
	moved     chan struct{}
	// changed, when set, is told of every start and stop of a container published (the
	// stats streamer follows the running containers with it).
	changed func()
	// excludeIPv6 leaves IPv6 port bindings out of the states (ECS_EXCLUDE_IPV6_PORTBINDING).
	excludeIPv6 bool
}

func newWatcher(d EventSource, js jetstream.JetStream, inst *instance, log zerolog.Logger) *watcher {
	return &watcher{docker: d, js: js, inst: inst, log: log.With().Str("component", "events").Logger(), moved: make(chan struct{}, 1),
		reconnect: backoff.Backoff{Min: 250 * time.Millisecond, Max: 10 * time.Second, Factor: 2, Jitter: 0.2}}
}

// queueSize is how many events may wait for the bus before the reader blocks.
const queueSize = 8192

// item is one thing to publish: a Docker event, or the state of a container.
type item struct {
	event *events.Message
	state *bus.ContainerState
}

// run watches until ctx ends.
func (w *watcher) run(ctx context.Context) {
	// Events are watched from the moment the service starts (or from the cursor), not
	// from the moment the bus is ready, so that nothing that happens in between is lost.
	started := time.Now().UnixNano()
	if err := bus.OpenStreams(ctx, w.js, bus.StreamEvents); err != nil {
		return // ctx ended
	}
	cursor, err := bus.OpenBucket(ctx, w.js, bus.BucketDockerexec)
	if err != nil {
		return
	}
	since := started
	if e, err := cursor.Get(ctx, bus.KeyEventCursor); err == nil {
		if n, err := strconv.ParseInt(string(e.Value()), 10, 64); err == nil && n > 0 && n < started {
			since = n
			w.log.Info().Str("since", sinceParam(since)).Msg("resuming container events where the last dockerexec stopped")
		}
	}
	w.published.Store(since)
	queue := make(chan item, queueSize)
	done := make(chan struct{}, 3)
	go func() { w.publishLoop(ctx, queue); done <- struct{}{} }()
	go func() { w.saveCursor(ctx, cursor, since); done <- struct{}{} }()
	go func() { w.snapshot(ctx, queue); done <- struct{}{} }()
	w.readLoop(ctx, queue, since)
	for range 3 {
		<-done
	}
}

// cursorEvery bounds how often the cursor is stored while events flow.
const cursorEvery = time.Second

// saveCursor stores the time of the last published event when it has moved, at most
// once every cursorEvery; an idle engine costs nothing.
func (w *watcher) saveCursor(ctx context.Context, kv jetstream.KeyValue, saved int64) {
	save := func(ctx context.Context) {
		if n := w.published.Load(); n != saved {
			if _, err := kv.Put(ctx, bus.KeyEventCursor, []byte(strconv.FormatInt(n, 10))); err == nil {
				saved = n
			}
		}
	}
	final := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		save(sctx)
		cancel()
	}
	for {
		select {
		case <-ctx.Done():
			final()
			return
		case <-w.moved:
		}
		save(ctx)
		select {
		case <-ctx.Done():
			final()
			return
		case <-time.After(cursorEvery):
		}
	}
}

// snapshot queues the state of every container of the instance once the instance is
// known: what happened while dockerexec was away, beyond the engine's memory of
// events, reaches the scheduler this way.
func (w *watcher) snapshot(ctx context.Context, queue chan<- item) {
	arn, ok := w.inst.wait(ctx)
	if !ok {
		return
	}
	_ = backoff.Retry(ctx, backoff.Fast, func(ctx context.Context) error {
		args := filters.NewArgs(filters.Arg("label", bus.LabelTaskARN))
		if w.inst.cluster != "" {
			args.Add("label", bus.LabelCluster+"="+w.inst.cluster)
		}
		list, err := w.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
		if err != nil {
			w.log.Debug().Err(err).Msg("listing containers for the start-up snapshot; retrying")
			return err
		}
		n := 0
		for _, c := range list {
			if !w.inst.owns(c.Labels) {
				continue
			}
			in, err := w.docker.ContainerInspect(ctx, c.ID)
			if err != nil {
				continue // removed meanwhile: its destroy event says so
			}
			st := containerState(in, w.excludeIPv6)
			select {
			case queue <- item{state: &st}:
				n++
			case <-ctx.Done():
				return nil
			}
		}
		w.log.Info().Int("containers", n).Str(logger.FieldInstance, arn).Msg("published the state of every container of the instance")
		return nil
	})
}

// readLoop subscribes to the engine's events of the configured cluster and queues
// them, from since and, after a break, from the last event seen.
func (w *watcher) readLoop(ctx context.Context, queue chan<- item, since int64) {
	bo := w.reconnect.Start()
	for ctx.Err() == nil {
		if _, err := w.docker.Ping(ctx); err != nil {
			wait := bo.Next()
			w.log.Warn().Err(err).Dur("retry_in", wait).Msg("Docker engine does not answer")
			if !backoff.Sleep(ctx, wait) {
				return
			}
			continue
		}
		label := bus.LabelTaskARN
		opts := events.ListOptions{Filters: filters.NewArgs(
			filters.Arg("type", string(events.ContainerEventType)),
			filters.Arg("label", label),
		)}
		if w.inst.cluster != "" {
			opts.Filters.Add("label", bus.LabelCluster+"="+w.inst.cluster)
		}
		opts.Since = sinceParam(since)
		sctx, cancel := context.WithCancel(ctx)
		msgs, errs := w.docker.Events(sctx, opts)
		w.log.Debug().Str("since", opts.Since).Msg("watching container events")
		broke := w.drain(sctx, msgs, errs, queue, &since, bo)
		cancel()
		if !broke {
			return
		}
		if !backoff.Sleep(ctx, bo.Next()) {
			return
		}
	}
}

// drain reads one subscription until it breaks (true) or ctx ends (false).
func (w *watcher) drain(ctx context.Context, msgs <-chan events.Message, errs <-chan error,
	queue chan<- item, since *int64, bo *backoff.Schedule) bool {
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
			bo.Reset()
			select {
			case queue <- item{event: &m}:
			case <-ctx.Done():
				return false
			}
		}
	}
}

// publishLoop translates and publishes queued items in order, retrying each until
// the bus takes it. Nothing is published before the instance is known, since only
// then can another instance's container be told from this one's.
func (w *watcher) publishLoop(ctx context.Context, queue <-chan item) {
	if _, ok := w.inst.wait(ctx); !ok {
		return
	}
	oom := map[string]bool{} // containers with an oom event since their last start
	for {
		var it item
		select {
		case <-ctx.Done():
			return
		case it = <-queue:
		}
		var ev bus.ContainerEvent
		var ok bool
		if it.event != nil {
			ev, ok = w.translate(ctx, *it.event, oom)
		} else {
			ev, ok = stateEvent(*it.state)
		}
		if !ok {
			continue
		}
		subject := bus.EventSubject(ev.TaskArn, ev.ContainerName)
		id := fmt.Sprintf("%s/%s/%d", ev.DockerID, ev.Action, ev.TimeNano)
		if it.state != nil {
			id = fmt.Sprintf("%s/inspect/%s/%d", ev.DockerID, ev.Status, ev.TimeNano)
		}
		err := bus.Retry(ctx, func(ctx context.Context) error {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			_, err := bus.Publish(pctx, w.js, subject, id, ev)
			if err != nil {
				w.log.Warn().Err(err).Str("msg_id", id).Msg("publishing container event; retrying")
			}
			return err
		})
		if err != nil {
			return // ctx ended
		}
		if it.event != nil && ev.TimeNano > w.published.Load() {
			w.published.Store(ev.TimeNano)
			select {
			case w.moved <- struct{}{}:
			default:
			}
		}
		if w.changed != nil && (ev.Action == "start" || ev.Status == bus.StatusStopped) {
			w.changed()
		}
		w.log.Debug().Str(logger.FieldTaskARN, ev.TaskArn).Str(logger.FieldContainer, ev.ContainerName).
			Str(logger.FieldDockerID, ev.DockerID).Str("action", ev.Action).Str("status", string(ev.Status)).
			Msg("container event")
	}
}

// stateEvent is the event that carries an inspected container's state (action
// "inspect"), timed by the state's own last change so that the same state published
// twice has the same message ID.
func stateEvent(st bus.ContainerState) (bus.ContainerEvent, bool) {
	if st.TaskArn == "" || st.ContainerName == "" || st.DockerID == "" {
		return bus.ContainerEvent{}, false
	}
	at := st.CreatedAt
	if st.StartedAt != nil {
		at = *st.StartedAt
	}
	if st.FinishedAt != nil {
		at = *st.FinishedAt
	}
	return bus.ContainerEvent{
		Type: bus.TypeContainerEvent, TaskArn: st.TaskArn, ContainerName: st.ContainerName,
		DockerID: st.DockerID, Action: ActionInspect, Status: st.Status, ExitCode: st.ExitCode,
		OOMKilled: st.OOMKilled, Health: st.Health, TimeNano: at.UnixNano(),
	}, true
}

// ActionInspect is the action of an event that carries an inspected state rather
// than something Docker reported.
const ActionInspect = "inspect"

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
	if ev.TaskArn == "" || ev.ContainerName == "" || ev.DockerID == "" || !w.inst.owns(attrs) {
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

// exitOf reads a dead container's exit code from the event's exitCode attribute, and
// only without one (an old engine) from inspect while the container still describes
// that death. The engine sends die while it still holds the container to tear it down
// (unmounting its root file system takes tens of milliseconds), and an inspect waits
// for that; whether the kernel killed it for memory the oom event before the die
// says.
func (w *watcher) exitOf(ctx context.Context, m events.Message) (*int, bool) {
	if s, ok := m.Actor.Attributes["exitCode"]; ok {
		if code, err := strconv.Atoi(s); err == nil {
			return &code, false
		}
	}
	ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	in, err := w.docker.ContainerInspect(ictx, m.Actor.ID)
	if err == nil && in.ContainerJSONBase != nil && in.State != nil && dockerStatus(in.State.Status) == bus.StatusStopped {
		code := in.State.ExitCode
		return &code, in.State.OOMKilled
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

func sleep(ctx context.Context, d time.Duration) bool { return backoff.Sleep(ctx, d) }
