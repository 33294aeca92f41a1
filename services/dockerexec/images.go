package dockerexec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
)

// imageRecord is what dockerexec remembers of an image a task asked for, in its
// bucket under bus.ImageKey(Ref), as the real agent's image manager keeps its
// ImageState: ECS_IMAGE_PULL_BEHAVIOR=once reads PulledAt, image cleanup reads all
// of it. An image with a record is "tracked"; the others are untracked, and only
// ECS_ENABLE_UNTRACKED_IMAGE_CLEANUP lets cleanup touch them.
type imageRecord struct {
	Ref     string `json:"ref"`
	ImageID string `json:"imageId"`
	// AddedAt is when a task first asked for the image.
	AddedAt time.Time `json:"addedAt"`
	// PulledAt is the end of the last successful pull by this agent; nil when the
	// image was only ever used from the cache.
	PulledAt *time.Time `json:"pulledAt,omitempty"`
	// LastUsedAt is the last time a task asked for the image, or cleanup saw a
	// container using it.
	LastUsedAt time.Time `json:"lastUsedAt"`
}

// age is how long the record has been eligible for cleanup: since its pull, or
// since the agent first used it from the cache.
func (r imageRecord) age(now time.Time) time.Duration {
	if r.PulledAt != nil {
		return now.Sub(*r.PulledAt)
	}
	return now.Sub(r.AddedAt)
}

// imageStore is the durable set of image records with a copy in memory. It is
// usable once open has loaded the bucket; a caller that needs a record before then
// waits (get), one that only records a use has it written when the bucket opens.
//
// Its methods may be called from any goroutine; mu guards records and kv.
type imageStore struct {
	log   zerolog.Logger
	ready chan struct{} // closed once the bucket is loaded

	mu      sync.Mutex
	kv      jetstream.KeyValue
	records map[string]imageRecord // by reference
	pending map[string]bool        // references changed before the bucket opened
}

func newImageStore(log zerolog.Logger) *imageStore {
	return &imageStore{log: log, ready: make(chan struct{}), records: map[string]imageRecord{}, pending: map[string]bool{}}
}

// open loads every record from the bucket (waiting for the bus as long as ctx
// allows) and writes the uses recorded meanwhile. Called once, on its own goroutine.
func (s *imageStore) open(ctx context.Context, js jetstream.JetStream) {
	kv, err := bus.OpenBucket(ctx, js, bus.BucketDockerexec)
	if err != nil {
		return // ctx ended
	}
	loaded := map[string]imageRecord{}
	err = bus.Retry(ctx, func(ctx context.Context) error {
		lister, err := kv.ListKeysFiltered(ctx, bus.KeyImagePrefix+">")
		if err != nil {
			return fmt.Errorf("listing image records: %w", err)
		}
		var keys []string
		for k := range lister.Keys() {
			keys = append(keys, k)
		}
		for _, k := range keys {
			var r imageRecord
			if err := bus.GetJSON(ctx, kv, k, &r); err != nil {
				if errors.Is(err, jetstream.ErrKeyNotFound) {
					continue
				}
				var syn *json.SyntaxError
				if errors.As(err, &syn) {
					s.log.Warn().Err(err).Str("key", k).Msg("undecodable image record; ignoring it")
					continue
				}
				return err
			}
			if r.Ref != "" {
				loaded[r.Ref] = r
			}
		}
		return nil
	})
	if err != nil {
		return // ctx ended
	}
	s.mu.Lock()
	// Uses recorded before the bucket opened are newer than what it holds.
	for ref, r := range s.records {
		if old, ok := loaded[ref]; ok {
			r.AddedAt = old.AddedAt
			if r.PulledAt == nil {
				r.PulledAt = old.PulledAt
			}
		}
		loaded[ref] = r
	}
	s.records, s.kv = loaded, kv
	n := len(loaded)
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	for ref := range pending {
		s.save(ctx, ref)
	}
	s.log.Debug().Int("images", n).Msg("image records loaded")
	close(s.ready)
}

// get returns the record of ref, waiting for the bucket to be loaded.
func (s *imageStore) get(ctx context.Context, ref string) (imageRecord, bool, error) {
	select {
	case <-s.ready:
	case <-ctx.Done():
		return imageRecord{}, false, bus.Errorf(bus.CodeUnavailable, "the image records are not loaded yet: %v", ctx.Err())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[ref]
	return r, ok, nil
}

// used records that a task asked for ref, found as imageID; pulledAt is set when
// this agent has just pulled it.
func (s *imageStore) used(ctx context.Context, ref, imageID string, pulledAt *time.Time, now time.Time) {
	s.mu.Lock()
	r, ok := s.records[ref]
	if !ok {
		r = imageRecord{Ref: ref, AddedAt: now}
	}
	r.ImageID, r.LastUsedAt = imageID, now
	if pulledAt != nil {
		t := *pulledAt
		r.PulledAt = &t
	}
	s.records[ref] = r
	if s.kv == nil {
		s.pending[ref] = true
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.save(ctx, ref)
}

// touch moves the last use of tracked images forward (cleanup saw them in use).
func (s *imageStore) touch(ctx context.Context, refs []string, now time.Time) {
	for _, ref := range refs {
		s.mu.Lock()
		r, ok := s.records[ref]
		if ok {
			r.LastUsedAt = now
			s.records[ref] = r
		}
		s.mu.Unlock()
		if ok {
			s.save(ctx, ref)
		}
	}
}

// forget drops the record of an image that is gone.
func (s *imageStore) forget(ctx context.Context, ref string) {
	s.mu.Lock()
	delete(s.records, ref)
	kv := s.kv
	s.mu.Unlock()
	if kv == nil {
		return
	}
	if err := kv.Delete(ctx, bus.ImageKey(ref)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		s.log.Warn().Err(err).Str("image", ref).Msg("could not delete the image record")
	}
}

// all returns every record, least recently used first.
func (s *imageStore) all() []imageRecord {
	s.mu.Lock()
	out := make([]imageRecord, 0, len(s.records))
	for _, r := range s.records {
		out = append(out, r)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].LastUsedAt.Equal(out[j].LastUsedAt) {
			return out[i].LastUsedAt.Before(out[j].LastUsedAt)
		}
		return out[i].Ref < out[j].Ref
	})
	return out
}

// save writes the record of ref as it is in memory now. A failure is logged: the
// record in memory still serves, and the next use writes it again.
func (s *imageStore) save(ctx context.Context, ref string) {
	s.mu.Lock()
	r, ok := s.records[ref]
	kv := s.kv
	s.mu.Unlock()
	if !ok || kv == nil {
		return
	}
	if err := bus.PutJSON(ctx, kv, bus.ImageKey(ref), r); err != nil {
		s.log.Warn().Err(err).Str("image", ref).Msg("could not store the image record")
	}
}
