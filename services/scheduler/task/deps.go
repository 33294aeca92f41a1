package task

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
)

// Dependency conditions. CREATE is implicit (volumesFrom); the others may also be
// written in dependsOn.
const (
	CondCreate   = "CREATE"
	CondStart    = "START"
	CondComplete = "COMPLETE"
	CondSuccess  = "SUCCESS"
	CondHealthy  = "HEALTHY"
)

// Classes of task definitions the engine refuses; check with errors.Is.
var (
	ErrCircular         = errors.New("circular dependency")
	ErrUnknownContainer = errors.New("unknown container")
	ErrBadDefinition    = errors.New("bad task definition")
)

// ReasonError is a refusal whose message is the reason sent to the control plane.
type ReasonError struct {
	Class  error
	Reason string
}

func (e *ReasonError) Error() string { return e.Reason }
func (e *ReasonError) Unwrap() error { return e.Class }

// Dep is one edge of the dependency graph: the dependent waits for Container to
// meet Condition.
type Dep struct {
	Container string
	Condition string
}

// Deps returns the dependencies of container c: the implicit ones (volumesFrom →
// CREATE, links → START) and its dependsOn entries. Unknown names are kept;
// Validate reports them.
func Deps(c bus.ContainerSpec) []Dep {
	var deps []Dep
	for _, v := range c.VolumesFrom {
		deps = append(deps, Dep{Container: v.SourceContainer, Condition: CondCreate})
	}
	for _, l := range c.Links {
		name, _, _ := strings.Cut(l, ":")
		deps = append(deps, Dep{Container: name, Condition: CondStart})
	}
	for _, d := range c.DependsOn {
		deps = append(deps, Dep{Container: d.ContainerName, Condition: strings.ToUpper(d.Condition)})
	}
	return deps
}

// Validate checks what the engine needs of a task before it touches Docker: at
// least one container, unique names, links of the form name[:alias] to containers
// of the task, dependencies on containers of the task with a known condition, and
// no cycle. The error is a *ReasonError.
func Validate(spec bus.TaskSpec) error {
	bad := func(class error, format string, args ...any) error {
		return &ReasonError{Class: class, Reason: fmt.Sprintf(format, args...)}
	}
	if len(spec.Containers) == 0 {
		return bad(ErrBadDefinition, "TaskDefinitionError: task has no containers, taskArn: %s", spec.Arn)
	}
	names := map[string]bool{}
	for _, c := range spec.Containers {
		if c.Name == "" {
			return bad(ErrBadDefinition, "TaskDefinitionError: a container has no name, taskArn: %s", spec.Arn)
		}
		if names[c.Name] {
			return bad(ErrBadDefinition, "TaskDefinitionError: container name %q is used twice, taskArn: %s", c.Name, spec.Arn)
		}
		names[c.Name] = true
	}
	for _, c := range spec.Containers {
		for _, l := range c.Links {
			if strings.Count(l, ":") > 1 || strings.HasPrefix(l, ":") || strings.HasSuffix(l, ":") {
				return bad(ErrBadDefinition, "TaskDependencyError: container %s has a malformed link %q (want name or name:alias), taskArn: %s", c.Name, l, spec.Arn)
			}
			name, _, _ := strings.Cut(l, ":")
			if !names[name] {
				return bad(ErrUnknownContainer, "TaskDependencyError: container %s links to unknown container %s, taskArn: %s", c.Name, name, spec.Arn)
			}
		}
		for _, v := range c.VolumesFrom {
			if !names[v.SourceContainer] {
				return bad(ErrUnknownContainer, "TaskDependencyError: container %s takes volumes from unknown container %s, taskArn: %s", c.Name, v.SourceContainer, spec.Arn)
			}
		}
		for _, d := range c.DependsOn {
			if !names[d.ContainerName] {
				return bad(ErrUnknownContainer, "TaskDependencyError: container %s depends on unknown container %s, taskArn: %s", c.Name, d.ContainerName, spec.Arn)
			}
			switch strings.ToUpper(d.Condition) {
			case CondStart, CondComplete, CondSuccess, CondHealthy:
			default:
				return bad(ErrBadDefinition, "TaskDependencyError: container %s has unknown dependency condition %q, taskArn: %s", c.Name, d.Condition, spec.Arn)
			}
		}
		for _, m := range c.MountPoints {
			if !hasVolume(spec, m.SourceVolume) {
				return bad(ErrBadDefinition, "TaskDefinitionError: container %s mounts unknown volume %s, taskArn: %s", c.Name, m.SourceVolume, spec.Arn)
			}
		}
	}
	if cycle := findCycle(spec); cycle != nil {
		return bad(ErrCircular, "Task dependencies cannot be resolved, taskArn: %s: circular dependency between containers %s",
			spec.Arn, strings.Join(cycle, " -> "))
	}
	return nil
}

func hasVolume(spec bus.TaskSpec, name string) bool {
	for _, v := range spec.Volumes {
		if v.Name == name {
			return true
		}
	}
	return false
}

// findCycle is a depth-first search with three colours over the dependency graph,
// self-dependencies included. It returns the first cycle found as the path of
// container names that closes it (a -> b -> a), or nil.
func findCycle(spec bus.TaskSpec) []string {
	edges := map[string][]string{}
	for _, c := range spec.Containers {
		for _, d := range Deps(c) {
			edges[c.Name] = append(edges[c.Name], d.Container)
		}
	}
	const (
		white = iota
		grey
		black
	)
	colour := map[string]int{}
	var path []string
	var visit func(string) []string
	visit = func(n string) []string {
		colour[n] = grey
		path = append(path, n)
		for _, m := range edges[n] {
			switch colour[m] {
			case grey:
				i := slices.Index(path, m)
				return append(slices.Clone(path[i:]), m)
			case white:
				if c := visit(m); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		colour[n] = black
		return nil
	}
	names := make([]string, 0, len(spec.Containers))
	for _, c := range spec.Containers {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	for _, n := range names {
		if colour[n] == white {
			if c := visit(n); c != nil {
				return c
			}
		}
	}
	return nil
}

// verdict is how a dependency stands.
type verdict int

const (
	depWait verdict = iota
	depMet
	depFailed
)

// judge evaluates one dependency against the dependency container's record.
// startTimeout (seconds, of the dependency) bounds how long a started dependency
// may take to meet COMPLETE, SUCCESS or HEALTHY.
func judge(d Dep, dep *bus.ContainerRecord, startTimeout int64, now time.Time) verdict {
	stopped := dep.KnownStatus == bus.StatusStopped
	started := dep.StartedAt != nil
	switch d.Condition {
	case CondCreate:
		if dep.DockerID != "" && !dep.KnownStatus.Before(bus.StatusCreated) {
			return depMet
		}
		if stopped {
			return depFailed
		}
		return depWait
	case CondStart:
		if dep.KnownStatus == bus.StatusRunning || stopped && started {
			return depMet
		}
		if stopped {
			return depFailed
		}
		return depWait
	case CondComplete:
		if stopped && started {
			return depMet
		}
		if stopped {
			return depFailed
		}
	case CondSuccess:
		if stopped && started && dep.ExitCode != nil && *dep.ExitCode == 0 {
			return depMet
		}
		if stopped {
			return depFailed
		}
	case CondHealthy:
		if dep.Health == bus.HealthHealthy {
			return depMet
		}
		if stopped {
			return depFailed
		}
	default:
		return depFailed
	}
	if timedOut(d, dep, startTimeout, now) {
		return depFailed
	}
	return depWait
}

// timeoutAt is when a started dependency's startTimeout runs out for a condition it
// bounds (COMPLETE, SUCCESS, HEALTHY); ok is false when none applies.
func timeoutAt(d Dep, dep *bus.ContainerRecord, startTimeout int64) (time.Time, bool) {
	if startTimeout <= 0 || dep.StartedAt == nil {
		return time.Time{}, false
	}
	switch d.Condition {
	case CondComplete, CondSuccess, CondHealthy:
		return dep.StartedAt.Add(time.Duration(startTimeout) * time.Second), true
	}
	return time.Time{}, false
}

// timedOut reports whether the dependency's startTimeout has run out.
func timedOut(d Dep, dep *bus.ContainerRecord, startTimeout int64, now time.Time) bool {
	t, ok := timeoutAt(d, dep, startTimeout)
	return ok && !now.Before(t)
}

// dependents returns the names of the containers that depend on name.
func dependents(spec bus.TaskSpec, name string) []string {
	var out []string
	for _, c := range spec.Containers {
		for _, d := range Deps(c) {
			if d.Container == name {
				out = append(out, c.Name)
				break
			}
		}
	}
	return out
}
