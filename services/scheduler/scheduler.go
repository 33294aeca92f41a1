package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/backoff"
	"github.com/ecs-agent/ecs-agent/bus/logger"
	"github.com/ecs-agent/ecs-agent/services/scheduler/ledger"
	"github.com/ecs-agent/ecs-agent/services/scheduler/task"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Scheduler is the service. Build it with New and run it with Run.
type Scheduler struct {
	cfg    Config
	nc     *nats.Conn
	log    zerolog.Logger
	docker Docker
	m      *schedMetrics

	// Set by Run before any runner starts, read-only afterwards.
	js    jetstream.JetStream
	tasks jetstream.KeyValue
	adm   *admission
	reg   bus.Registration

	mu      sync.Mutex // guards runners
	runners map[string]*runner
	wg      sync.WaitGroup
}

// New builds a scheduler that reaches the bus (and through it dockerexec) over nc.
// The connection may be in-process; nothing here assumes a process of its own.
func New(cfg Config, nc *nats.Conn, log zerolog.Logger) *Scheduler {
	return &Scheduler{
		cfg:     cfg.withDefaults(),
		nc:      nc,
		log:     log.With().Str(logger.FieldService, "scheduler").Logger(),
		docker:  busDocker{nc: nc},
		m:       newSchedMetrics(cfg.Metrics),
		runners: map[string]*runner{},
	}
}

// Run opens the streams and buckets, waits for the instance's registration (which
// says what the host offers and which instance this is), restores every stored task
// and adopts the instance's containers the store does not know, then consumes desired
// tasks and container events until ctx ends. Running containers are left running when
// it returns.
func (s *Scheduler) Run(ctx context.Context) error {
	js, err := bus.JetStream(s.nc)
	if err != nil {
		return fmt.Errorf("scheduler: jetstream: %w", err)
	}
	s.js = js
	var ledgerKV, instanceKV jetstream.KeyValue
	err = bus.OpenStreams(ctx, js, bus.StreamDesired, bus.StreamEvents, bus.StreamOutbox)
	if err == nil {
		s.tasks, err = bus.OpenBucket(ctx, js, bus.BucketTasks)
	}
	if err == nil {
		ledgerKV, err = bus.OpenBucket(ctx, js, bus.BucketLedger)
	}
	if err == nil {
		instanceKV, err = bus.OpenBucket(ctx, js, bus.BucketInstance)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("scheduler: opening streams and buckets: %w", err)
	}
	reg, err := s.awaitRegistration(ctx, instanceKV)
	if err != nil {
		return nil // ctx ended
	}
	s.reg = reg
	res := reg.Resources
	s.log.Info().Str(logger.FieldInstance, reg.ContainerInstanceArn).Int64("cpu", res.CPU).
		Int64("memory_mib", res.MemoryMiB).Ints("reserved_ports", res.ReservedPorts).Msg("admitting tasks against the registered resources")
	s.adm = &admission{
		book: ledger.New(ledger.Host{
			CPU: res.CPU, MemoryMiB: res.MemoryMiB,
			ReservedTCP: res.ReservedPorts, ReservedUDP: res.ReservedPortsUDP,
			DynamicMin: s.cfg.DynamicPortMin, DynamicMax: s.cfg.DynamicPortMax,
			InUse: portInUse(s.cfg.HostPortBindIP),
		}),
		store: ledger.Store{KV: ledgerKV},
	}
	runCtx, cancelRunners := context.WithCancel(ctx)
	defer func() {
		cancelRunners()
		s.wg.Wait()
	}()
	if err := s.restore(runCtx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("scheduler: restoring tasks: %w", err)
	}
	if err := s.adopt(runCtx); err != nil {
		return nil // ctx ended
	}
	var consumers []jetstream.ConsumeContext
	defer func() {
		for _, c := range consumers {
			c.Stop()
		}
	}()
	for _, c := range []struct {
		stream, name string
		handle       func(context.Context, jetstream.Msg)
	}{
		{bus.StreamDesired, bus.ConsumerSchedulerDesired, s.onDesired},
		{bus.StreamEvents, bus.ConsumerSchedulerEvents, s.onEvent},
	} {
		var cc jetstream.ConsumeContext
		err := bus.Retry(ctx, func(ctx context.Context) error {
			cons, err := js.CreateOrUpdateConsumer(ctx, c.stream, jetstream.ConsumerConfig{
				Durable:    c.name,
				AckPolicy:  jetstream.AckExplicitPolicy,
				AckWait:    30 * time.Second,
				MaxDeliver: -1,
			})
			if err != nil {
				return fmt.Errorf("consumer %s: %w", c.name, err)
			}
			handle := c.handle
			cc, err = cons.Consume(func(m jetstream.Msg) { handle(runCtx, m) })
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("scheduler: consuming %s: %w", c.stream, err)
		}
		consumers = append(consumers, cc)
	}
	s.mu.Lock()
	n := len(s.runners)
	s.mu.Unlock()
	s.log.Info().Int("tasks", n).Msg("scheduler running")
	<-ctx.Done()
	return nil
}

// awaitRegistration waits until the session has registered the instance, watching
// the key so that the first tasks are admitted the moment it is stored. Nothing can
// be admitted before: the registration says what the host offers.
func (s *Scheduler) awaitRegistration(ctx context.Context, kv jetstream.KeyValue) (bus.Registration, error) {
	logged := false
	for {
		reg, err := s.watchRegistration(ctx, kv, &logged)
		if err == nil || ctx.Err() != nil {
			return reg, err
		}
		s.log.Warn().Err(err).Msg("watching the registration; retrying")
		if !backoff.Sleep(ctx, bus.ProgressInterval) {
			return reg, ctx.Err()
		}
	}
}

func (s *Scheduler) watchRegistration(ctx context.Context, kv jetstream.KeyValue, logged *bool) (bus.Registration, error) {
	w, err := kv.Watch(ctx, bus.KeyRegistration)
	if err != nil {
		return bus.Registration{}, err
	}
	defer func() { _ = w.Stop() }()
	for {
		var e jetstream.KeyValueEntry
		select {
		case <-ctx.Done():
			return bus.Registration{}, ctx.Err()
		case u, ok := <-w.Updates():
			if !ok {
				return bus.Registration{}, errors.New("the registration watch ended")
			}
			e = u
		}
		var reg bus.Registration
		if e != nil && e.Operation() == jetstream.KeyValuePut && json.Unmarshal(e.Value(), &reg) == nil && reg.ContainerInstanceArn != "" {
			return reg, nil
		}
		if !*logged {
			s.log.Info().Msg("waiting for the session to register the instance")
			*logged = true
		}
	}
}

// restore loads every stored record and grant, admits waiting tasks in their
// arrival order, drops grants no task holds, and starts a runner per task that
// first reconciles its containers with Docker.
func (s *Scheduler) restore(ctx context.Context) error {
	grants, err := s.adm.store.Load(ctx)
	if err != nil {
		return err
	}
	for _, g := range grants {
		s.adm.book.Restore(g)
	}
	recs, err := s.loadRecords(ctx)
	if err != nil {
		return err
	}
	slices.SortFunc(recs, func(a, b *bus.TaskRecord) int { return a.CreatedAt.Compare(b.CreatedAt) })
	known := map[string]bool{}
	for _, rec := range recs {
		known[rec.Spec.Arn] = true
	}
	for _, g := range grants {
		if !known[g.TaskArn] {
			s.log.Info().Str(logger.FieldTaskARN, g.TaskArn).Msg("releasing the grant of a task without a record")
			if _, err := s.adm.release(ctx, g.TaskArn); err != nil {
				return err
			}
		}
	}
	for _, rec := range recs {
		s.admitNew(ctx, rec)
	}
	for _, rec := range recs {
		s.startRunner(ctx, rec, true)
	}
	return nil
}

func (s *Scheduler) loadRecords(ctx context.Context) ([]*bus.TaskRecord, error) {
	lister, err := s.tasks.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing task records: %w", err)
	}
	defer lister.Stop()
	var recs []*bus.TaskRecord
	for key := range lister.Keys() {
		rec := &bus.TaskRecord{}
		if err := bus.GetJSON(ctx, s.tasks, key, rec); err != nil {
			if errors.Is(err, jetstream.ErrKeyNotFound) {
				continue
			}
			s.log.Error().Err(err).Str("key", key).Msg("skipping an unreadable task record")
			continue
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// admitNew asks the ledger for a task that wants to run and has no grant yet. A
// task that can never fit is failed with the ledger's reason.
func (s *Scheduler) admitNew(ctx context.Context, rec *bus.TaskRecord) {
	if rec.DesiredStatus != bus.StatusRunning || rec.KnownStatus == bus.StatusStopped {
		return
	}
	log := s.log.With().Str(logger.FieldTaskARN, rec.Spec.Arn).Logger()
	d, err := ledger.DemandOf(rec.Spec)
	if err != nil {
		log.Error().Err(err).Msg("task refused")
		task.Fail(rec, "TaskDefinitionError: "+err.Error())
		return
	}
	g, err := s.adm.reserve(ctx, rec.Spec.Arn, d)
	switch {
	case err == nil:
		rec.HostPorts = g.PortStrings()
		s.nudgeWaiting() // what the waiting tasks lack has changed
	case errors.Is(err, ledger.ErrQueued):
		log.Info().Int64("cpu", d.CPU).Int64("memory_mib", d.MemoryMiB).Msg("task waits for host resources")
	case errors.Is(err, ledger.ErrNeverFits):
		log.Error().Err(err).Msg("task refused")
		task.Fail(rec, "ResourceError: "+err.Error())
	default:
		log.Error().Err(err).Msg("admission failed")
	}
}

func (s *Scheduler) startRunner(ctx context.Context, rec *bus.TaskRecord, recovering bool) *runner {
	r := newRunner(s, rec, recovering)
	s.mu.Lock()
	s.runners[rec.Spec.Arn] = r
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		r.run(ctx)
	}()
	return r
}

func (s *Scheduler) lookup(arn string) *runner {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runners[arn]
}

// forget drops a runner whose task was cleaned up.
func (s *Scheduler) forget(arn string, r *runner) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.runners[arn] == r {
		delete(s.runners, arn)
	}
}

// onDesired handles one DesiredTask. It runs on the consumer's goroutine, one
// message at a time, which is what keeps admission in arrival order. A known task
// gets the message in its mailbox (its runner acks it); a new task's record is
// stored, then the message acked, then the runner started.
func (s *Scheduler) onDesired(ctx context.Context, m jetstream.Msg) {
	var d bus.DesiredTask
	if err := json.Unmarshal(m.Data(), &d); err != nil || d.Task.Arn == "" {
		s.log.Error().Err(err).Str("subject", m.Subject()).Msg("dropping a malformed desired task")
		_ = m.Term()
		return
	}
	if r := s.lookup(d.Task.Arn); r != nil {
		r.box.put(input{desired: d.Task.DesiredStatus, msg: m})
		return
	}
	rec := task.NewRecord(d, time.Now())
	log := s.log.With().Str(logger.FieldTaskARN, d.Task.Arn).Logger()
	switch {
	case d.LoadError != "":
		// The session could not read the task; the control plane hears why.
		log.Error().Str("reason", d.LoadError).Msg("task could not be loaded")
		task.Fail(rec, d.LoadError)
	case rec.DesiredStatus == bus.StatusStopped:
		// Unknown and meant to be stopped: it is reported STOPPED at once.
	default:
		if err := task.Validate(d.Task); err != nil {
			log.Error().Err(err).Msg("task refused")
			task.Fail(rec, err.Error())
		} else {
			s.admitNew(ctx, rec)
		}
	}
	if err := bus.Retry(ctx, func(ctx context.Context) error {
		return bus.PutJSON(ctx, s.tasks, bus.TaskKey(rec.Spec.Arn), rec)
	}); err != nil {
		return // shutting down: the message comes back
	}
	_ = m.Ack()
	log.Info().Str("desired", string(rec.DesiredStatus)).Str("family", d.Task.Family).Msg("new task")
	s.startRunner(ctx, rec, false)
}

// onEvent hands a container event to its task's runner, which acks it once its
// effect is stored. Events of tasks the scheduler does not know (cleaned up, or
// not ours) are dropped.
func (s *Scheduler) onEvent(_ context.Context, m jetstream.Msg) {
	var ev bus.ContainerEvent
	if err := json.Unmarshal(m.Data(), &ev); err != nil {
		s.log.Error().Err(err).Str("subject", m.Subject()).Msg("dropping a malformed container event")
		_ = m.Term()
		return
	}
	r := s.lookup(ev.TaskArn)
	if r == nil {
		s.log.Debug().Str(logger.FieldTaskARN, ev.TaskArn).Str("action", ev.Action).Msg("event of an unknown task")
		_ = m.Ack()
		return
	}
	r.box.put(input{event: &ev, msg: m})
}

// delivered reports whether the control plane has accepted every report of the task:
// the reporter acks an outbox message only once the control plane accepted it, and
// the work-queue stream then drops it, so no message left on the task's subject means
// everything was delivered.
func (s *Scheduler) delivered(ctx context.Context, arn string) (bool, error) {
	st, err := s.js.Stream(ctx, bus.StreamOutbox)
	if err != nil {
		return false, err
	}
	_, err = st.GetLastMsgForSubject(ctx, bus.OutboxSubject(arn))
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return true, nil
	case err != nil:
		return false, err
	}
	return false, nil
}

// admitted tells a waiting task's runner that it got its grant.
// nudgeWaiting has every task still waiting for host resources say again what it
// lacks: a grant or a release changes it ("… MiB free").
func (s *Scheduler) nudgeWaiting() {
	s.mu.Lock()
	var waiting []*runner
	for arn, r := range s.runners {
		if s.adm.queued(arn) {
			waiting = append(waiting, r)
		}
	}
	s.mu.Unlock()
	for _, r := range waiting {
		r.box.put(input{refresh: true})
	}
}

func (s *Scheduler) admitted(grants []ledger.Grant) {
	defer s.nudgeWaiting()
	for _, g := range grants {
		if r := s.lookup(g.TaskArn); r != nil {
			g := g
			r.box.put(input{grant: &g})
		}
	}
}
