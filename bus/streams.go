package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Streams, consumers and key-value buckets. All use file storage, so they survive a
// restart of the bus.
const (
	StreamDesired = "ECS_DESIRED" // DesiredTask, session → scheduler
	StreamEvents  = "ECS_EVENTS"  // ContainerEvent, dockerexec → scheduler
	StreamOutbox  = "ECS_OUTBOX"  // TaskStateChange, scheduler → reporter

	ConsumerSchedulerDesired = "scheduler-desired"
	ConsumerSchedulerEvents  = "scheduler-events"
	ConsumerReporter         = "reporter"

	BucketInstance = "ecs_instance" // Registration under KeyRegistration; owner session
	BucketTasks    = "ecs_tasks"    // TaskRecord under TaskKey; owner scheduler
	BucketLedger   = "ecs_ledger"   // the scheduler's resource ledger; owner scheduler

	KeyRegistration = "registration"
)

// TaskKey is a task's key in BucketTasks.
func TaskKey(taskARN string) string { return Token(TaskID(taskARN)) }

// StreamConfigs are the streams of the contract. Each is a work queue: a message is
// removed once its one consumer acks it, and a consumer acks only after it has made
// the message's effect durable.
func StreamConfigs() []jetstream.StreamConfig {
	mk := func(name, subj, desc string) jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name:        name,
			Description: desc,
			Subjects:    []string{subj},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Duplicates:  10 * time.Minute,
			MaxAge:      7 * 24 * time.Hour,
		}
	}
	return []jetstream.StreamConfig{
		mk(StreamDesired, SubjectDesiredAll, "desired tasks, session to scheduler"),
		mk(StreamEvents, SubjectEventsAll, "container events, dockerexec to scheduler"),
		mk(StreamOutbox, SubjectOutboxAll, "task state changes, scheduler to reporter"),
	}
}

// EnsureStreams creates or updates every stream of the contract. Any service may call
// it; it is idempotent.
func EnsureStreams(ctx context.Context, js jetstream.JetStream) error {
	for _, cfg := range StreamConfigs() {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("ensuring stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// EnsureBucket creates or opens a key-value bucket with file storage.
func EnsureBucket(ctx context.Context, js jetstream.JetStream, name string) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:  name,
		Storage: jetstream.FileStorage,
		History: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("ensuring bucket %s: %w", name, err)
	}
	return kv, nil
}

// Publish stores v as JSON on a stream subject with a deterministic message ID and
// returns once JetStream has acknowledged it.
func Publish(ctx context.Context, js jetstream.JetStream, subject, msgID string, v any) (*jetstream.PubAck, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding message for %s: %w", subject, err)
	}
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	if msgID != "" {
		msg.Header.Set(jetstream.MsgIDHeader, msgID)
	}
	ack, err := js.PublishMsg(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("publishing to %s: %w", subject, err)
	}
	return ack, nil
}

// PutJSON stores v as JSON under key.
func PutJSON(ctx context.Context, kv jetstream.KeyValue, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", key, err)
	}
	if _, err := kv.Put(ctx, key, data); err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	return nil
}

// GetJSON loads key into v. It returns jetstream.ErrKeyNotFound when the key is
// absent.
func GetJSON(ctx context.Context, kv jetstream.KeyValue, key string, v any) error {
	e, err := kv.Get(ctx, key)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return fmt.Errorf("decoding %s: %w", key, err)
	}
	return nil
}

// Prepare connects once and creates every stream and bucket of the contract, so that
// services started later find them. Services still ensure what they use themselves.
func Prepare(ctx context.Context, dc DialConfig) error {
	nc, err := Dial(dc)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := JetStream(nc)
	if err != nil {
		return err
	}
	return Retry(ctx, func(ctx context.Context) error {
		if err := EnsureStreams(ctx, js); err != nil {
			return err
		}
		for _, b := range []string{BucketInstance, BucketTasks, BucketLedger} {
			if _, err := EnsureBucket(ctx, js, b); err != nil {
				return err
			}
		}
		return nil
	})
}
