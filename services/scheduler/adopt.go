package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/logger"
	"github.com/ecs-agent/ecs-agent/services/scheduler/ledger"
	"github.com/ecs-agent/ecs-agent/services/scheduler/task"
)

// adopt rebuilds the record of every task whose containers Docker holds for this
// instance but the store does not know, which happens when the agent's data
// directory was lost (DESIGN.md §4.3). Each container carries its task's spec
// (bus.LabelTaskSpec), so any one of them is enough: the record is rebuilt from the
// spec and the containers' inspected states, the ports Docker bound are reserved in
// the ledger as they are (and CPU and memory whatever is left), and the task is
// reported as found. Whether the control plane still wants it is its to say (a stop
// payload, or the task manifest's stop verification); until then nothing is
// stopped or restarted.
//
// It runs once, after restore and before the consumers start, so that no new task is
// admitted onto ports the adopted ones hold.
func (s *Scheduler) adopt(ctx context.Context) error {
	var list bus.ListReply
	err := retry(ctx, 30*time.Second, func(ctx context.Context) (err error) {
		list, err = s.docker.List(ctx, bus.ListRequest{Cluster: s.reg.Cluster})
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// dockerexec refused the listing for good: nothing can be adopted, but the
		// tasks the store knows must still run.
		s.log.Error().Err(err).Msg("listing the instance's containers failed; nothing is adopted")
		return nil
	}
	byTask := map[string][]bus.ContainerState{}
	var order []string
	for _, c := range list.Containers {
		if arn := c.Labels[bus.LabelContainerInstanceARN]; arn != "" && arn != s.reg.ContainerInstanceArn {
			continue // another instance's, sharing the engine
		}
		if c.TaskArn == "" || s.lookup(c.TaskArn) != nil {
			continue
		}
		if _, seen := byTask[c.TaskArn]; !seen {
			order = append(order, c.TaskArn)
		}
		byTask[c.TaskArn] = append(byTask[c.TaskArn], c)
	}
	for _, arn := range order {
		rec, ok := s.rebuild(arn, byTask[arn])
		if !ok {
			continue
		}
		log := s.log.With().Str(logger.FieldTaskARN, arn).Logger()
		if rec.KnownStatus != bus.StatusStopped {
			d, err := ledger.DemandOf(rec.Spec)
			if err != nil {
				log.Error().Err(err).Msg("adopted task has a spec the ledger cannot read; its resources are not reserved")
			} else {
				g, err := s.adm.adopt(ctx, arn, boundPorts(rec, d))
				switch {
				case errors.Is(err, ledger.ErrConflict):
					log.Error().Err(err).Msg("adopted task")
				case err != nil:
					return err // ctx ended
				}
				rec.HostPorts = g.PortStrings()
			}
		}
		if err := bus.Retry(ctx, func(ctx context.Context) error {
			return bus.PutJSON(ctx, s.tasks, bus.TaskKey(arn), rec)
		}); err != nil {
			return err
		}
		log.Info().Str("known", string(rec.KnownStatus)).Int("containers", len(byTask[arn])).
			Strs("host_ports", rec.HostPorts).Msg("adopted a task the store had lost, from its containers")
		s.startRunner(ctx, rec, false)
	}
	return nil
}

// rebuild makes the record of an adopted task from its containers' labels and states.
func (s *Scheduler) rebuild(arn string, states []bus.ContainerState) (*bus.TaskRecord, bool) {
	log := s.log.With().Str(logger.FieldTaskARN, arn).Logger()
	var spec bus.TaskSpec
	found := false
	for _, st := range states {
		raw := st.Labels[bus.LabelTaskSpec]
		if raw == "" {
			continue
		}
		if err := json.Unmarshal([]byte(raw), &spec); err != nil || spec.Arn != arn {
			log.Warn().Err(err).Str(logger.FieldDockerID, st.DockerID).Msg("unreadable task spec label")
			continue
		}
		found = true
		break
	}
	if !found {
		ids := make([]string, 0, len(states))
		for _, st := range states {
			ids = append(ids, st.DockerID)
		}
		log.Error().Strs("docker_ids", ids).Msg("containers of an unknown task carry no task spec; they are left alone")
		return nil, false
	}
	spec.DesiredStatus = bus.StatusRunning
	cluster := s.reg.Cluster
	if c := states[0].Labels[bus.LabelCluster]; c != "" {
		cluster = c
	}
	now := time.Now()
	rec := task.NewRecord(bus.DesiredTask{Cluster: cluster, Task: spec}, now)
	// Reports of the task made before the store was lost may still sit in the
	// outbox's duplicate window under <arn>/1, <arn>/2…: the rebuilt record numbers
	// its reports from a base no earlier record of the task can have reached.
	rec.ReportSeq = uint64(now.Unix()) * 1000
	// Oldest first, as in the real agent's records.
	slices.SortFunc(states, func(a, b bus.ContainerState) int { return a.CreatedAt.Compare(b.CreatedAt) })
	for _, st := range states {
		c := task.Container(rec, st.ContainerName)
		if c == nil {
			log.Warn().Str(logger.FieldContainer, st.ContainerName).Msg("container not in the task's spec; left alone")
			continue
		}
		if c.DockerID != "" {
			continue // a duplicate of an old crash: the oldest one is the task's
		}
		c.DockerID, c.DockerName, c.ImageID = st.DockerID, st.DockerName, st.ImageID
		c.EndpointID = st.Labels[bus.LabelEndpointID]
		// The image is there: the container was created from it.
		c.KnownStatus = bus.StatusPulled
		task.ApplyState(rec, st.ContainerName, st, now)
	}
	// Settle the task's own status from its containers (no Docker call is made).
	task.Step(rec, nil, now)
	if rec.KnownStatus == bus.StatusStopped {
		// What was reported before the store was lost is not known. A task found
		// stopped is reported STOPPED only: the control plane may have had its STOPPED
		// already, and a RUNNING after it would put the task's changes out of order.
		rec.SentStatus = bus.StatusRunning
		for i := range rec.Containers {
			if rec.Containers[i].StartedAt != nil {
				rec.Containers[i].SentStatus = bus.StatusRunning
			}
		}
	}
	return rec, true
}

// boundPorts sets the host ports of a demand from what Docker bound for the task's
// containers, in the demand's order (every non-range mapping of every container).
func boundPorts(rec *bus.TaskRecord, d ledger.Demand) ledger.Demand {
	i := 0
	for _, cs := range rec.Spec.Containers {
		cr := task.Container(rec, cs.Name)
		for _, pm := range cs.PortMappings {
			if pm.ContainerPortRange != "" {
				continue
			}
			if i >= len(d.Ports) {
				return d
			}
			if d.Ports[i].HostPort == 0 && cr != nil {
				for _, b := range cr.NetworkBindings {
					if b.ContainerPort == pm.ContainerPort && b.Protocol == d.Ports[i].Protocol {
						d.Ports[i].HostPort = b.HostPort
						break
					}
				}
			}
			i++
		}
	}
	return d
}
