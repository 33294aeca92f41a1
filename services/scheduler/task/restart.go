package task

import (
	"slices"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
)

// restartInstead decides whether an exit of a container is answered by starting it
// again in place (its restart policy), as the real agent's restart tracker does: the
// policy must be enabled, the container and its task not meant to stop, the exit
// code known and not ignored, and the container must have run for at least
// restartAttemptPeriod seconds since its last start or restart. exited is when it
// exited. When it says yes it has booked the restart: the container stays RUNNING
// with RestartPending set, and Step asks for a start.
func restartInstead(rec *bus.TaskRecord, c *bus.ContainerRecord, exitCode *int, exited time.Time) bool {
	spec := Spec(rec, c.Name)
	if spec == nil || spec.RestartPolicy == nil || !spec.RestartPolicy.Enabled {
		return false
	}
	p := spec.RestartPolicy
	if c.KnownStatus != bus.StatusRunning || c.RestartPending || exitCode == nil ||
		c.DesiredStatus == bus.StatusStopped || rec.DesiredStatus == bus.StatusStopped {
		return false
	}
	if slices.Contains(p.IgnoredExitCodes, *exitCode) {
		return false
	}
	since := c.StartedAt
	if c.LastRestartAt != nil {
		since = c.LastRestartAt
	}
	if since == nil || exited.Sub(*since) < time.Duration(p.RestartAttemptPeriod)*time.Second {
		return false
	}
	c.RestartPending = true
	c.RestartCount++
	t := exited
	c.LastRestartAt = &t
	endStage(c, StageRun, exited)
	return true
}
