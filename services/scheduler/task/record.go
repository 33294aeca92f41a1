package task

import (
	"strings"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
)

// NewRecord builds the record of a task the scheduler has not seen before. Every
// container starts at NONE with the task's desired status.
func NewRecord(d bus.DesiredTask, now time.Time) *bus.TaskRecord {
	desired := taskDesired(d.Task.DesiredStatus)
	rec := &bus.TaskRecord{
		Type:          bus.TypeTaskRecord,
		Cluster:       d.Cluster,
		Spec:          d.Task,
		DesiredStatus: desired,
		KnownStatus:   bus.StatusNone,
		CreatedAt:     now,
		Containers:    make([]bus.ContainerRecord, 0, len(d.Task.Containers)),
	}
	for _, c := range d.Task.Containers {
		rec.Containers = append(rec.Containers, bus.ContainerRecord{
			Name:          c.Name,
			Image:         c.Image,
			Essential:     c.Essential,
			DesiredStatus: desired,
			KnownStatus:   bus.StatusNone,
		})
	}
	return rec
}

// taskDesired maps the control plane's desired status to the two the engine knows:
// anything but STOPPED means RUNNING.
func taskDesired(s bus.Status) bus.Status {
	if s == bus.StatusStopped {
		return bus.StatusStopped
	}
	return bus.StatusRunning
}

// SetDesired raises the task's desired status. It reports whether anything changed;
// a status that would lower the desired status is ignored, since ACS may redeliver an
// old payload after a newer one.
func SetDesired(rec *bus.TaskRecord, s bus.Status) bool {
	s = taskDesired(s)
	if !rec.DesiredStatus.Before(s) {
		return false
	}
	rec.DesiredStatus = s
	if s == bus.StatusStopped && rec.StopCause == "" {
		rec.StopCause = "the control plane asked for the task to stop"
	}
	return true
}

// StopReason is why a task stopped, for the log: the reason sent to the control
// plane, else the cause of the stop.
func StopReason(rec *bus.TaskRecord) string {
	if rec.Reason != "" {
		return rec.Reason
	}
	return rec.StopCause
}

// Fail stops the task with a reason for the control plane: containers that never
// ran are marked STOPPED at the next Step and the others are stopped.
func Fail(rec *bus.TaskRecord, reason string) {
	if rec.Reason == "" {
		rec.Reason = reason
	}
	if rec.StopCause == "" {
		rec.StopCause = reason
	}
	rec.DesiredStatus = bus.StatusStopped
}

// Container returns the record of the named container, or nil.
func Container(rec *bus.TaskRecord, name string) *bus.ContainerRecord {
	for i := range rec.Containers {
		if rec.Containers[i].Name == name {
			return &rec.Containers[i]
		}
	}
	return nil
}

// Spec returns the spec of the named container, or nil.
func Spec(rec *bus.TaskRecord, name string) *bus.ContainerSpec {
	for i := range rec.Spec.Containers {
		if rec.Spec.Containers[i].Name == name {
			return &rec.Spec.Containers[i]
		}
	}
	return nil
}

// DockerName is the Docker name of a task's container or volume, as the real agent
// names them: ecs-<family>-<version>-<name>-<hex>, with every character of name that
// is not a letter, a digit or a hyphen dropped.
func DockerName(family, version, name, hex string) string {
	var b strings.Builder
	for _, r := range name {
		if r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return "ecs-" + family + "-" + version + "-" + b.String() + "-" + hex
}

// ResourcesFailed records that the task's resources (its volumes, its cgroup) could
// not be provisioned: the task stops with ResourceInitializationError, as the real
// agent reports a task whose resources cannot be initialized.
func ResourcesFailed(rec *bus.TaskRecord, err error) {
	Fail(rec, bus.CodeResourceInit.Name()+": "+strings.TrimPrefix(describe(err), bus.CodeResourceInit.Name()+": "))
}
