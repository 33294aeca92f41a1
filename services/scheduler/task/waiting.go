package task

import (
	"fmt"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
)

// WaitReasons says, for an operator, what the task's containers wait for, in the
// order of the task definition: an image being pulled ("pulling image x"), a
// dependency ("waiting for container db to be HEALTHY"), a Docker step in flight.
// busy holds the kind of the step in flight of each busy container. What the host
// lacks (admission) is the caller's to add: the engine does not know it.
func WaitReasons(rec *bus.TaskRecord, busy map[string]Kind, now time.Time, opts Options) []string {
	var out []string
	for _, c := range rec.Containers {
		if k, ok := busy[c.Name]; ok {
			switch k {
			case Pull:
				if c.PullProgress != "" {
					out = append(out, "pulling image "+c.Image+" ("+c.PullProgress+")")
				} else {
					out = append(out, "pulling image "+c.Image)
				}
			case Create:
				out = append(out, "creating container "+c.Name)
			case Start:
				out = append(out, "starting container "+c.Name)
			case Stop:
				out = append(out, "waiting for container "+c.Name+" to stop")
			}
			continue
		}
		if c.KnownStatus == bus.StatusStopped || c.DesiredStatus == bus.StatusStopped {
			continue
		}
		if c.RestartPending {
			out = append(out, "restarting container "+c.Name)
			continue
		}
		if !c.KnownStatus.Before(bus.StatusRunning) {
			continue
		}
		if c.KnownStatus.Before(bus.StatusPulled) && opts.PullUpfront {
			continue // its pull does not wait
		}
		spec := Spec(rec, c.Name)
		if spec == nil {
			continue
		}
		for _, d := range Deps(*spec) {
			dep, depSpec := Container(rec, d.Container), Spec(rec, d.Container)
			if dep == nil || depSpec == nil || judge(d, dep, depSpec.StartTimeout, now) != depWait {
				continue
			}
			why := fmt.Sprintf("waiting for container %s %s", d.Container, conditionText(d.Condition))
			if t, ok := timeoutAt(d, dep, depSpec.StartTimeout); ok {
				why += fmt.Sprintf(" (gives up in %s)", t.Sub(now).Round(time.Second))
			}
			out = append(out, why+" before "+c.Name+" can start")
		}
	}
	return out
}

func conditionText(cond string) string {
	switch cond {
	case CondCreate:
		return "to be created"
	case CondStart:
		return "to start"
	case CondComplete:
		return "to complete"
	case CondSuccess:
		return "to exit with code 0"
	case CondHealthy:
		return "to be HEALTHY"
	}
	return "to meet " + cond
}
