package dockerexec

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
)

// instance is what dockerexec knows of the container instance it serves: the cluster
// from its configuration, the instance ARN from the session's registration. Several
// agents may share one Docker engine; dockerexec reports and acts on its own
// instance's containers only.
type instance struct {
	cluster string

	mu    sync.Mutex
	arn   string
	known chan struct{} // closed once arn is set
}

func newInstance(cluster string) *instance {
	return &instance{cluster: cluster, known: make(chan struct{})}
}

// ARN is the registered instance ARN, "" before the session has registered.
func (in *instance) ARN() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.arn
}

// wait blocks until the instance ARN is known or ctx ends.
func (in *instance) wait(ctx context.Context) (string, bool) {
	select {
	case <-in.known:
		return in.ARN(), true
	case <-ctx.Done():
		return "", false
	}
}

func (in *instance) set(arn string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if arn == "" || arn == in.arn {
		return
	}
	first := in.arn == ""
	in.arn = arn
	if first {
		close(in.known)
	}
}

// owns reports whether a container with these labels belongs to this instance: an
// agent container (it carries the task ARN label) of the configured cluster, created
// by this instance's agent (or before containers carried the instance label).
func (in *instance) owns(labels map[string]string) bool {
	if labels[bus.LabelTaskARN] == "" {
		return false
	}
	if in.cluster != "" && labels[bus.LabelCluster] != in.cluster {
		return false
	}
	own, theirs := in.ARN(), labels[bus.LabelContainerInstanceARN]
	return own == "" || theirs == "" || own == theirs
}

// follow keeps the instance ARN current from the registration bucket until ctx ends.
// Called on its own goroutine; the bucket is opened as soon as the bus has it.
func (in *instance) follow(ctx context.Context, js jetstream.JetStream, log zerolog.Logger) {
	kv, err := bus.OpenBucket(ctx, js, bus.BucketInstance)
	if err != nil {
		return // ctx ended
	}
	for ctx.Err() == nil {
		w, err := kv.Watch(ctx, bus.KeyRegistration)
		if err != nil {
			log.Warn().Err(err).Msg("watching the registration; retrying")
			if !sleep(ctx, bus.ProgressInterval) {
				return
			}
			continue
		}
	updates:
		for {
			var e jetstream.KeyValueEntry
			select {
			case <-ctx.Done():
				break updates
			case u, ok := <-w.Updates():
				if !ok {
					break updates
				}
				e = u
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue
			}
			var r bus.Registration
			if err := json.Unmarshal(e.Value(), &r); err != nil {
				log.Warn().Err(err).Msg("undecodable registration")
				continue
			}
			if r.ContainerInstanceArn != in.ARN() {
				log.Info().Str("container_instance_arn", r.ContainerInstanceArn).Msg("serving container instance")
			}
			in.set(r.ContainerInstanceArn)
		}
		_ = w.Stop()
	}
}
