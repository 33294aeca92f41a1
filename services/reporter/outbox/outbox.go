package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/backoff"
	"github.com/ecs-agent/ecs-agent/bus/logger"
)

// ErrRejected is what a Submitter wraps when the control plane refused a report for
// good; the outbox then drops (acks) it with an error in the log.
var ErrRejected = errors.New("state change rejected")

// Submitter delivers one state change to the control plane. It is called from a
// worker goroutine and may block up to its own timeout; ctx ends on shutdown.
type Submitter interface {
	Submit(ctx context.Context, sc bus.TaskStateChange) error
}

// Recorder counts what happens to reports (the metrics endpoint). Methods are called
// from worker goroutines and must not block.
type Recorder interface {
	Submitted(latency time.Duration)
	Failed()
	Dropped()
}

// Config tunes delivery. Zero values take the defaults.
type Config struct {
	// Workers is how many tasks are delivered concurrently (10, as the real agent).
	Workers int
	// AckWait is how long the bus waits for an ack before redelivering (30 s); held
	// messages are kept alive with InProgress every AckWait/3.
	AckWait time.Duration
	// MaxAckPending bounds the messages held in memory (1000).
	MaxAckPending int
	// Backoff is the retry schedule of a failed submission.
	Backoff backoff.Backoff
}

func (c Config) withDefaults() Config {
	if c.Workers <= 0 {
		c.Workers = 10
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.MaxAckPending <= 0 {
		c.MaxAckPending = 1000
	}
	c.Backoff = withDefaults(c.Backoff)
	return c
}

// Outbox consumes ECS_OUTBOX and delivers every message.
type Outbox struct {
	cfg Config
	js  jetstream.JetStream
	sub Submitter
	rec Recorder
	log zerolog.Logger
}

// New builds an outbox; Run does the work.
func New(cfg Config, js jetstream.JetStream, sub Submitter, rec Recorder, log zerolog.Logger) *Outbox {
	return &Outbox{
		cfg: cfg.withDefaults(),
		js:  js,
		sub: sub,
		rec: rec,
		log: log.With().Str("component", "outbox").Logger(),
	}
}

// Setup creates the streams and the consumer, retrying until the bus answers. Run
// calls it; callers that want to know when delivery can begin may call it first.
func (o *Outbox) Setup(ctx context.Context) error {
	return bus.Retry(ctx, func(ctx context.Context) error {
		if err := bus.OpenStreams(ctx, o.js, bus.StreamOutbox); err != nil {
			return err
		}
		_, err := o.consumer(ctx)
		if err != nil {
			o.log.Warn().Err(err).Msg("outbox set-up failed, retrying")
		}
		return err
	})
}

// Run delivers until ctx ends. A generation that loses its consumer (the bus lost
// its store, or the consumer was deleted) is abandoned and a new one starts; held
// messages are then delivered again from the stream.
func (o *Outbox) Run(ctx context.Context) error {
	for {
		err := o.generation(ctx)
		if ctx.Err() != nil {
			return nil
		}
		o.log.Warn().Err(err).Msg("outbox consumer lost, starting again")
		if !backoff.Sleep(ctx, time.Second) {
			return nil
		}
	}
}

// Backlog is the number of reports waiting in the outbox (stored, not yet acked) and
// when the oldest of them was stored (zero when none waits).
func (o *Outbox) Backlog(ctx context.Context) (uint64, time.Time, error) {
	s, err := o.js.Stream(ctx, bus.StreamOutbox)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("reading outbox stream: %w", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("reading outbox stream: %w", err)
	}
	if info.State.Msgs == 0 {
		return 0, time.Time{}, nil
	}
	return info.State.Msgs, info.State.FirstTime, nil
}

func (o *Outbox) consumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       bus.ConsumerReporter,
		Description:   "task state changes for the control plane",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       o.cfg.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: o.cfg.MaxAckPending,
		FilterSubject: bus.SubjectOutboxAll,
	}
}

// consumer opens the durable consumer. When it still has messages delivered to a
// previous process and not acked, it is recreated so that they come again at once
// and in order (see the package comment); no message is lost by this, since the
// work-queue stream keeps every unacked message.
func (o *Outbox) consumer(ctx context.Context) (jetstream.Consumer, error) {
	stream, err := o.js.Stream(ctx, bus.StreamOutbox)
	if err != nil {
		return nil, fmt.Errorf("opening stream %s: %w", bus.StreamOutbox, err)
	}
	cfg := o.consumerConfig()
	cons, err := stream.CreateOrUpdateConsumer(ctx, cfg)
	if err == nil {
		info, ierr := cons.Info(ctx)
		if ierr != nil {
			return nil, fmt.Errorf("reading consumer %s: %w", cfg.Durable, ierr)
		}
		if info.NumAckPending == 0 {
			return cons, nil
		}
		o.log.Info().Int("ack_pending", info.NumAckPending).
			Msg("outbox has reports delivered before a restart and not acknowledged; delivering them again")
	} else {
		o.log.Warn().Err(err).Msg("outbox consumer cannot be updated; recreating it")
	}
	if err := stream.DeleteConsumer(ctx, cfg.Durable); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("resetting consumer %s: %w", cfg.Durable, err)
	}
	cons, err = stream.CreateOrUpdateConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("creating consumer %s: %w", cfg.Durable, err)
	}
	return cons, nil
}

// generation runs one consumer subscription with its workers until ctx ends or the
// consumer is lost.
func (o *Outbox) generation(ctx context.Context) error {
	if err := o.Setup(ctx); err != nil {
		return err
	}
	// Setup made sure the consumer exists without resetting it twice.
	stream, err := o.js.Stream(ctx, bus.StreamOutbox)
	if err != nil {
		return fmt.Errorf("opening stream %s: %w", bus.StreamOutbox, err)
	}
	cons, err := stream.Consumer(ctx, bus.ConsumerReporter)
	if err != nil {
		return fmt.Errorf("opening consumer %s: %w", bus.ConsumerReporter, err)
	}

	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	q := newQueue()
	defer q.closeOn(gctx)()

	var wg sync.WaitGroup
	for range o.cfg.Workers {
		wg.Go(func() { o.worker(gctx, stream, q) })
	}
	wg.Go(func() { o.heartbeat(gctx, q) })
	defer func() {
		cancel()
		wg.Wait()
	}()

	it, err := cons.Messages(
		jetstream.PullMaxMessages(100),
		jetstream.WithMessagesErrOnMissingHeartbeat(true),
	)
	if err != nil {
		return fmt.Errorf("subscribing to consumer %s: %w", bus.ConsumerReporter, err)
	}
	defer it.Stop()
	o.log.Info().Msg("delivering task state changes")

	for {
		msg, err := it.Next(jetstream.NextContext(gctx))
		if err != nil {
			if gctx.Err() != nil {
				return nil
			}
			if errors.Is(err, jetstream.ErrNoHeartbeat) {
				// The bus may be restarting; the subscription recovers by itself
				// unless the consumer is gone.
				if _, ierr := cons.Info(gctx); errors.Is(ierr, jetstream.ErrConsumerNotFound) || errors.Is(ierr, jetstream.ErrStreamNotFound) {
					return fmt.Errorf("consumer %s: %w", bus.ConsumerReporter, ierr)
				}
				continue
			}
			return fmt.Errorf("reading consumer %s: %w", bus.ConsumerReporter, err)
		}
		o.accept(gctx, q, msg)
	}
}

// accept queues one delivered message; an undecodable one is dropped at once, since
// it can never become a valid report.
func (o *Outbox) accept(ctx context.Context, q *queue, msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		o.log.Error().Err(err).Str("subject", msg.Subject()).Msg("outbox message without metadata; dropping it")
		_ = msg.Term()
		return
	}
	var sc bus.TaskStateChange
	if err := json.Unmarshal(msg.Data(), &sc); err != nil || sc.TaskArn == "" {
		if err == nil {
			err = errors.New("no task ARN")
		}
		o.log.Error().Err(err).Str("subject", msg.Subject()).Uint64("stream_seq", meta.Sequence.Stream).
			Msg("undecodable task state change; dropping it")
		o.rec.Dropped()
		if aerr := msg.DoubleAck(ctx); aerr != nil {
			o.log.Warn().Err(aerr).Msg("acknowledging an undecodable message failed; it will come again")
		}
		return
	}
	e := &entry{seq: meta.Sequence.Stream, stored: meta.Timestamp, change: sc, msg: msg}
	if !q.add(e) {
		o.log.Debug().Str(logger.FieldTaskARN, sc.TaskArn).Uint64("stream_seq", e.seq).
			Msg("redelivery of a report already held")
	}
}

// worker delivers the head of one ready task at a time until ctx ends.
func (o *Outbox) worker(ctx context.Context, stream jetstream.Stream, q *queue) {
	for {
		e := q.next()
		if e == nil {
			return
		}
		if !o.deliver(ctx, e) || !o.ack(ctx, stream, q, e) {
			return
		}
		q.finish(e)
	}
}

// deliver submits e until the control plane accepts or rejects it. It returns
// false only when ctx ended first.
func (o *Outbox) deliver(ctx context.Context, e *entry) bool {
	sc := e.change
	log := o.log.With().Str(logger.FieldTaskARN, sc.TaskArn).Uint64("seq", sc.Seq).Str("status", sc.Status).Logger()
	bo := o.cfg.Backoff.Start()
	for attempt := 1; ; attempt++ {
		err := o.sub.Submit(ctx, sc)
		switch {
		case err == nil:
			o.rec.Submitted(time.Since(e.stored))
			log.Debug().Int("attempt", attempt).Msg("state change accepted")
			return true
		case errors.Is(err, ErrRejected):
			o.rec.Dropped()
			log.Error().Err(err).Msg("control plane rejected the state change; dropping it")
			return true
		case ctx.Err() != nil:
			return false
		}
		o.rec.Failed()
		wait := bo.Next()
		log.Warn().Err(err).Int("attempt", attempt).Dur("retry_in", wait).Msg("submitting state change failed")
		if !backoff.Sleep(ctx, wait) {
			return false
		}
	}
}

// ack removes e from the stream and waits for the bus to confirm it, so that the
// task's next report cannot be overtaken by a redelivery of this one. It gives up
// only when ctx ends or the message is no longer in the stream.
func (o *Outbox) ack(ctx context.Context, stream jetstream.Stream, q *queue, e *entry) bool {
	bo := backoff.Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second, Factor: 2}.Start()
	for {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := q.msg(e).DoubleAck(actx)
		cancel()
		if err == nil || errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if _, gerr := stream.GetMsg(ctx, e.seq); errors.Is(gerr, jetstream.ErrMsgNotFound) {
			return true
		}
		o.log.Warn().Err(err).Str(logger.FieldTaskARN, e.change.TaskArn).Uint64("stream_seq", e.seq).
			Msg("acknowledging a delivered state change failed, retrying")
		if !backoff.Sleep(ctx, bo.Next()) {
			return false
		}
	}
}

// heartbeat keeps held messages from being redelivered while they wait for a worker
// or for the control plane.
func (o *Outbox) heartbeat(ctx context.Context, q *queue) {
	t := time.NewTicker(o.cfg.AckWait / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, m := range q.deliveries() {
			_ = m.InProgress() // best effort: a lost one means a redelivery, which add absorbs
		}
	}
}
