package task

import "github.com/ecs-agent/ecs-agent/bus"

// NextReport returns the report the control plane has not had yet, if any: the task
// status when it rose past the sent status (RUNNING, STOPPED), carrying every
// container change not yet sent (a container at RUNNING or STOPPED). Container
// changes of a task that stays RUNNING ride on a RUNNING report; those of a task
// still PENDING, or already meant to stop, wait for the task's own RUNNING or
// STOPPED. A container with a step
// in flight (busy) holds the report back until the step's outcome is known, so that
// a RUNNING report carries the ports the start reply brings.
//
// Seq is left 0: the caller numbers the report when it publishes it.
func NextReport(rec *bus.TaskRecord, busy map[string]bool) (bus.TaskStateChange, bool) {
	if rep, ok := missedRunning(rec, busy); ok {
		return rep, true
	}
	var changes []bus.ContainerStateChange
	for _, c := range rec.Containers {
		if !reportable(c.KnownStatus) || !c.SentStatus.Before(c.KnownStatus) {
			continue
		}
		if busy[c.Name] {
			return bus.TaskStateChange{}, false
		}
		ch := bus.ContainerStateChange{
			ContainerName:   c.Name,
			RuntimeID:       c.DockerID,
			Status:          c.KnownStatus.Backend(),
			ImageDigest:     c.ImageDigest,
			NetworkBindings: c.NetworkBindings,
		}
		if c.KnownStatus == bus.StatusStopped {
			ch.ExitCode = c.ExitCode
			ch.Reason = c.Reason
		}
		changes = append(changes, ch)
	}
	status := bus.Status("")
	switch {
	case reportable(rec.KnownStatus) && rec.SentStatus.Before(rec.KnownStatus):
		status = rec.KnownStatus
	case len(changes) > 0 && rec.KnownStatus == bus.StatusRunning && rec.SentStatus == bus.StatusRunning &&
		rec.DesiredStatus != bus.StatusStopped:
		// A task on its way down sends its containers' stops with its own STOPPED.
		status = bus.StatusRunning
	default:
		return bus.TaskStateChange{}, false
	}
	rep := bus.TaskStateChange{
		Type:          bus.TypeTaskStateChange,
		Cluster:       rec.Cluster,
		TaskArn:       rec.Spec.Arn,
		Status:        status.Backend(),
		Containers:    changes,
		PullStartedAt: rec.PullStartedAt,
		PullStoppedAt: rec.PullStoppedAt,
	}
	if status == bus.StatusStopped {
		// Reasons travel whole; the reporter cuts them to the API's limits.
		rep.Reason = rec.Reason
		rep.ExecutionStoppedAt = rec.ExecutionStoppedAt
		if rep.ExecutionStoppedAt == nil {
			rep.ExecutionStoppedAt = rec.StoppedAt
		}
	}
	return rep, true
}

// missedRunning is the RUNNING report of a task that stopped before it was reported
// running, though some of its containers ran: a scheduler restarted while a short
// container ran finds it exited, and an agent that lost its store adopts a task that
// ran meanwhile. The control plane hears every transition, in order: RUNNING (with
// the containers that ran), then STOPPED.
func missedRunning(rec *bus.TaskRecord, busy map[string]bool) (bus.TaskStateChange, bool) {
	if rec.KnownStatus != bus.StatusStopped || !rec.SentStatus.Before(bus.StatusRunning) {
		return bus.TaskStateChange{}, false
	}
	var ran []bus.ContainerStateChange
	for _, c := range rec.Containers {
		if c.StartedAt == nil || !c.SentStatus.Before(bus.StatusRunning) {
			continue
		}
		if busy[c.Name] {
			return bus.TaskStateChange{}, false
		}
		ran = append(ran, bus.ContainerStateChange{
			ContainerName: c.Name, RuntimeID: c.DockerID, Status: string(bus.StatusRunning),
			ImageDigest: c.ImageDigest, NetworkBindings: c.NetworkBindings,
		})
	}
	if len(ran) == 0 {
		return bus.TaskStateChange{}, false
	}
	return bus.TaskStateChange{
		Type: bus.TypeTaskStateChange, Cluster: rec.Cluster, TaskArn: rec.Spec.Arn,
		Status: string(bus.StatusRunning), Containers: ran,
		PullStartedAt: rec.PullStartedAt, PullStoppedAt: rec.PullStoppedAt,
	}, true
}

func reportable(s bus.Status) bool { return s == bus.StatusRunning || s == bus.StatusStopped }

// MarkSent raises the sent statuses to what rep carried and remembers its Seq.
func MarkSent(rec *bus.TaskRecord, rep bus.TaskStateChange) {
	if s := bus.Status(rep.Status); reportable(s) && rec.SentStatus.Before(s) {
		rec.SentStatus = s
	}
	for _, ch := range rep.Containers {
		if c := Container(rec, ch.ContainerName); c != nil {
			if s := bus.Status(ch.Status); c.SentStatus.Before(s) {
				c.SentStatus = s
			}
		}
	}
	if rep.Seq > rec.ReportSeq {
		rec.ReportSeq = rep.Seq
	}
}
