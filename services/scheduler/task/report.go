package task

import "github.com/ecs-agent/ecs-agent/bus"

// NextReport returns the report the control plane has not had yet, if any: the task
// status when it rose past the sent status (PENDING for MANIFEST_PULLED once some
// image digest is known, RUNNING, STOPPED), carrying every container change not yet
// sent (a container whose digest is known as PENDING with it, at RUNNING or
// STOPPED). Container changes of a task that stays RUNNING are batched, as the real
// agent batches them (PROTOCOL.md §4.6): they ride on the task's next report, or on
// a RUNNING report when flush is set (the batching ticker fired); those of a task
// still PENDING, or already meant to stop, wait for the task's own RUNNING or
// STOPPED. A container with a step in flight (busy) holds the report back until the
// step's outcome is known, so that a RUNNING report carries the ports the start
// reply brings.
//
// Seq is left 0: the caller numbers the report when it publishes it.
func NextReport(rec *bus.TaskRecord, busy map[string]bool, flush bool) (bus.TaskStateChange, bool) {
	if rep, ok := missedRunning(rec, busy); ok {
		return rep, true
	}
	var changes []bus.ContainerStateChange
	for _, c := range rec.Containers {
		s := containerReportable(c)
		if s == "" || !c.SentStatus.Before(s) {
			continue
		}
		if busy[c.Name] {
			return bus.TaskStateChange{}, false
		}
		ch := bus.ContainerStateChange{
			ContainerName:   c.Name,
			RuntimeID:       c.DockerID,
			Status:          s.Backend(),
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
	case taskReportable(rec) && rec.SentStatus.Before(rec.KnownStatus):
		status = rec.KnownStatus
	case flush && Batched(rec, busy):
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

// taskReportable reports whether the task's known status is one the control plane
// hears of: RUNNING, STOPPED, and MANIFEST_PULLED (as PENDING) once some container's
// image digest is known.
func taskReportable(rec *bus.TaskRecord) bool {
	if reportable(rec.KnownStatus) {
		return true
	}
	if rec.KnownStatus != bus.StatusManifestPulled {
		return false
	}
	for _, c := range rec.Containers {
		if c.ImageDigest != "" {
			return true
		}
	}
	return false
}

// containerReportable is the status a container is reported at, or "" if none:
// RUNNING, STOPPED, and MANIFEST_PULLED (as PENDING, with the digest) for a
// container past its pull whose image digest is known.
func containerReportable(c bus.ContainerRecord) bus.Status {
	switch {
	case reportable(c.KnownStatus):
		return c.KnownStatus
	case c.ImageDigest != "" && !c.KnownStatus.Before(bus.StatusManifestPulled):
		return bus.StatusManifestPulled
	}
	return ""
}

// Batched reports whether the task has container changes waiting for the batching
// ticker: the task is RUNNING, reported RUNNING, not on its way down, and some
// container's change is not sent yet.
func Batched(rec *bus.TaskRecord, busy map[string]bool) bool {
	if rec.KnownStatus != bus.StatusRunning || rec.SentStatus != bus.StatusRunning || rec.DesiredStatus == bus.StatusStopped {
		return false
	}
	for _, c := range rec.Containers {
		if s := containerReportable(c); s != "" && c.SentStatus.Before(s) && !busy[c.Name] {
			return true
		}
	}
	return false
}

// sentStatus is the engine status a reported backend status stands for.
func sentStatus(backend string) bus.Status {
	if backend == "PENDING" {
		return bus.StatusManifestPulled
	}
	return bus.Status(backend)
}

// MarkSent raises the sent statuses to what rep carried and remembers its Seq.
func MarkSent(rec *bus.TaskRecord, rep bus.TaskStateChange) {
	if s := sentStatus(rep.Status); s.Valid() && rec.SentStatus.Before(s) {
		rec.SentStatus = s
	}
	for _, ch := range rep.Containers {
		if c := Container(rec, ch.ContainerName); c != nil {
			if s := sentStatus(ch.Status); c.SentStatus.Before(s) {
				c.SentStatus = s
			}
		}
	}
	if rep.Seq > rec.ReportSeq {
		rec.ReportSeq = rep.Seq
	}
}
