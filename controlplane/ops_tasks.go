package controlplane

import (
	"net/http"
	"slices"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
	"github.com/ecs-agent/ecs-agent/controlplane/state"
	"github.com/ecs-agent/ecs-agent/controlplane/taskdef"
)

type runTaskInput struct {
	Cluster            string            `json:"cluster"`
	TaskDefinition     string            `json:"taskDefinition"`
	Count              *int              `json:"count"`
	StartedBy          string            `json:"startedBy"`
	Group              string            `json:"group"`
	Overrides          taskdef.Overrides `json:"overrides"`
	ContainerInstances []string          `json:"containerInstances"`
	LaunchType         string            `json:"launchType"`
	Tags               []state.Tag       `json:"tags"`
	PropagateTags      string            `json:"propagateTags"`
	// PlacementConstraints is a RunTask member only; StartTask ignores it (see the store).
	PlacementConstraints []taskdef.PlacementConstraint `json:"placementConstraints"`
}

func (in runTaskInput) toState() state.RunInput {
	out := state.RunInput{
		Cluster:        in.Cluster,
		TaskDefinition: in.TaskDefinition,
		StartedBy:      in.StartedBy,
		Group:          in.Group,
		Overrides:      in.Overrides,
		Instances:      in.ContainerInstances,
		Tags:           in.Tags,
		PropagateTags:  in.PropagateTags,
		Constraints:    in.PlacementConstraints,
		LaunchType:     in.LaunchType,
	}
	if in.Count != nil {
		out.Count = *in.Count
		if out.Count == 0 {
			out.Count = -1 // an explicit 0 is out of range, not the default
		}
	}
	return out
}

func (s *Server) runTask(_ *http.Request, body []byte) (any, error) {
	var in runTaskInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.LaunchType != "" && in.LaunchType != "EC2" && in.LaunchType != "EXTERNAL" {
		return nil, awserr.InvalidParameter("launchType %s is not supported by this control plane.", in.LaunchType)
	}
	tasks, failures, err := s.store.RunTask(in.toState())
	if err != nil {
		return nil, err
	}
	s.kickTasks(tasks)
	return map[string]any{"tasks": s.tasksView(tasks, true), "failures": failuresOut(failures)}, nil
}

func (s *Server) startTask(_ *http.Request, body []byte) (any, error) {
	var in runTaskInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	tasks, failures, err := s.store.StartTask(in.toState())
	if err != nil {
		return nil, err
	}
	s.kickTasks(tasks)
	return map[string]any{"tasks": s.tasksView(tasks, true), "failures": failuresOut(failures)}, nil
}

func (s *Server) stopTask(_ *http.Request, body []byte) (any, error) {
	var in struct {
		Cluster string `json:"cluster"`
		Task    string `json:"task"`
		Reason  string `json:"reason"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Task == "" {
		return nil, awserr.InvalidParameter("task can not be blank.")
	}
	t, err := s.store.StopTask(in.Cluster, in.Task, in.Reason)
	if err != nil {
		return nil, err
	}
	s.kick(t.InstanceArn)
	return map[string]any{"task": s.taskView(t, false)}, nil
}

func (s *Server) describeTasks(_ *http.Request, body []byte) (any, error) {
	var in struct {
		Cluster string   `json:"cluster"`
		Tasks   []string `json:"tasks"`
		Include []string `json:"include"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	tasks, failures, err := s.store.DescribeTasks(in.Cluster, in.Tasks)
	if err != nil {
		return nil, err
	}
	return map[string]any{"tasks": s.tasksView(tasks, slices.Contains(in.Include, "TAGS")), "failures": failuresOut(failures)}, nil
}

func (s *Server) listTasks(_ *http.Request, body []byte) (any, error) {
	var in struct {
		pageInput
		Cluster           string `json:"cluster"`
		ContainerInstance string `json:"containerInstance"`
		Family            string `json:"family"`
		StartedBy         string `json:"startedBy"`
		DesiredStatus     string `json:"desiredStatus"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	arns, err := s.store.ListTasks(state.TaskFilter{
		Cluster:       in.Cluster,
		Instance:      in.ContainerInstance,
		Family:        in.Family,
		StartedBy:     in.StartedBy,
		DesiredStatus: in.DesiredStatus,
	})
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(arns, in.pageInput)
	if err != nil {
		return nil, err
	}
	return map[string]any{"taskArns": page, "nextToken": next}, nil
}

// kickTasks wakes the ACS sessions of the instances the tasks were placed on.
func (s *Server) kickTasks(tasks []state.Task) {
	for _, t := range tasks {
		s.kick(t.InstanceArn)
	}
}
