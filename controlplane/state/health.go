package state

import (
	"time"

	"github.com/ecs-agent/ecs-agent/acs/tcs"
)

// ContainerHealth is one container's health as the agent published it.
type ContainerHealth struct {
	Name   string
	Status string // HEALTHY, UNHEALTHY or UNKNOWN
	Since  *time.Time
}

// SetHealth records the health the agent published for a task's containers, and
// reports whether the task is known. Only the instance the task runs on may publish
// it; other containers and unknown statuses are ignored. The health is kept in
// memory and in the snapshot; it is not a state change, so the task's version stays.
func (s *Store) SetHealth(instanceArn, taskArn string, hs []ContainerHealth) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tasks[taskArn]
	if t == nil || t.InstanceArn != instanceArn {
		return false
	}
	for _, h := range hs {
		c := containerOf(t, h.Name)
		if c == nil {
			continue
		}
		switch h.Status {
		case tcs.HealthHealthy, tcs.HealthUnhealthy, tcs.HealthUnknown:
		default:
			continue
		}
		if c.HealthStatus != h.Status {
			c.HealthStatus = h.Status
			since := s.now()
			if h.Since != nil {
				since = *h.Since
			}
			c.HealthSince = &since
		}
	}
	return true
}

// TaskHealth is a task's health from its essential containers with a health check:
// any UNHEALTHY makes it UNHEALTHY, all HEALTHY make it HEALTHY, else UNKNOWN.
func TaskHealth(t Task) string {
	var essential []string
	for _, c := range t.Containers {
		if c.Essential && c.HasHealthCheck {
			essential = append(essential, ContainerHealthOf(c))
		}
	}
	return tcs.TaskHealthOf(essential)
}

// ContainerHealthOf is a container's health, UNKNOWN until one was published.
func ContainerHealthOf(c Container) string {
	if c.HealthStatus == "" {
		return tcs.HealthUnknown
	}
	return c.HealthStatus
}

// Task returns a copy of a task by ARN.
func (s *Store) Task(arn string) (Task, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tasks[arn]
	if t == nil {
		return Task{}, false
	}
	return clone(*t), true
}
