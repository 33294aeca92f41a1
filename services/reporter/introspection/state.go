package introspection

import (
	"context"
	"encoding/json"
	"sort"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
)

// State is the latest registration and task records, followed from the bus. The
// zero value is empty and usable; Follow fills it.
type State struct {
	mu    sync.RWMutex
	reg   *bus.Registration
	tasks map[string]bus.TaskRecord // by bucket key
	// byEndpoint and byCredentials index tasks (by bucket key) by their containers'
	// metadata endpoint IDs and by their task role's credentials ID, for the task
	// metadata and credentials endpoints.
	byEndpoint    map[string]string
	byCredentials map[string]string
	// changed is closed (and replaced) at each change of the task records.
	changed chan struct{}
}

var _ Source = (*State)(nil)

// Registration returns the instance's registration, if the session stored one.
func (s *State) Registration() (bus.Registration, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.reg == nil {
		return bus.Registration{}, false
	}
	return *s.reg, true
}

// Tasks returns every task record, oldest first.
func (s *State) Tasks() []bus.TaskRecord {
	s.mu.RLock()
	out := make([]bus.TaskRecord, 0, len(s.tasks))
	for _, t := range s.tasks {
		out = append(out, t)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].Spec.Arn < out[j].Spec.Arn
	})
	return out
}

// TasksChanged returns a channel closed at the next change of the task records,
// so that a reader waits for one instead of polling.
func (s *State) TasksChanged() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

// TaskByEndpointID returns the task one of whose containers has the task metadata
// endpoint ID id.
func (s *State) TaskByEndpointID(id string) (bus.TaskRecord, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.tasks[s.byEndpoint[id]]
	return t, ok && id != ""
}

// TaskByCredentialsID returns the task whose task role's credentials have the ID id.
func (s *State) TaskByCredentialsID(id string) (bus.TaskRecord, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.tasks[s.byCredentials[id]]
	return t, ok && id != ""
}

// Follow watches both buckets until ctx ends, keeping State current. The watchers
// recover from bus restarts by themselves. It returns once both watchers stop.
func (s *State) Follow(ctx context.Context, instance, tasks jetstream.KeyValue, log zerolog.Logger) error {
	regW, err := instance.Watch(ctx, bus.KeyRegistration)
	if err != nil {
		return err
	}
	taskW, err := tasks.WatchAll(ctx)
	if err != nil {
		_ = regW.Stop()
		return err
	}
	var wg sync.WaitGroup
	wg.Go(func() { s.apply(ctx, regW, log, s.setRegistration) })
	wg.Go(func() { s.apply(ctx, taskW, log, s.setTask) })
	wg.Wait()
	return nil
}

func (s *State) apply(ctx context.Context, w jetstream.KeyWatcher, log zerolog.Logger, set func(jetstream.KeyValueEntry, zerolog.Logger)) {
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e != nil { // nil marks the end of the initial values
				set(e, log)
			}
		}
	}
}

func (s *State) setRegistration(e jetstream.KeyValueEntry, log zerolog.Logger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.Operation() != jetstream.KeyValuePut {
		s.reg = nil
		return
	}
	var r bus.Registration
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		log.Warn().Err(err).Msg("undecodable registration in the instance bucket")
		return
	}
	s.reg = &r
}

func (s *State) setTask(e jetstream.KeyValueEntry, log zerolog.Logger) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tasks == nil {
		s.tasks = map[string]bus.TaskRecord{}
		s.byEndpoint = map[string]string{}
		s.byCredentials = map[string]string{}
	}
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	if e.Operation() != jetstream.KeyValuePut {
		s.unindex(e.Key())
		delete(s.tasks, e.Key())
		return
	}
	var t bus.TaskRecord
	if err := json.Unmarshal(e.Value(), &t); err != nil || t.Spec.Arn == "" {
		log.Warn().Err(err).Str("key", e.Key()).Msg("undecodable task record in the tasks bucket")
		return
	}
	s.unindex(e.Key())
	s.tasks[e.Key()] = t
	for _, c := range t.Containers {
		if c.EndpointID != "" {
			s.byEndpoint[c.EndpointID] = e.Key()
		}
	}
	if id := t.Spec.TaskCredentialsID; id != "" {
		s.byCredentials[id] = e.Key()
	}
}

// unindex drops the index entries of the task under key; s.mu is held.
func (s *State) unindex(key string) {
	old, ok := s.tasks[key]
	if !ok {
		return
	}
	for _, c := range old.Containers {
		if s.byEndpoint[c.EndpointID] == key {
			delete(s.byEndpoint, c.EndpointID)
		}
	}
	if s.byCredentials[old.Spec.TaskCredentialsID] == key {
		delete(s.byCredentials, old.Spec.TaskCredentialsID)
	}
}
