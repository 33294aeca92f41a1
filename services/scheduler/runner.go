package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/logger"
	"github.com/ecs-agent/ecs-agent/services/scheduler/ledger"
	"github.com/ecs-agent/ecs-agent/services/scheduler/task"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// input is one thing that happened to a task; exactly one of its parts is set
// (msg rides along with desired and event, to be acked once stored).
type input struct {
	desired bus.Status
	event   *bus.ContainerEvent
	result  *result
	grant   *ledger.Grant
	msg     jetstream.Msg
	// progress is how far a container's pull has got.
	progress *pullProgress
	// refresh asks for the waiting reason to be worked out again (the ledger changed).
	refresh bool
}

type pullProgress struct{ container, text string }

// progressEvery bounds how often a pull's progress reaches the task record (and the
// store): often enough for an operator, rarely enough to cost nothing.
const progressEvery = 2 * time.Second

// result is the outcome of a step run outside the runner's goroutine.
type result struct {
	kind      task.Kind // 0 for an inspect
	container string
	pull      bus.PullReply
	create    bus.CreateReply
	state     bus.ContainerState
	err       error
	// resources marks the outcome of the resources step (resources.go).
	resources bool
	cgroup    bus.CgroupReply
	started   time.Time // when the step was dispatched
}

// mailbox is an unbounded queue, so that the consumer goroutines that fill it never
// wait on a busy runner.
type mailbox struct {
	mu     sync.Mutex
	items  []input
	notify chan struct{}
}

func (b *mailbox) put(in input) {
	b.mu.Lock()
	b.items = append(b.items, in)
	b.mu.Unlock()
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

func (b *mailbox) take() []input {
	b.mu.Lock()
	defer b.mu.Unlock()
	items := b.items
	b.items = nil
	return items
}

// flight is a step in progress for one container.
type flight struct {
	kind   task.Kind
	cancel context.CancelFunc
}

// runner owns one task: only its goroutine touches rec, busy and deferred.
type runner struct {
	s          *Scheduler
	rec        *bus.TaskRecord
	log        zerolog.Logger
	box        *mailbox
	recovering bool

	busy     map[string]*flight
	deferred map[string][]input // events that arrived while their container had a step in flight
	stored   []byte             // the record as last stored
	spec     string             // the task's spec as JSON, for the containers' LabelTaskSpec
	released bool
	flushing bool           // commit sends batched container changes (the ticker fired)
	jitter   time.Duration  // this task's random extra cleanup wait
	seen     seen           // what the metrics last counted of the task
	wg       sync.WaitGroup // flights
}

// specLabel is the task's spec as the label every container of it carries.
func (r *runner) specLabel() string {
	if r.spec == "" {
		if data, err := json.Marshal(r.rec.Spec); err == nil {
			r.spec = string(data)
		}
	}
	return r.spec
}

// rearmDeferred keeps the events held behind a busy step from being redelivered
// while the step runs (a stop may take longer than the consumer's ack wait).
func (r *runner) rearmDeferred() {
	for _, ins := range r.deferred {
		for _, in := range ins {
			if in.msg != nil {
				_ = in.msg.InProgress()
			}
		}
	}
}

func newRunner(s *Scheduler, rec *bus.TaskRecord, recovering bool) *runner {
	return &runner{
		s:          s,
		rec:        rec,
		log:        s.log.With().Str(logger.FieldTaskARN, rec.Spec.Arn).Logger(),
		box:        &mailbox{notify: make(chan struct{}, 1)},
		recovering: recovering,
		busy:       map[string]*flight{},
		deferred:   map[string][]input{},
		jitter:     randDuration(0, s.cfg.CleanupJitter),
	}
}

// randDuration is uniform in [lo, hi].
func randDuration(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(rand.Int64N(int64(hi-lo)+1))
}

// busyKinds is the kind of the step in flight of each busy container (inspects
// left out).
func (r *runner) busyKinds() map[string]task.Kind {
	m := make(map[string]task.Kind, len(r.busy))
	for n, f := range r.busy {
		if f.kind != 0 {
			m[n] = f.kind
		}
	}
	return m
}

func (r *runner) busySet() map[string]bool {
	m := make(map[string]bool, len(r.busy))
	for n := range r.busy {
		m[n] = true
	}
	return m
}

// stopOutcome reports whether ev is what the stop in flight waits for: the
// container's exit. It applies at once rather than behind the stop's reply, which
// the engine sends only once it has torn the container down.
func stopOutcome(f *flight, ev *bus.ContainerEvent) bool {
	return f.kind == task.Stop && ev.Status == bus.StatusStopped
}

// reportBusy is the containers whose step in flight holds the task's report back:
// not those being stopped that are already known to have exited (their stop's reply
// has nothing to add to the report).
func (r *runner) reportBusy() map[string]bool {
	m := r.busySet()
	for n, f := range r.busy {
		if c := task.Container(r.rec, n); f.kind == task.Stop && c != nil && c.KnownStatus == bus.StatusStopped {
			delete(m, n)
		}
	}
	return m
}

// run is the task's goroutine. It returns when ctx ends or when the task has been
// cleaned up.
func (r *runner) run(ctx context.Context) {
	defer r.wg.Wait()
	if data, err := json.Marshal(r.rec); err == nil && !r.recovering {
		r.stored = data
	}
	if r.recovering {
		if err := r.reconcile(ctx); err != nil {
			return
		}
	}
	r.s.m.observe(&r.seen, r.rec)
	inspect := time.NewTimer(r.inspectDelay())
	defer inspect.Stop()
	// rearm runs only while events are held back: a hundred running tasks cost no
	// wake-ups.
	var cleanup, batch, rearm <-chan time.Time
	for {
		wake, err := r.advance(ctx)
		if err != nil {
			return
		}
		if cleanup == nil && r.cleanupDue() {
			d := time.Until(r.rec.StoppedAt.Add(r.s.cfg.CleanupWait + r.jitter))
			cleanup = time.After(max(d, 0))
		}
		if batch == nil && task.Batched(r.rec, r.busySet()) {
			// Container changes of a RUNNING task wait for the batching ticker.
			batch = time.After(randDuration(r.s.cfg.BatchMin, r.s.cfg.BatchMax))
		}
		if rearm == nil && len(r.deferred) > 0 {
			rearm = time.After(deferredRearm)
		}
		var recheck <-chan time.Time
		if !wake.IsZero() {
			recheck = time.After(max(time.Until(wake), 0))
		}
		select {
		case <-ctx.Done():
			return
		case <-r.box.notify:
			if err := r.handle(ctx, r.box.take()); err != nil {
				return
			}
		case <-recheck:
		case <-batch:
			batch = nil
			if err := r.flush(ctx); err != nil {
				return
			}
		case <-inspect.C:
			r.inspectRunning(ctx)
			inspect.Reset(r.inspectDelay())
		case <-rearm:
			rearm = nil
			r.rearmDeferred()
		case <-cleanup:
			if r.clean(ctx) {
				r.s.m.gone(&r.seen)
				return
			}
			cleanup = time.After(cleanupRecheck)
		}
	}
}

// deferredRearm is how often held events are kept alive: well within the consumers'
// 30 s ack wait.
const deferredRearm = 10 * time.Second

// cleanupRecheck is the wait before a cleanup that could not be done yet (the STOPPED
// report not yet accepted by the control plane, a remove that failed) is tried again.
const cleanupRecheck = 5 * time.Second

func (r *runner) inspectDelay() time.Duration {
	iv := r.s.cfg.InspectInterval
	return iv + time.Duration(rand.Int64N(int64(iv/10)+1))
}

// handle applies a batch of inputs, stores their effect, then acks their messages.
func (r *runner) handle(ctx context.Context, ins []input) error {
	var acks []jetstream.Msg
	now := time.Now()
	for len(ins) > 0 {
		in := ins[0]
		ins = ins[1:]
		switch {
		case in.result != nil:
			r.applyResult(in.result, now)
			// Events held back for this container apply now, in order.
			if _, still := r.busy[in.result.container]; !still {
				ins = append(r.deferred[in.result.container], ins...)
				delete(r.deferred, in.result.container)
			}
		case in.event != nil:
			if f, ok := r.busy[in.event.ContainerName]; ok && !stopOutcome(f, in.event) {
				r.deferred[in.event.ContainerName] = append(r.deferred[in.event.ContainerName], in)
				if in.msg != nil {
					_ = in.msg.InProgress()
				}
				continue
			}
			task.ApplyEvent(r.rec, *in.event, now)
		case in.progress != nil:
			if k, ok := r.busy[in.progress.container]; ok && k.kind == task.Pull {
				if c := task.Container(r.rec, in.progress.container); c != nil {
					c.PullProgress = in.progress.text
				}
			}
		case in.grant != nil:
			r.rec.HostPorts = in.grant.PortStrings()
			r.log.Info().Msg("task admitted")
		case in.desired != "":
			if task.SetDesired(r.rec, in.desired) {
				r.log.Info().Str("desired", string(r.rec.DesiredStatus)).Msg("desired status raised")
				if r.rec.DesiredStatus == bus.StatusStopped {
					r.cancelPulls()
				}
			}
		}
		if in.msg != nil {
			acks = append(acks, in.msg)
		}
		// Each input is settled and reported on its own, so that a start and the
		// exit held back behind it make two reports, in that order.
		if _, err := r.advance(ctx); err != nil {
			return err
		}
	}
	for _, m := range acks {
		_ = m.Ack()
	}
	return nil
}

func (r *runner) cancelPulls() {
	for _, f := range r.busy {
		if f.kind == task.Pull {
			f.cancel()
		}
	}
}

func (r *runner) applyResult(res *result, now time.Time) {
	delete(r.busy, res.container)
	if res.resources {
		r.applyResources(res)
		return
	}
	log := r.log.With().Str(logger.FieldContainer, res.container).Logger()
	if res.kind != 0 {
		if st, ok := task.EndStep(r.rec, res.kind, res.container, now); ok {
			r.s.m.stage(st)
		}
	}
	if res.kind == 0 { // inspect
		switch {
		case res.err == nil:
			task.ApplyState(r.rec, res.container, res.state, now)
		case bus.CodeOf(res.err) == bus.CodeNotFound:
			log.Warn().Msg("container vanished")
			task.Vanished(r.rec, res.container, now)
		default:
			log.Debug().Err(res.err).Msg("inspect failed; trying again later")
		}
		return
	}
	if res.err != nil {
		if errors.Is(res.err, context.Canceled) {
			return // a pull abandoned because the task is stopping
		}
		if res.kind == task.Pull && bus.CodeOf(res.err) == bus.CodePullFailed {
			// The registry was tried and failed: that was a pull, and its times are
			// reported as the real agent does.
			task.PullTimes(r.rec, res.started, now)
		}
		log.Error().Err(res.err).Str("step", res.kind.String()).Msg("container step failed")
		task.Failed(r.rec, res.kind, res.container, res.err, now)
		return
	}
	log.Debug().Str("step", res.kind.String()).Msg("container step done")
	switch res.kind {
	case task.Pull:
		task.Pulled(r.rec, res.container, res.pull)
		if c := task.Container(r.rec, res.container); c != nil {
			c.PullProgress = ""
		}
		switch p := res.pull; {
		case p.StartedAt != nil && p.StoppedAt != nil:
			task.PullTimes(r.rec, *p.StartedAt, *p.StoppedAt)
		case p.Pulled: // a dockerexec that does not send the times
			task.PullTimes(r.rec, res.started, now)
		}
	case task.Create:
		task.Created(r.rec, res.container, res.create, now)
	case task.Start:
		task.Started(r.rec, res.container, res.state, now)
		if res.state.Status == bus.StatusStopped {
			// It has already exited; its die event will say so too, but the
			// report of its start must go out first.
			st := res.state
			r.deferred[res.container] = append(r.deferred[res.container], input{event: &bus.ContainerEvent{
				TaskArn: r.rec.Spec.Arn, ContainerName: res.container, DockerID: st.DockerID,
				Status: bus.StatusStopped, ExitCode: st.ExitCode, OOMKilled: st.OOMKilled,
			}})
		}
	case task.Stop:
		task.Stopped(r.rec, res.container, res.state, now)
	}
}

// dependencyRecheck is how often a task blocked on its containers' dependencies is
// looked at again, as the real agent re-inspects every 5 s while blocked.
const dependencyRecheck = 5 * time.Second

// advance runs the engine, starts the steps it asks for, and stores the record
// with the reports it implies. It returns when the engine should run again even if
// nothing happens (a dependency waiting, a start timeout running out), zero if
// never.
func (r *runner) advance(ctx context.Context) (time.Time, error) {
	_, admitted := r.s.adm.granted(r.rec.Spec.Arn)
	now := time.Now()
	opts := task.Options{PullUpfront: r.s.cfg.PullUpfront}
	plan := task.StepWith(r.rec, r.busySet(), now, opts)
	if !r.rec.ResourcesReady && !r.needsResources() {
		r.rec.ResourcesReady = true
	}
	var wake time.Time
	if plan.Waiting {
		wake = now.Add(dependencyRecheck)
		if !plan.WakeAt.IsZero() && plan.WakeAt.Before(wake) {
			wake = plan.WakeAt
		}
	}
	var acts []task.Action
	named := false
	for _, a := range plan.Actions {
		if !admitted && a.Kind != task.Stop {
			continue // waiting in the ledger's queue
		}
		if !r.rec.ResourcesReady && a.Kind != task.Stop {
			if r.busy[resourcesKey] == nil && r.rec.DesiredStatus != bus.StatusStopped {
				r.provision(ctx)
			}
			continue // waiting for the task's volumes and cgroup
		}
		if c := task.Container(r.rec, a.Container); a.Kind == task.Create && c.DockerName == "" {
			c.DockerName = task.DockerName(r.rec.Spec.Family, r.rec.Spec.Version, c.Name, randHex())
			if c.EndpointID == "" {
				c.EndpointID = newEndpointID()
			}
			named = true
		}
		acts = append(acts, a)
	}
	if named {
		// The name must be stored before create: a create retried after a crash
		// then finds the same container instead of making a second one.
		if err := r.commit(ctx); err != nil {
			return time.Time{}, err
		}
	}
	for _, a := range acts {
		task.BeginStep(r.rec, a.Kind, a.Container, now)
		r.dispatch(ctx, a)
	}
	r.rec.Waiting = r.waiting(admitted, now, opts)
	if err := r.commit(ctx); err != nil {
		return time.Time{}, err
	}
	if r.rec.KnownStatus == bus.StatusStopped && len(r.busy) == 0 && !r.released {
		admitted, err := r.s.adm.release(ctx, r.rec.Spec.Arn)
		if err != nil {
			return time.Time{}, err
		}
		r.released = true
		r.s.admitted(admitted)
		r.log.Info().Str("reason", task.StopReason(r.rec)).Msg("task stopped")
	}
	return wake, nil
}

// waiting says what the task waits for, for introspection: what the host lacks
// while it waits for admission, then what its containers wait for.
func (r *runner) waiting(admitted bool, now time.Time, opts task.Options) string {
	var why []string
	if !admitted && r.rec.DesiredStatus != bus.StatusStopped && r.rec.KnownStatus != bus.StatusStopped {
		short := r.s.adm.shortfall(r.rec.Spec.Arn)
		if len(short) == 0 {
			short = []string{"host resources"}
		}
		for _, s := range short {
			why = append(why, "waiting for "+s)
		}
	}
	why = append(why, task.WaitReasons(r.rec, r.busyKinds(), now, opts)...)
	return strings.Join(why, "; ")
}

// flush sends the container changes the batching ticker was waiting for.
func (r *runner) flush(ctx context.Context) error {
	r.flushing = true
	defer func() { r.flushing = false }()
	return r.commit(ctx)
}

// commit publishes the reports the record owes, then stores the record. A crash
// between the two makes the restarted scheduler publish the same report with the
// same ID, which the outbox drops.
func (r *runner) commit(ctx context.Context) error {
	for {
		rep, ok := task.NextReport(r.rec, r.reportBusy(), r.flushing)
		if !ok {
			break
		}
		rep.Seq = r.rec.ReportSeq + 1
		id := fmt.Sprintf("%s/%d", r.rec.Spec.Arn, rep.Seq)
		err := bus.Retry(ctx, func(ctx context.Context) error {
			_, err := bus.Publish(ctx, r.s.js, bus.OutboxSubject(r.rec.Spec.Arn), id, rep)
			return err
		})
		if err != nil {
			return err
		}
		r.log.Info().Str("status", rep.Status).Uint64("seq", rep.Seq).Int("containers", len(rep.Containers)).Msg("state change published")
		task.MarkSent(r.rec, rep)
	}
	data, err := json.Marshal(r.rec)
	if err != nil {
		return fmt.Errorf("encoding record: %w", err)
	}
	if string(data) == string(r.stored) {
		return nil
	}
	err = bus.Retry(ctx, func(ctx context.Context) error {
		_, err := r.s.tasks.Put(ctx, bus.TaskKey(r.rec.Spec.Arn), data)
		return err
	})
	if err != nil {
		return err
	}
	r.stored = data
	r.s.m.observe(&r.seen, r.rec)
	return nil
}

// dispatch starts one step in its own goroutine; the outcome comes back through the
// mailbox.
func (r *runner) dispatch(ctx context.Context, a task.Action) {
	fctx, cancel := context.WithCancel(ctx)
	r.busy[a.Container] = &flight{kind: a.Kind, cancel: cancel}
	d, cfg, rec := r.s.docker, r.s.cfg, r.rec
	spec := task.Spec(rec, a.Container)
	c := task.Container(rec, a.Container)
	ref := bus.ContainerRef{DockerID: c.DockerID, TaskArn: rec.Spec.Arn, ContainerName: c.Name}
	res := &result{kind: a.Kind, container: a.Container, started: time.Now()}
	var fn func(context.Context) error
	timeout := 30 * time.Second
	switch a.Kind {
	case task.Pull:
		req := bus.PullRequest{TaskArn: rec.Spec.Arn, ContainerName: c.Name, Image: spec.Image, Behavior: cfg.ImagePullBehavior}
		if spec.RegistryAuth != nil {
			req.RegistryAuth, req.ExecutionCredentialsID = spec.RegistryAuth, rec.Spec.ExecutionCredentialsID
		}
		timeout = cfg.PullTimeout + 10*time.Second
		var last time.Time
		lastText := ""
		progress := func(text string) {
			if text == lastText || time.Since(last) < progressEvery {
				return
			}
			last, lastText = time.Now(), text
			r.box.put(input{progress: &pullProgress{container: c.Name, text: text}})
		}
		fn = func(ctx context.Context) (err error) { res.pull, err = d.Pull(ctx, req, progress); return }
	case task.Create:
		var grant *ledger.Grant
		if g, ok := r.s.adm.granted(rec.Spec.Arn); ok {
			grant = &g
		}
		req := createRequest(rec, c.Name, grant, cfg.Region)
		req.ContainerInstanceArn = r.s.reg.ContainerInstanceArn
		req.CgroupParent = rec.CgroupParent
		req.TaskSpec = r.specLabel()
		timeout = cfg.CreateTimeout + 10*time.Second
		fn = func(ctx context.Context) (err error) { res.create, err = d.Create(ctx, req); return }
	case task.Start:
		timeout = cfg.StartTimeout + 10*time.Second
		req := bus.StartRequest{ContainerRef: ref}
		if c.RestartPending && c.LastRestartAt != nil {
			t := *c.LastRestartAt
			req.RestartAfter = &t
		}
		fn = func(ctx context.Context) (err error) {
			res.state, err = d.Start(ctx, req)
			return
		}
	case task.Stop:
		grace := cfg.StopTimeout
		if spec.StopTimeout > 0 {
			grace = time.Duration(spec.StopTimeout) * time.Second
		}
		timeout = grace + 30*time.Second
		fn = func(ctx context.Context) (err error) {
			res.state, err = d.Stop(ctx, bus.StopRequest{ContainerRef: ref, Timeout: grace})
			return
		}
	}
	r.log.Debug().Str(logger.FieldContainer, c.Name).Str("step", a.Kind.String()).Msg("container step")
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer cancel()
		res.err = retry(fctx, timeout, fn)
		if ctx.Err() != nil {
			return // shutting down: the step is taken again after the restart
		}
		r.box.put(input{result: res})
	}()
}

// reconcile brings a restored record in line with Docker before anything else:
// each container the record says exists is inspected (by Docker ID, or by task and
// name when a create may have been cut short); one Docker no longer knows is
// STOPPED with ContainerVanishedError.
func (r *runner) reconcile(ctx context.Context) error {
	now := time.Now()
	for i := range r.rec.Containers {
		c := &r.rec.Containers[i]
		if c.KnownStatus == bus.StatusStopped || c.DockerID == "" && c.DockerName == "" {
			continue
		}
		ref := bus.ContainerRef{DockerID: c.DockerID, TaskArn: r.rec.Spec.Arn, ContainerName: c.Name}
		var st bus.ContainerState
		err := retry(ctx, 30*time.Second, func(ctx context.Context) (err error) {
			st, err = r.s.docker.Inspect(ctx, bus.InspectRequest{ContainerRef: ref})
			return
		})
		switch {
		case err == nil:
			task.ApplyState(r.rec, c.Name, st, now)
		case ctx.Err() != nil:
			return ctx.Err()
		case bus.CodeOf(err) == bus.CodeNotFound && c.DockerID != "":
			r.log.Warn().Str(logger.FieldContainer, c.Name).Msg("container vanished while the scheduler was away")
			task.Vanished(r.rec, c.Name, now)
		case bus.CodeOf(err) == bus.CodeNotFound:
			// The create never happened; it is made again under the stored name.
		default:
			r.log.Error().Err(err).Str(logger.FieldContainer, c.Name).Msg("reconciling container")
		}
	}
	return nil
}

// inspectRunning checks running containers for missed events.
func (r *runner) inspectRunning(ctx context.Context) {
	for _, c := range r.rec.Containers {
		if c.KnownStatus != bus.StatusRunning || c.DockerID == "" || r.busy[c.Name] != nil {
			continue
		}
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		r.busy[c.Name] = &flight{cancel: cancel}
		ref := bus.ContainerRef{DockerID: c.DockerID, TaskArn: r.rec.Spec.Arn, ContainerName: c.Name}
		res := &result{container: c.Name}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer cancel()
			res.state, res.err = r.s.docker.Inspect(fctx, bus.InspectRequest{ContainerRef: ref})
			if ctx.Err() == nil {
				r.box.put(input{result: res})
			}
		}()
	}
}

// cleanupDue reports whether the task is stopped, its STOPPED report published, and
// idle. The cleanup itself also waits for the report to be accepted (clean).
func (r *runner) cleanupDue() bool {
	return r.rec.KnownStatus == bus.StatusStopped && r.rec.SentStatus == bus.StatusStopped &&
		r.rec.StoppedAt != nil && len(r.busy) == 0
}

// clean removes the task's containers and its record. It reports whether the
// task is gone; on failure the caller tries again later.
func (r *runner) clean(ctx context.Context) bool {
	if delivered, err := r.s.delivered(ctx, r.rec.Spec.Arn); err != nil || !delivered {
		if err != nil {
			r.log.Debug().Err(err).Msg("cannot tell whether the task's reports were delivered; cleanup waits")
		} else {
			r.log.Debug().Msg("the STOPPED report is not delivered yet; cleanup waits")
		}
		return false
	}
	for _, c := range r.rec.Containers {
		if c.DockerID == "" && c.DockerName == "" {
			continue
		}
		ref := bus.ContainerRef{DockerID: c.DockerID, TaskArn: r.rec.Spec.Arn, ContainerName: c.Name}
		err := retry(ctx, 2*time.Minute, func(ctx context.Context) error {
			return r.s.docker.Remove(ctx, bus.RemoveRequest{ContainerRef: ref})
		})
		if err != nil && bus.CodeOf(err) != bus.CodeNotFound {
			r.log.Error().Err(err).Str(logger.FieldContainer, c.Name).Msg("removing container")
			return false
		}
	}
	if !r.releaseResources(ctx) {
		return false
	}
	if err := r.s.tasks.Delete(ctx, bus.TaskKey(r.rec.Spec.Arn)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		r.log.Error().Err(err).Msg("deleting task record")
		return false
	}
	r.s.forget(r.rec.Spec.Arn, r)
	r.log.Info().Msg("task cleaned up")
	return true
}
