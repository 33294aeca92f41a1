package state

import (
	"sort"

	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/controlplane/taskdef"
)

// Owed returns, oldest first, the ACS form of every task on the instance whose desired
// status the agent has not acknowledged yet. A task the agent has reported STOPPED is
// owed nothing, whatever was acknowledged: the agent already holds it stopped (perhaps
// because it could not load it, in which case it withheld the ack of the payload).
func (s *Store) Owed(instanceArn string) []acs.Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.instances[instanceArn]
	if inst == nil || inst.Status == StatusInactive {
		return nil
	}
	ts := s.placedLocked(instanceArn, func(t *Task) bool {
		return t.DesiredStatus != t.Delivered && t.LastStatus != StatusStopped
	})
	out := make([]acs.Task, 0, len(ts))
	for _, t := range ts {
		td := s.taskDefs[t.TaskDefinitionArn]
		if td == nil {
			continue // definitions are never deleted, only deregistered
		}
		arns := map[string]string{}
		for _, c := range t.Containers {
			arns[c.Name] = c.Arn
		}
		at := taskdef.ToACS(clone(td.Def), taskdef.Placement{
			TaskArn:       t.Arn,
			ClusterArn:    t.ClusterArn,
			Revision:      t.Revision,
			DesiredStatus: t.DesiredStatus,
			Overrides:     clone(t.Overrides),
			ContainerArns: arns,
			Region:        s.opts.Region,
			LaunchType:    launchTypeOf(t.LaunchType),
		})
		if t.DesiredStatus == StatusRunning {
			at.RoleCredentials, at.ExecutionRoleCredentials = credentialSlots(t)
		}
		out = append(out, at)
	}
	return out
}

// credentialSlots names the task's role credentials without keys: the delivery mints the
// keys and fills them in outside the store's lock, right before sending.
func credentialSlots(t *Task) (task, execution *acs.IAMRoleCredentials) {
	if t.TaskRoleArn != "" {
		task = &acs.IAMRoleCredentials{CredentialsID: t.TaskCredentialsID, RoleArn: t.TaskRoleArn}
	}
	if t.ExecutionRoleArn != "" {
		execution = &acs.IAMRoleCredentials{CredentialsID: t.ExecutionCredentialsID, RoleArn: t.ExecutionRoleArn}
	}
	return task, execution
}

// Role is one role of a task, as the credentials delivery needs it.
type Role struct {
	Type          string // acs.RoleTypeTaskApplication or acs.RoleTypeTaskExecution
	Arn           string
	CredentialsID string
}

// RoleTask is a task with at least one role.
type RoleTask struct {
	TaskArn    string
	ClusterArn string
	Roles      []Role
}

// Roles lists the task's roles, task role first.
func (t *Task) Roles() []Role {
	var out []Role
	if t.TaskRoleArn != "" {
		out = append(out, Role{Type: acs.RoleTypeTaskApplication, Arn: t.TaskRoleArn, CredentialsID: t.TaskCredentialsID})
	}
	if t.ExecutionRoleArn != "" {
		out = append(out, Role{Type: acs.RoleTypeTaskExecution, Arn: t.ExecutionRoleArn, CredentialsID: t.ExecutionCredentialsID})
	}
	return out
}

// RoleTasks lists, oldest first, the tasks on the instance that hold role credentials
// the agent may use: tasks with a role that the agent has acknowledged (so it knows
// them) and has not reported STOPPED. A task not yet acknowledged gets its credentials
// in its payload instead.
func (s *Store) RoleTasks(instanceArn string) []RoleTask {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.placedLocked(instanceArn, func(t *Task) bool {
		return t.Delivered != "" && t.LastStatus != StatusStopped && (t.TaskRoleArn != "" || t.ExecutionRoleArn != "")
	})
	out := make([]RoleTask, 0, len(ts))
	for _, t := range ts {
		out = append(out, RoleTask{TaskArn: t.Arn, ClusterArn: t.ClusterArn, Roles: t.Roles()})
	}
	return out
}

// TaskRoles returns the roles of a task by ARN and whether the task exists.
func (s *Store) TaskRoles(taskArn string) ([]Role, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tasks[taskArn]
	if t == nil {
		return nil, false
	}
	return t.Roles(), true
}

// placedLocked returns the tasks placed on the instance that keep says to keep, oldest
// first.
func (s *Store) placedLocked(instanceArn string, keep func(*Task) bool) []*Task {
	var ts []*Task
	for _, t := range s.tasks {
		if t.InstanceArn == instanceArn && keep(t) {
			ts = append(ts, t)
		}
	}
	sort.Slice(ts, func(i, j int) bool {
		if !ts[i].CreatedAt.Equal(ts[j].CreatedAt) {
			return ts[i].CreatedAt.Before(ts[j].CreatedAt)
		}
		return ts[i].Arn < ts[j].Arn
	})
	return ts
}

// Manifest lists every task placed on the instance that is not known STOPPED, with the
// desired status the agent should hold it at, and takes the instance's next sequence
// number as the manifest's timeline. Payload seqNums and manifest timelines come from the
// one counter, so each manifest's timeline exceeds everything sent before it, which the
// agent requires (a manifest whose timeline does not is dropped without an ack).
func (s *Store) Manifest(instanceArn string) ([]acs.TaskIdentifier, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.instances[instanceArn]
	if inst == nil {
		return nil, 0, nil
	}
	ts := s.placedLocked(instanceArn, func(t *Task) bool { return t.LastStatus != StatusStopped })
	out := make([]acs.TaskIdentifier, 0, len(ts))
	for _, t := range ts {
		out = append(out, acs.TaskIdentifier{TaskArn: t.Arn, TaskClusterArn: t.ClusterArn, DesiredStatus: t.DesiredStatus})
	}
	inst.SeqNum++
	return out, inst.SeqNum, s.saveLocked()
}

// StopVerdicts answers an agent's stop verification: of the candidates, those the
// control plane does not want running on the instance — a task it does not know, one
// placed on another instance, or one whose desired status is STOPPED. A candidate wanted
// RUNNING on this instance is left out, so the agent keeps it.
func (s *Store) StopVerdicts(instanceArn string, candidates []acs.TaskIdentifier) []acs.TaskIdentifier {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []acs.TaskIdentifier{}
	for _, c := range candidates {
		t := s.tasks[c.TaskArn]
		if t != nil && t.InstanceArn == instanceArn && t.DesiredStatus != StatusStopped {
			continue
		}
		cluster := c.TaskClusterArn
		if t != nil {
			cluster = t.ClusterArn
		}
		out = append(out, acs.TaskIdentifier{TaskArn: c.TaskArn, TaskClusterArn: cluster, DesiredStatus: StatusStopped})
	}
	return out
}

// MarkSent records that these tasks went out in a payload and returns the instance's
// next sequence number (shared with manifests, see Manifest).
func (s *Store) MarkSent(instanceArn string, tasks []acs.Task) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, at := range tasks {
		if t := s.tasks[at.Arn]; t != nil {
			t.EverSent = true
		}
	}
	var seq int64
	if inst := s.instances[instanceArn]; inst != nil {
		inst.SeqNum++
		seq = inst.SeqNum
	}
	return seq, s.saveLocked()
}

// MarkDelivered records the agent's acknowledgement of a payload.
func (s *Store) MarkDelivered(tasks []acs.Task) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, at := range tasks {
		t := s.tasks[at.Arn]
		if t != nil && statusRank(at.DesiredStatus) > statusRank(t.Delivered) {
			t.Delivered = at.DesiredStatus
		}
	}
	return s.saveLocked()
}
