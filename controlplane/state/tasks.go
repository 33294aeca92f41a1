package state

import (
	"slices"
	"sort"
	"time"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
	"github.com/ecs-agent/ecs-agent/controlplane/placement"
	"github.com/ecs-agent/ecs-agent/controlplane/taskdef"
)

// Limits of the ECS API.
const (
	MaxRunCount      = 10
	MaxStartedBy     = 128
	MaxDescribeTasks = 100
)

// RunInput is a RunTask or StartTask request.
type RunInput struct {
	Cluster        string
	TaskDefinition string
	Count          int      // RunTask only; 0 means 1
	Instances      []string // StartTask only: one task per named instance
	StartedBy      string
	Group          string
	Overrides      taskdef.Overrides
	Tags           []Tag
	// PropagateTags is "TASK_DEFINITION" to copy the task definition's tags to the tasks
	// (Tags given win on the same key); "", "NONE" or "SERVICE" (no services here) copy none.
	PropagateTags string
	// Constraints are the request's placement constraints (RunTask only: the model gives
	// StartTask none); the task definition's apply as well.
	Constraints []taskdef.PlacementConstraint
	// LaunchType is EC2 (the default) or EXTERNAL, kept on the task and sent to the
	// agent. Placement does not tell EC2 from external instances (ECS does: an EC2
	// task never goes to an external instance), so that agents in external mode run
	// what run-task gives them without --launch-type, as the conformance script and
	// the real agent's tests here do.
	LaunchType string
}

// Launch types.
const (
	LaunchTypeEC2      = "EC2"
	LaunchTypeExternal = "EXTERNAL"
)

func launchTypeOf(lt string) string {
	if lt == "" {
		return LaunchTypeEC2
	}
	return lt
}

// RunTask places Count tasks on ACTIVE instances of the cluster that satisfy the placement
// constraints. Tasks that fit nowhere become failures, not an error, and so does a cluster
// with no instance.
func (s *Store) RunTask(in RunInput) ([]Task, []Failure, error) {
	count := in.Count
	if count == 0 {
		count = 1
	}
	if count < 1 || count > MaxRunCount {
		return nil, nil, awserr.InvalidParameter("Count must be between 1 and %d.", MaxRunCount)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, td, rules, err := s.runPrologueLocked(&in)
	if err != nil {
		return nil, nil, err
	}
	req := taskdef.RequirementsOf(td.Def, in.Overrides)
	var cands []placement.Candidate
	for _, inst := range sortedValues(s.instances) {
		if inst.ClusterArn == c.Arn && inst.Status == StatusActive {
			cands = append(cands, s.candidateLocked(inst))
		}
	}
	var tasks []Task
	var failures []Failure
	if len(cands) == 0 {
		return nil, []Failure{{Reason: "No Container Instances were found in your cluster."}}, nil
	}
	seen := map[Failure]bool{}
	for n := 0; n < count; n++ {
		i, fails := placement.Choose(req, rules, cands)
		if i < 0 {
			for _, f := range fails {
				ff := Failure{Arn: f.Arn, Reason: f.Reason}
				if !seen[ff] {
					seen[ff] = true
					failures = append(failures, ff)
				}
			}
			continue
		}
		placement.Take(&cands[i], req)
		cands[i].Placed++
		tasks = append(tasks, s.newTaskLocked(c, td, cands[i].Arn, in, req))
	}
	if len(tasks) == 0 {
		return nil, failures, nil
	}
	return tasks, failures, s.saveLocked()
}

// StartTask places one task on each named instance; an instance the task definition's
// memberOf constraints exclude becomes a MemberOf failure.
func (s *Store) StartTask(in RunInput) ([]Task, []Failure, error) {
	if len(in.Instances) < 1 || len(in.Instances) > MaxRunCount {
		return nil, nil, awserr.InvalidParameter("containerInstances must name between 1 and %d instances.", MaxRunCount)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in.Constraints = nil
	c, td, rules, err := s.runPrologueLocked(&in)
	if err != nil {
		return nil, nil, err
	}
	req := taskdef.RequirementsOf(td.Def, in.Overrides)
	var tasks []Task
	var failures []Failure
	for _, ref := range in.Instances {
		inst := s.instanceLocked(c, ref)
		switch {
		case inst == nil:
			failures = append(failures, Failure{Arn: ref, Reason: "MISSING"})
			continue
		case inst.Status == StatusInactive:
			failures = append(failures, Failure{Arn: inst.Arn, Reason: "INACTIVE"})
			continue
		}
		cand := s.candidateLocked(inst)
		reason := rules.Admits(cand)
		if reason == "" {
			reason = placement.Fits(req, cand)
		}
		if reason != "" {
			failures = append(failures, Failure{Arn: inst.Arn, Reason: reason})
			continue
		}
		tasks = append(tasks, s.newTaskLocked(c, td, inst.Arn, in, req))
	}
	if len(tasks) == 0 {
		return nil, failures, nil
	}
	return tasks, failures, s.saveLocked()
}

// runPrologueLocked checks a RunTask/StartTask request and resolves its cluster, task
// definition and placement rules; it replaces in.Tags with the tags the new tasks get.
func (s *Store) runPrologueLocked(in *RunInput) (*Cluster, *TaskDefinition, placement.Rules, error) {
	c, td, err := s.resolveRunLocked(in)
	if err != nil {
		return nil, nil, placement.Rules{}, err
	}
	rules, err := placement.Compile(td.Def.PlacementConstraints, in.Constraints)
	if err != nil {
		return nil, nil, placement.Rules{}, awserr.InvalidParameter("%v", err)
	}
	return c, td, rules, nil
}

// resolveRunLocked is the part of runPrologueLocked before the constraints.
func (s *Store) resolveRunLocked(in *RunInput) (*Cluster, *TaskDefinition, error) {
	if len(in.StartedBy) > MaxStartedBy {
		return nil, nil, awserr.InvalidParameter("startedBy must be at most %d characters.", MaxStartedBy)
	}
	switch in.PropagateTags {
	case "", "NONE", "SERVICE", "TASK_DEFINITION":
	default:
		return nil, nil, awserr.InvalidParameter("Invalid propagateTags %q.", in.PropagateTags)
	}
	if err := ValidateTags(in.Tags); err != nil {
		return nil, nil, err
	}
	c, err := s.activeClusterLocked(in.Cluster, awserr.ClusterNotFound())
	if err != nil {
		return nil, nil, err
	}
	if in.TaskDefinition == "" {
		return nil, nil, awserr.InvalidParameter("taskDefinition can not be blank.")
	}
	td := s.taskDefLocked(in.TaskDefinition)
	if td == nil {
		return nil, nil, awserr.InvalidParameter("TaskDefinition not found.")
	}
	if td.Status != StatusActive {
		return nil, nil, awserr.InvalidParameter("TaskDefinition is inactive")
	}
	if err := taskdef.ValidateOverrides(td.Def, in.Overrides); err != nil {
		return nil, nil, err
	}
	if in.PropagateTags == "TASK_DEFINITION" {
		tags, err := mergeTags(td.Tags, in.Tags)
		if err != nil {
			return nil, nil, err
		}
		in.Tags = tags
	}
	return c, td, nil
}

func (s *Store) newTaskLocked(c *Cluster, td *TaskDefinition, instanceArn string, in RunInput, req taskdef.Requirements) Task {
	id := newID()
	group := in.Group
	if group == "" {
		group = "family:" + td.Family
	}
	t := &Task{
		Arn:               s.arn("task/" + c.Name + "/" + id),
		ClusterArn:        c.Arn,
		InstanceArn:       instanceArn,
		TaskDefinitionArn: td.Arn,
		Family:            td.Family,
		Revision:          td.Revision,
		LastStatus:        StatusPending,
		DesiredStatus:     StatusRunning,
		StartedBy:         in.StartedBy,
		Group:             group,
		LaunchType:        launchTypeOf(in.LaunchType),
		Overrides:         in.Overrides,
		Tags:              slices.Clone(in.Tags),
		Holds:             req,
		Held:              true,
		Version:           1,
		CreatedAt:         s.now(),
	}
	t.TaskRoleArn, t.ExecutionRoleArn = td.Def.Roles(in.Overrides)
	if t.TaskRoleArn != "" {
		t.TaskCredentialsID = newUUID()
	}
	if t.ExecutionRoleArn != "" {
		t.ExecutionCredentialsID = newUUID()
	}
	for _, cd := range td.Def.ContainerDefinitions {
		ct := Container{
			Name:           cd.Name,
			Arn:            s.arn("container/" + c.Name + "/" + id + "/" + newID()),
			Image:          cd.Image,
			LastStatus:     StatusPending,
			Essential:      cd.IsEssential(),
			CPU:            cd.CPU,
			Memory:         cd.Memory,
			MemoryReserve:  cd.MemoryReservation,
			HasHealthCheck: cd.HealthCheck != nil,
		}
		t.Containers = append(t.Containers, ct)
	}
	s.tasks[t.Arn] = t
	return clone(*t)
}

// taskLocked resolves a task reference (ARN or ID) within cluster c.
func (s *Store) taskLocked(c *Cluster, ref string) *Task {
	if t := s.tasks[ref]; t != nil && t.ClusterArn == c.Arn {
		return t
	}
	return s.tasks[s.arn("task/"+c.Name+"/"+lastPart(ref))]
}

// StopTask asks for a task to stop. A task never sent to its agent stops at once;
// otherwise a stop payload is owed and the task stops when the agent reports it.
func (s *Store) StopTask(cluster, ref, reason string) (Task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.activeClusterLocked(cluster, awserr.ClusterNotFound())
	if err != nil {
		return Task{}, err
	}
	t := s.taskLocked(c, ref)
	if t == nil {
		return Task{}, awserr.InvalidParameter("The referenced task was not found.")
	}
	if t.DesiredStatus == StatusStopped {
		return clone(*t), nil
	}
	now := s.now()
	t.DesiredStatus = StatusStopped
	t.StopRequested = true
	t.StopCode = "UserInitiated"
	if reason == "" {
		reason = ReasonUserStopped
	}
	if t.StoppedReason == "" {
		t.StoppedReason = reason
	}
	t.StoppingAt = &now
	if !t.EverSent {
		s.markStoppedLocked(t, now)
		t.Delivered = StatusStopped
	}
	t.Version++
	return clone(*t), s.saveLocked()
}

func (s *Store) markStoppedLocked(t *Task, now time.Time) {
	t.LastStatus = StatusStopped
	t.DesiredStatus = StatusStopped
	t.Held = false
	if t.StoppedAt == nil {
		t.StoppedAt = &now
	}
	if t.StoppingAt == nil {
		t.StoppingAt = &now
	}
	for i := range t.Containers {
		t.Containers[i].LastStatus = StatusStopped
	}
}

// DescribeTasks describes tasks by ARN or ID; unknown ones become MISSING failures.
func (s *Store) DescribeTasks(cluster string, refs []string) ([]Task, []Failure, error) {
	if len(refs) > MaxDescribeTasks {
		return nil, nil, awserr.InvalidParameter("Tasks cannot be longer than %d.", MaxDescribeTasks)
	}
	if len(refs) == 0 {
		return nil, nil, awserr.InvalidParameter("Tasks cannot be empty.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.activeClusterLocked(cluster, awserr.ClusterNotFound())
	if err != nil {
		return nil, nil, err
	}
	var out []Task
	var failures []Failure
	for _, ref := range refs {
		t := s.taskLocked(c, ref)
		if t == nil {
			failures = append(failures, Failure{Arn: ref, Reason: "MISSING"})
			continue
		}
		out = append(out, clone(*t))
	}
	return out, failures, nil
}

// TaskFilter selects tasks for ListTasks.
type TaskFilter struct {
	Cluster       string
	Instance      string
	Family        string
	StartedBy     string
	DesiredStatus string // RUNNING (default), PENDING or STOPPED
}

// ListTasks returns matching task ARNs, oldest first.
func (s *Store) ListTasks(f TaskFilter) ([]string, error) {
	desired := f.DesiredStatus
	switch desired {
	case "":
		desired = StatusRunning
	case StatusRunning, StatusPending, StatusStopped:
	default:
		return nil, awserr.InvalidParameter("desiredStatus must be one of RUNNING, PENDING, STOPPED.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.activeClusterLocked(f.Cluster, awserr.ClusterNotFound())
	if err != nil {
		return nil, err
	}
	instanceArn := ""
	if f.Instance != "" {
		inst := s.instanceLocked(c, f.Instance)
		if inst == nil {
			return nil, awserr.InvalidParameter("The referenced container instance %s was not found.", f.Instance)
		}
		instanceArn = inst.Arn
	}
	var ts []*Task
	for _, t := range s.tasks {
		switch {
		case t.ClusterArn != c.Arn,
			instanceArn != "" && t.InstanceArn != instanceArn,
			f.Family != "" && t.Family != f.Family,
			f.StartedBy != "" && t.StartedBy != f.StartedBy:
			continue
		}
		match := t.DesiredStatus == desired
		if desired == StatusPending {
			match = t.DesiredStatus == StatusRunning && t.LastStatus != StatusRunning && t.LastStatus != StatusStopped
		}
		if match {
			ts = append(ts, t)
		}
	}
	sort.Slice(ts, func(i, j int) bool {
		if !ts[i].CreatedAt.Equal(ts[j].CreatedAt) {
			return ts[i].CreatedAt.Before(ts[j].CreatedAt)
		}
		return ts[i].Arn < ts[j].Arn
	})
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.Arn)
	}
	return out, nil
}
