package bus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

	BucketInstance   = "ecs_instance"   // Registration under KeyRegistration; owner session
	BucketTasks      = "ecs_tasks"      // TaskRecord under TaskKey; owner scheduler
	BucketLedger     = "ecs_ledger"     // the scheduler's resource ledger; owner scheduler
	BucketDockerexec = "ecs_dockerexec" // dockerexec's event cursor (KeyEventCursor) and image records (ImageKey); owner dockerexec
	// BucketCredentials holds the tasks' role credentials, sealed (RoleCredentials
	// under Token(credentialsId)); owner session, read by dockerexec and the reporter.
	// It is kept in memory only: credentials never reach the disk, and after a restart
	// of the bus the session asks the control plane for them again.
	BucketCredentials = "ecs_credentials"

	KeyRegistration = "registration"
	// KeyEventCursor holds the time (Unix nanoseconds, decimal) of the last Docker
	// event dockerexec published, where a restarted dockerexec resumes.
	KeyEventCursor = "events-since"
	// KeyImagePrefix starts the keys of dockerexec's image records (ImageKey): when
	// this agent pulled and last used each image, for ECS_IMAGE_PULL_BEHAVIOR=once
	// and image cleanup.
	KeyImagePrefix = "images."
)

// ImageKey is an image reference's key in BucketDockerexec. References hold
// characters a key may not ('/', ':', '@'), so the key is a hash of the reference;
// the record itself carries the reference.
func ImageKey(ref string) string {
	sum := sha256.Sum256([]byte(ref))
	return KeyImagePrefix + hex.EncodeToString(sum[:16])
}

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

// ensureStreams creates or updates every stream of the contract. Any service may call
// it; it is idempotent.
func ensureStreams(ctx context.Context, js jetstream.JetStream) error {
	for _, cfg := range StreamConfigs() {
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("ensuring stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// ensureBucket creates or opens a key-value bucket: file storage, but for the
// credentials, which stay in memory.
func ensureBucket(ctx context.Context, js jetstream.JetStream, name string) (jetstream.KeyValue, error) {
	storage := jetstream.FileStorage
	if name == BucketCredentials {
		storage = jetstream.MemoryStorage
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:  name,
		Storage: storage,
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

// Buckets lists every key-value bucket of the contract.
func Buckets() []string {
	return []string{BucketInstance, BucketTasks, BucketLedger, BucketDockerexec, BucketCredentials}
}

// Prepare connects once and creates (or updates) every stream and bucket of the
// contract. Only the bus does it, as the admin user: services may not create streams,
// they wait for them (OpenStreams, OpenBucket).
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
		if err := ensureStreams(ctx, js); err != nil {
			return err
		}
		for _, b := range Buckets() {
			if _, err := ensureBucket(ctx, js, b); err != nil {
				return err
			}
		}
		return nil
	})
}

// OpenStreams waits until every named stream exists, as a service started before the
// bus has prepared them must.
func OpenStreams(ctx context.Context, js jetstream.JetStream, names ...string) error {
	return Retry(ctx, func(ctx context.Context) error {
		for _, n := range names {
			if _, err := js.Stream(ctx, n); err != nil {
				return fmt.Errorf("opening stream %s: %w", n, err)
			}
		}
		return nil
	})
}

// OpenBucket waits until a bucket exists and returns it.
func OpenBucket(ctx context.Context, js jetstream.JetStream, name string) (jetstream.KeyValue, error) {
	var kv jetstream.KeyValue
	err := Retry(ctx, func(ctx context.Context) error {
		var err error
		kv, err = js.KeyValue(ctx, name)
		if err != nil {
			return fmt.Errorf("opening bucket %s: %w", name, err)
		}
		return nil
	})
	return kv, err
}

// PutRoleCredentials seals rc and stores it under its credentials ID.
func PutRoleCredentials(ctx context.Context, kv jetstream.KeyValue, k *Keyring, rc RoleCredentials) error {
	rc.Type = TypeRoleCredentials
	sealed, err := k.Seal(rc)
	if err != nil {
		return fmt.Errorf("sealing credentials %s: %w", rc.CredentialsID, err)
	}
	if _, err := kv.Put(ctx, Token(rc.CredentialsID), sealed); err != nil {
		return fmt.Errorf("storing credentials %s: %w", rc.CredentialsID, err)
	}
	return nil
}

// GetRoleCredentials loads and opens the credentials of an ID; jetstream.ErrKeyNotFound
// when there are none.
func GetRoleCredentials(ctx context.Context, kv jetstream.KeyValue, k *Keyring, id string) (RoleCredentials, error) {
	var rc RoleCredentials
	e, err := kv.Get(ctx, Token(id))
	if err != nil {
		return rc, err
	}
	if err := k.Open(e.Value(), &rc); err != nil {
		return rc, fmt.Errorf("opening credentials %s: %w", id, err)
	}
	return rc, nil
}
