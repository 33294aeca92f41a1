package task

import (
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
)

// Stage names, in a container's order.
const (
	StagePull   = "pull"
	StageCreate = "create"
	StageStart  = "start"
	StageRun    = "run"
	StageStop   = "stop"
)

// stageOf is the stage a Docker step is.
func (k Kind) stage() string {
	switch k {
	case Pull:
		return StagePull
	case Create:
		return StageCreate
	case Start:
		return StageStart
	}
	return StageStop
}

// BeginStep opens the stage of a step the caller is about to take.
func BeginStep(rec *bus.TaskRecord, kind Kind, name string, at time.Time) {
	if c := Container(rec, name); c != nil {
		beginStage(c, kind.stage(), at)
	}
}

// EndStep closes the stage of a step whose outcome is known, whatever it was, and
// returns the stage closed (false when none was open).
func EndStep(rec *bus.TaskRecord, kind Kind, name string, at time.Time) (bus.Stage, bool) {
	if c := Container(rec, name); c != nil {
		return endStage(c, kind.stage(), at)
	}
	return bus.Stage{}, false
}

// beginStage opens a stage unless one of that name is open already.
func beginStage(c *bus.ContainerRecord, name string, at time.Time) {
	for i := len(c.Stages) - 1; i >= 0; i-- {
		if c.Stages[i].Name == name && c.Stages[i].EndedAt == nil {
			return
		}
	}
	c.Stages = append(c.Stages, bus.Stage{Name: name, StartedAt: at})
	if n := len(c.Stages); n > bus.MaxStages {
		c.Stages = append(c.Stages[:0], c.Stages[n-bus.MaxStages:]...)
	}
}

// endStage closes the last open stage of that name, if any, and returns it.
func endStage(c *bus.ContainerRecord, name string, at time.Time) (bus.Stage, bool) {
	for i := len(c.Stages) - 1; i >= 0; i-- {
		if s := &c.Stages[i]; s.Name == name && s.EndedAt == nil {
			if at.Before(s.StartedAt) {
				at = s.StartedAt
			}
			t := at
			s.EndedAt = &t
			return *s, true
		}
	}
	return bus.Stage{}, false
}

// PullTimes records a pull from the registry in the task's pullStartedAt and
// pullStoppedAt: the start of the first and the end of the last. Only a real pull
// counts (a failed one included): an image used from the cache leaves them unset
// (PROTOCOL.md §1.5).
func PullTimes(rec *bus.TaskRecord, started, stopped time.Time) {
	if rec.PullStartedAt == nil || started.Before(*rec.PullStartedAt) {
		rec.PullStartedAt = &started
	}
	if rec.PullStoppedAt == nil || stopped.After(*rec.PullStoppedAt) {
		rec.PullStoppedAt = &stopped
	}
}
