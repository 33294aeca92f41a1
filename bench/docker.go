package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

const (
	// labelBench marks the baseline containers the bench creates itself; its value
	// is the run's ID, so that cleanup removes only this run's.
	labelBench = "ecs-agent.bench.run"
	// labelBenchKey names one baseline container, as the task ARN names an agent's.
	labelBenchKey = "ecs-agent.bench.key"
	labelTaskARN  = "com.amazonaws.ecs.task-arn"
	labelCluster  = "com.amazonaws.ecs.cluster"
)

func newDocker() (*client.Client, error) {
	return client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
}

// dockerTimes are the engine's own event times of one container.
type dockerTimes struct {
	Start, Die time.Time
}

// eventLog records the engine's start and die events of the bench's containers (the
// agent's, by task ARN, and the baseline's, by their key), with the engine's
// timeNano.
type eventLog struct {
	mu    sync.Mutex
	times map[string]*dockerTimes
}

// watchEvents subscribes to the engine's container events until ctx ends.
func watchEvents(ctx context.Context, dc *client.Client) (*eventLog, error) {
	f := filters.NewArgs(filters.Arg("type", "container"), filters.Arg("event", "start"), filters.Arg("event", "die"))
	msgs, errs := dc.Events(ctx, events.ListOptions{Filters: f})
	el := &eventLog{times: map[string]*dockerTimes{}}
	ready := make(chan struct{})
	go func() {
		close(ready)
		for {
			select {
			case m := <-msgs:
				el.add(m)
			case <-errs:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	<-ready
	return el, nil
}

func (el *eventLog) add(m events.Message) {
	key := m.Actor.Attributes[labelTaskARN]
	if key == "" {
		key = m.Actor.Attributes[labelBenchKey]
	}
	if key == "" {
		return
	}
	at := time.Unix(0, m.TimeNano)
	el.mu.Lock()
	defer el.mu.Unlock()
	t := el.times[key]
	if t == nil {
		t = &dockerTimes{}
		el.times[key] = t
	}
	switch m.Action {
	case events.ActionStart:
		if t.Start.IsZero() {
			t.Start = at
		}
	case events.ActionDie:
		if t.Die.IsZero() {
			t.Die = at
		}
	}
}

// get returns the times seen for key.
func (el *eventLog) get(key string) dockerTimes {
	el.mu.Lock()
	defer el.mu.Unlock()
	if t := el.times[key]; t != nil {
		return *t
	}
	return dockerTimes{}
}

// waitDie waits (bounded) for the die event of key; events arrive a little after
// the call that caused them returned.
func (el *eventLog) wait(ctx context.Context, key string, die bool) dockerTimes {
	_ = waitUntil(ctx, 2*time.Second, func() bool {
		t := el.get(key)
		if die {
			return !t.Die.IsZero()
		}
		return !t.Start.IsZero()
	})
	return el.get(key)
}

// baseline creates, starts and stops containers through the Docker API directly,
// as close as is reasonable to what the agent creates for the bench's task
// definition (services/dockerexec/spec.go): the same image, command, memory
// limit, CPU shares and bridge network, and a name.
type baseline struct {
	dc    *client.Client
	runID string
	n     int
}

func (b *baseline) config(key string) (*container.Config, *container.HostConfig) {
	cfg := &container.Config{
		Image:  benchImage,
		Cmd:    []string{"sleep", "3600"},
		Labels: map[string]string{labelBench: b.runID, labelBenchKey: key},
	}
	host := &container.HostConfig{
		NetworkMode: "bridge",
		Resources:   container.Resources{Memory: taskMemoryMiB << 20, CPUShares: taskCPU},
	}
	return cfg, host
}

// nextKey names the next baseline container.
func (b *baseline) nextKey() string {
	b.n++
	return fmt.Sprintf("bench-%s-%d", b.runID, b.n)
}

// createStart creates and starts one container and returns its ID.
func (b *baseline) createStart(ctx context.Context, key string) (string, error) {
	cfg, host := b.config(key)
	resp, err := b.dc.ContainerCreate(ctx, cfg, host, nil, nil, key)
	if err != nil {
		return "", fmt.Errorf("creating %s: %w", key, err)
	}
	if err := b.dc.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		return resp.ID, fmt.Errorf("starting %s: %w", key, err)
	}
	return resp.ID, nil
}

// stop stops a container with a 1 s timeout, as the agent's stop.
func (b *baseline) stop(ctx context.Context, id string) error {
	timeout := 1
	return b.dc.ContainerStop(ctx, id, container.StopOptions{Timeout: &timeout})
}

func (b *baseline) remove(ctx context.Context, id string) error {
	return b.dc.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
}

// removeLabelled force-removes every container carrying label=value and returns how
// many there were.
func removeLabelled(ctx context.Context, dc *client.Client, label, value string) int {
	ids := labelled(ctx, dc, label, value)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_ = dc.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
		}()
	}
	wg.Wait()
	return len(ids)
}

// labelled lists the containers (any state) carrying label=value.
func labelled(ctx context.Context, dc *client.Client, label, value string) []string {
	cs, err := dc.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", label+"="+value))})
	if err != nil {
		return nil
	}
	ids := make([]string, 0, len(cs))
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}
