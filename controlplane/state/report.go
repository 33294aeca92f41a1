package state

import (
	"time"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
)

// ContainerReport is one container's change in an agent report.
type ContainerReport struct {
	Name            string
	RuntimeID       string
	ImageDigest     string
	Status          string
	ExitCode        *int64
	Reason          string
	NetworkBindings []NetworkBinding
}

// TaskReport is a SubmitTaskStateChange (or, with no Status, the task part of a
// SubmitContainerStateChange).
type TaskReport struct {
	// Operation names the call for the record of received reports: OpSubmitTaskStateChange
	// (the default) or OpSubmitContainerStateChange.
	Operation          string
	Cluster            string
	Task               string
	Status             string // "", PENDING, RUNNING or STOPPED
	Reason             string
	Containers         []ContainerReport
	PullStartedAt      *time.Time
	PullStoppedAt      *time.Time
	ExecutionStoppedAt *time.Time
}

// ReportTaskState applies an agent report and returns the task as it now stands.
// Reports are idempotent and statuses only move forward, so a resent or reordered report
// changes nothing it should not. What the agent reports it already knows, so a stop that
// originates in a report is recorded as delivered: no stop payload is owed for it.
func (s *Store) ReportTaskState(r TaskReport) (Task, error) {
	switch r.Status {
	case "", StatusPending, StatusRunning, StatusStopped:
	default:
		return Task{}, awserr.InvalidParameter("Invalid status %q: must be one of PENDING, RUNNING, STOPPED.", r.Status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.activeClusterLocked(r.Cluster, awserr.ClusterNotFoundClient())
	if err != nil {
		return Task{}, err
	}
	t := s.taskLocked(c, r.Task)
	if t == nil {
		return Task{}, awserr.InvalidParameter("The referenced task was not found.")
	}
	for _, cr := range r.Containers {
		if containerOf(t, cr.Name) == nil {
			return Task{}, awserr.InvalidParameter("The referenced container %q is not part of task %s.", cr.Name, t.Arn)
		}
	}
	s.recordLocked(t.Arn, r)
	now := s.now()
	changed := false
	essentialStopped := false
	for _, cr := range r.Containers {
		ct := containerOf(t, cr.Name)
		changed = applyContainer(ct, cr) || changed
		if ct.Essential && ct.LastStatus == StatusStopped {
			essentialStopped = true
		}
	}
	setOnce(&t.PullStartedAt, r.PullStartedAt, &changed)
	setOnce(&t.PullStoppedAt, r.PullStoppedAt, &changed)
	setOnce(&t.ExecutionStoppedAt, r.ExecutionStoppedAt, &changed)

	if essentialStopped && t.DesiredStatus != StatusStopped {
		// The agent stops the rest of the task by itself; record why, as ECS does.
		t.DesiredStatus = StatusStopped
		t.Delivered = StatusStopped
		t.StopCode = "EssentialContainerExited"
		if t.StoppedReason == "" && r.Status == StatusStopped {
			t.StoppedReason = r.Reason // the agent's own reason is the more precise one
		}
		if t.StoppedReason == "" {
			t.StoppedReason = ReasonEssentialExited
		}
		if t.StoppingAt == nil {
			t.StoppingAt = &now
		}
		changed = true
	}
	if r.Status != "" && statusRank(r.Status) > statusRank(t.LastStatus) {
		changed = true
		switch r.Status {
		case StatusRunning:
			if t.StartedAt == nil {
				t.StartedAt = &now
			}
			if t.ConnectivityAt == nil {
				t.ConnectivityAt = &now
			}
			t.LastStatus = StatusRunning
		case StatusStopped:
			if t.StoppedReason == "" {
				t.StoppedReason = r.Reason
			}
			if t.StoppedReason == "" && anyEssentialStopped(t) {
				t.StoppedReason = ReasonEssentialExited
				t.StopCode = "EssentialContainerExited"
			}
			if t.StopCode == "" {
				t.StopCode = "TaskFailedToStart"
				if t.StartedAt != nil {
					t.StopCode = "EssentialContainerExited"
				}
			}
			s.markStoppedLocked(t, now)
			t.Delivered = StatusStopped
		default:
			t.LastStatus = r.Status
		}
	}
	if !changed {
		return clone(*t), nil
	}
	t.Version++
	return clone(*t), s.saveLocked()
}

func containerOf(t *Task, name string) *Container {
	for i := range t.Containers {
		if t.Containers[i].Name == name {
			return &t.Containers[i]
		}
	}
	return nil
}

func anyEssentialStopped(t *Task) bool {
	for _, c := range t.Containers {
		if c.Essential && c.LastStatus == StatusStopped {
			return true
		}
	}
	return false
}

func applyContainer(ct *Container, cr ContainerReport) bool {
	changed := false
	set := func(dst *string, v string) {
		if v != "" && *dst != v {
			*dst = v
			changed = true
		}
	}
	if cr.Status != "" && statusRank(cr.Status) > statusRank(ct.LastStatus) {
		ct.LastStatus = cr.Status
		changed = true
	}
	set(&ct.RuntimeID, cr.RuntimeID)
	set(&ct.ImageDigest, cr.ImageDigest)
	set(&ct.Reason, cr.Reason)
	if cr.ExitCode != nil && (ct.ExitCode == nil || *ct.ExitCode != *cr.ExitCode) {
		v := *cr.ExitCode
		ct.ExitCode = &v
		changed = true
	}
	if len(cr.NetworkBindings) > 0 {
		ct.NetworkBindings = cr.NetworkBindings
		changed = true
	}
	return changed
}

func setOnce(dst **time.Time, v *time.Time, changed *bool) {
	if v != nil && *dst == nil {
		t := v.UTC()
		*dst = &t
		*changed = true
	}
}
