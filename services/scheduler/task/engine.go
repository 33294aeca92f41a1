package task

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
)

// Kind is a Docker step for one container.
type Kind int

// The steps, in a container's order.
const (
	Pull Kind = iota + 1
	Create
	Start
	Stop
)

func (k Kind) String() string {
	switch k {
	case Pull:
		return "pull"
	case Create:
		return "create"
	case Start:
		return "start"
	case Stop:
		return "stop"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// errorName is the ECS error name a failed step becomes in a container's reason.
func (k Kind) errorName() string {
	switch k {
	case Pull:
		return "CannotPullContainerError"
	case Create:
		return "CannotCreateContainerError"
	case Start:
		return "CannotStartContainerError"
	}
	return "CannotStopContainerError"
}

// Action asks the caller to take one step for one container.
type Action struct {
	Kind      Kind
	Container string
}

// Plan is what Step decided.
type Plan struct {
	// Actions are the steps to take now; containers in flight are never in it.
	Actions []Action
	// Waiting is true when some container waits on a dependency whose verdict can
	// change with time alone (a start timeout), so Step should be called again
	// after a while even if nothing else happens.
	Waiting bool
	// WakeAt, when not zero, is the earliest time a dependency's verdict changes by
	// time alone (a dependency's startTimeout running out): Step should be called
	// again then.
	WakeAt time.Time
}

// Options are the engine's settings.
type Options struct {
	// PullUpfront pulls the images of containers waiting on their dependencies;
	// only create and start wait (ECS_PULL_DEPENDENT_CONTAINERS_UPFRONT).
	PullUpfront bool
}

// OOMReason is the reason of a container the kernel killed for memory.
const OOMReason = "OutOfMemoryError: Container killed due to memory usage"

// VanishedReason is the reason of a container Docker no longer knows.
const VanishedReason = "ContainerVanishedError: No container matching saved ID found"

// TaskStateErrorReason is the reason of a task that wants to stop but whose
// containers cannot move any more; it is forced to STOPPED, as the real agent does.
const TaskStateErrorReason = "TaskStateError: Agent could not progress task's state to stopped"

// Step is StepWith with the default options.
func Step(rec *bus.TaskRecord, busy map[string]bool, now time.Time) Plan {
	return StepWith(rec, busy, now, Options{})
}

// StepWith settles the record (desired statuses, containers that need no Docker
// call, the task's known status) and returns the next step of every container that
// can move. busy holds the containers with a step in flight; they are left alone.
func StepWith(rec *bus.TaskRecord, busy map[string]bool, now time.Time, opts Options) Plan {
	plan := plan(rec, busy, now, opts)
	if len(plan.Actions) == 0 && len(busy) == 0 && !plan.Waiting &&
		rec.DesiredStatus == bus.StatusStopped && rec.KnownStatus != bus.StatusStopped {
		// Nothing can move and the task is not stopped: it is forced to STOPPED.
		if rec.Reason == "" {
			rec.Reason = TaskStateErrorReason
		}
		for i := range rec.Containers {
			markStopped(&rec.Containers[i], false, nil, now)
		}
		plan = Plan{}
		settle(rec, busy, now)
	}
	return plan
}

func plan(rec *bus.TaskRecord, busy map[string]bool, now time.Time, opts Options) Plan {
	var plan Plan
	for changed := true; changed; {
		changed = settle(rec, busy, now)
		if failDependents(rec, busy, now) {
			changed = true
		}
	}
	for i := range rec.Containers {
		c := &rec.Containers[i]
		if busy[c.Name] {
			continue
		}
		if c.KnownStatus == bus.StatusStopped {
			// A stopped container seen running again is stopped once more.
			if c.StopAgain && c.DockerID != "" {
				plan.Actions = append(plan.Actions, Action{Kind: Stop, Container: c.Name})
			}
			continue
		}
		if c.DesiredStatus == bus.StatusStopped {
			if c.DockerID != "" && shutdownReady(rec, c.Name) {
				plan.Actions = append(plan.Actions, Action{Kind: Stop, Container: c.Name})
			}
			continue
		}
		var kind Kind
		switch c.KnownStatus {
		case bus.StatusNone, bus.StatusManifestPulled:
			kind = Pull
		case bus.StatusPulled:
			kind = Create
		case bus.StatusCreated:
			kind = Start
		case bus.StatusRunning:
			if c.RestartPending {
				// Restarted in place: its dependencies were met at its first start.
				plan.Actions = append(plan.Actions, Action{Kind: Start, Container: c.Name})
			}
			continue
		default:
			continue
		}
		if kind == Pull && opts.PullUpfront {
			plan.Actions = append(plan.Actions, Action{Kind: kind, Container: c.Name})
			continue
		}
		switch v, wake := depsVerdict(rec, c.Name, now); v {
		case depMet:
			plan.Actions = append(plan.Actions, Action{Kind: kind, Container: c.Name})
		case depWait:
			plan.Waiting = true
			if !wake.IsZero() && (plan.WakeAt.IsZero() || wake.Before(plan.WakeAt)) {
				plan.WakeAt = wake
			}
		}
	}
	return plan
}

// essentialCause says how an essential container took its task down.
func essentialCause(c *bus.ContainerRecord) string {
	switch {
	case c.Reason != "":
		return fmt.Sprintf("essential container %s stopped: %s", c.Name, c.Reason)
	case c.ExitCode != nil:
		return fmt.Sprintf("essential container %s exited with code %d", c.Name, *c.ExitCode)
	case c.KnownStatus == bus.StatusStopped:
		return fmt.Sprintf("essential container %s stopped", c.Name)
	}
	return fmt.Sprintf("essential container %s is to stop", c.Name)
}

// settle applies the rules that need no Docker call; it reports whether anything
// changed.
func settle(rec *bus.TaskRecord, busy map[string]bool, now time.Time) bool {
	changed := false
	// An essential container that stopped, or is meant to, takes the task down.
	for i := range rec.Containers {
		c := &rec.Containers[i]
		if !c.Essential {
			continue
		}
		if c.KnownStatus == bus.StatusStopped || c.DesiredStatus == bus.StatusStopped {
			if rec.DesiredStatus != bus.StatusStopped {
				rec.DesiredStatus = bus.StatusStopped
				if rec.StopCause == "" {
					rec.StopCause = essentialCause(c)
				}
				changed = true
			}
		}
		if c.KnownStatus == bus.StatusStopped && rec.ExecutionStoppedAt == nil {
			t := now
			rec.ExecutionStoppedAt = &t
			changed = true
		}
	}
	for i := range rec.Containers {
		c := &rec.Containers[i]
		if rec.DesiredStatus == bus.StatusStopped && c.DesiredStatus != bus.StatusStopped {
			c.DesiredStatus = bus.StatusStopped
			changed = true
		}
		// A container that was never created has nothing to stop.
		if c.DesiredStatus == bus.StatusStopped && c.KnownStatus != bus.StatusStopped &&
			c.DockerID == "" && !busy[c.Name] {
			c.KnownStatus = bus.StatusStopped
			changed = true
		}
	}
	if k := knownStatus(rec); rec.KnownStatus.Before(k) {
		rec.KnownStatus = k
		changed = true
	}
	if rec.KnownStatus == bus.StatusStopped {
		if rec.StoppedAt == nil {
			t := now
			rec.StoppedAt = &t
			changed = true
		}
		if rec.DesiredStatus != bus.StatusStopped {
			rec.DesiredStatus = bus.StatusStopped
			changed = true
		}
	}
	return changed
}

// knownStatus is the task status the containers imply: the minimum of their mapped
// statuses, held back while an essential container has stopped and another still
// runs (the task is on its way down, not up).
func knownStatus(rec *bus.TaskRecord) bus.Status {
	if len(rec.Containers) == 0 {
		return bus.StatusStopped
	}
	lowest := bus.StatusStopped
	running, essentialStopped := false, false
	for _, c := range rec.Containers {
		m := c.KnownStatus
		switch m {
		case bus.StatusPulled:
			m = bus.StatusManifestPulled
		case bus.StatusRunning:
			running = true
		case bus.StatusStopped:
			essentialStopped = essentialStopped || c.Essential
		}
		if m.Before(lowest) {
			lowest = m
		}
	}
	if running && essentialStopped {
		return rec.KnownStatus
	}
	return lowest
}

// depsVerdict combines the verdicts of a container's dependencies. wake is the
// earliest time a waiting dependency times out, zero if none can.
func depsVerdict(rec *bus.TaskRecord, name string, now time.Time) (v verdict, wake time.Time) {
	spec := Spec(rec, name)
	if spec == nil {
		return depMet, time.Time{}
	}
	out := depMet
	for _, d := range Deps(*spec) {
		dep := Container(rec, d.Container)
		depSpec := Spec(rec, d.Container)
		if dep == nil || depSpec == nil {
			return depFailed, time.Time{}
		}
		switch judge(d, dep, depSpec.StartTimeout, now) {
		case depFailed:
			return depFailed, time.Time{}
		case depWait:
			out = depWait
			if t, ok := timeoutAt(d, dep, depSpec.StartTimeout); ok && (wake.IsZero() || t.Before(wake)) {
				wake = t
			}
		}
	}
	if out != depWait {
		wake = time.Time{}
	}
	return out, wake
}

// failDependents stops containers whose dependencies can no longer be met: they are
// marked STOPPED (exit code 143, as the real agent reports them) with a reason.
func failDependents(rec *bus.TaskRecord, busy map[string]bool, now time.Time) bool {
	changed := false
	for i := range rec.Containers {
		c := &rec.Containers[i]
		if busy[c.Name] || c.DesiredStatus == bus.StatusStopped || c.KnownStatus != bus.StatusNone &&
			c.KnownStatus != bus.StatusManifestPulled && c.KnownStatus != bus.StatusPulled && c.KnownStatus != bus.StatusCreated {
			continue
		}
		if v, _ := depsVerdict(rec, c.Name, now); v != depFailed {
			continue
		}
		code := 143
		c.ExitCode = &code
		c.DesiredStatus = bus.StatusStopped
		c.KnownStatus = bus.StatusStopped
		if c.Reason == "" {
			c.Reason = "CannotStartContainerError: " + failedDepText(rec, c.Name, now)
		}
		changed = true
	}
	return changed
}

func failedDepText(rec *bus.TaskRecord, name string, now time.Time) string {
	spec := Spec(rec, name)
	for _, d := range Deps(*spec) {
		dep := Container(rec, d.Container)
		depSpec := Spec(rec, d.Container)
		switch {
		case dep == nil || depSpec == nil:
			return fmt.Sprintf("dependency container %s of container %s does not exist", d.Container, name)
		case judge(d, dep, depSpec.StartTimeout, now) != depFailed:
		case timedOut(d, dep, depSpec.StartTimeout, now):
			return fmt.Sprintf("dependency container %s timed out: it did not meet condition %s within its startTimeout of %ds, so container %s cannot start",
				d.Container, d.Condition, depSpec.StartTimeout, name)
		default:
			return fmt.Sprintf("dependency container %s cannot meet condition %s for container %s", d.Container, d.Condition, name)
		}
	}
	return "a dependency cannot be met"
}

// shutdownReady reports whether every container that depends on name has stopped,
// so that name may be stopped: shutdown runs in the reverse order of start-up.
func shutdownReady(rec *bus.TaskRecord, name string) bool {
	for _, n := range dependents(rec.Spec, name) {
		if c := Container(rec, n); c != nil && c.KnownStatus != bus.StatusStopped {
			return false
		}
	}
	return true
}

// Pulled records a successful pull.
func Pulled(rec *bus.TaskRecord, name string, rep bus.PullReply) {
	c := Container(rec, name)
	if c == nil || !c.KnownStatus.Before(bus.StatusPulled) {
		return
	}
	c.KnownStatus = bus.StatusPulled
	if rep.ImageID != "" {
		c.ImageID = rep.ImageID
	}
	if rep.Digest != "" {
		c.ImageDigest = rep.Digest
	}
}

// Created records a created (or found existing) container.
func Created(rec *bus.TaskRecord, name string, rep bus.CreateReply, now time.Time) {
	c := Container(rec, name)
	if c == nil {
		return
	}
	if rep.DockerID != "" {
		c.DockerID = rep.DockerID
	}
	if rep.DockerName != "" {
		c.DockerName = rep.DockerName
	}
	if c.CreatedAt == nil {
		t := now
		c.CreatedAt = &t
	}
	if c.KnownStatus.Before(bus.StatusCreated) {
		c.KnownStatus = bus.StatusCreated
	}
}

// Started records a successful start. The container ran even if it has exited
// since; its exit is applied too, after the RUNNING step, so that the start is never
// skipped in the reports' order.
func Started(rec *bus.TaskRecord, name string, st bus.ContainerState, now time.Time) {
	c := Container(rec, name)
	if c == nil {
		return
	}
	if c.KnownStatus.Before(bus.StatusRunning) {
		c.KnownStatus = bus.StatusRunning
	}
	at := now
	if st.StartedAt != nil && !st.StartedAt.IsZero() {
		at = *st.StartedAt
	}
	if c.StartedAt == nil {
		t := at
		c.StartedAt = &t
	}
	if c.RestartPending {
		// Restarted in place: the next restart counts from this start.
		c.RestartPending = false
		t := at
		c.LastRestartAt = &t
	}
	if c.KnownStatus == bus.StatusRunning {
		beginStage(c, StageRun, at)
	}
	if len(st.NetworkBindings) > 0 {
		c.NetworkBindings = st.NetworkBindings
	}
	if st.DockerID != "" && c.DockerID == "" {
		c.DockerID = st.DockerID
	}
}

// Stopped records a successful stop. Docker may report a never-started container
// as CREATED after a stop; it is stopped all the same.
func Stopped(rec *bus.TaskRecord, name string, st bus.ContainerState, now time.Time) {
	c := Container(rec, name)
	if c == nil {
		return
	}
	if c.StopAgain {
		// The second stop of a container seen running again: its first exit
		// stays the one reported.
		c.StopAgain = false
		return
	}
	if st.ExitCode != nil && c.ExitCode == nil && c.StartedAt != nil {
		code := *st.ExitCode
		c.ExitCode = &code
	}
	markStopped(c, st.OOMKilled, st.FinishedAt, now)
}

// Failed records a step that failed for good: the error becomes the container's
// reason (CannotPullContainerError: …) and the container is meant to stop. A failed
// start leaves a container that never ran, so it is marked STOPPED at once; a
// failed stop is given up on as stopped, as the real agent does when Docker still
// answers.
func Failed(rec *bus.TaskRecord, kind Kind, name string, err error, now time.Time) {
	c := Container(rec, name)
	if c == nil {
		return
	}
	if kind == Stop && c.StopAgain {
		c.StopAgain = false // it was stopped already; nothing more to do
		return
	}
	if bus.CodeOf(err) == bus.CodeResourceInit {
		// A task resource (its secrets, its registry credentials) could not be
		// prepared: that is the task's reason, as the real agent reports it.
		reason := bus.CodeResourceInit.Name() + ": " + describe(err)
		Fail(rec, reason)
		if c.Reason == "" {
			c.Reason = reason
		}
	}
	if c.Reason == "" {
		c.Reason = kind.errorName() + ": " + describe(err)
	}
	c.DesiredStatus = bus.StatusStopped
	if kind == Start || kind == Stop {
		markStopped(c, false, nil, now)
	}
}

// describe is an error's text without a repeated error name.
func describe(err error) string {
	var be *bus.Error
	if errors.As(err, &be) {
		// bus.RespondError sends err.Error(), which already starts with the name.
		return strings.TrimPrefix(be.Description, be.Code.Name()+": ")
	}
	return err.Error()
}

func markStopped(c *bus.ContainerRecord, oom bool, finished *time.Time, now time.Time) {
	if oom && c.Reason == "" {
		c.Reason = OOMReason
	}
	if c.KnownStatus == bus.StatusStopped {
		return
	}
	c.KnownStatus = bus.StatusStopped
	c.DesiredStatus = bus.StatusStopped
	c.RestartPending = false
	if c.FinishedAt == nil {
		t := now
		if finished != nil && !finished.IsZero() {
			t = *finished
		}
		c.FinishedAt = &t
	}
	endStage(c, StageRun, *c.FinishedAt)
}

// ApplyEvent applies a Docker event. Statuses only move forward; an event about
// another incarnation of the container (a different Docker ID) is ignored. It
// reports whether the record changed.
func ApplyEvent(rec *bus.TaskRecord, ev bus.ContainerEvent, now time.Time) bool {
	c := Container(rec, ev.ContainerName)
	if c == nil {
		return false
	}
	if ev.DockerID != "" && c.DockerID != "" && ev.DockerID != c.DockerID {
		return false
	}
	before := fmt.Sprintf("%+v", *c)
	if c.DockerID == "" && ev.DockerID != "" && c.KnownStatus != bus.StatusStopped {
		c.DockerID = ev.DockerID
	}
	at := now
	if ev.TimeNano > 0 {
		at = time.Unix(0, ev.TimeNano)
	}
	setHealth(c, ev.Health, at)
	switch ev.Status {
	case bus.StatusCreated:
		if c.KnownStatus.Before(bus.StatusCreated) {
			c.KnownStatus = bus.StatusCreated
			c.CreatedAt = &at
		}
	case bus.StatusRunning:
		switch {
		case c.KnownStatus.Before(bus.StatusRunning):
			c.KnownStatus = bus.StatusRunning
			c.StartedAt = &at
			beginStage(c, StageRun, at)
		case c.KnownStatus == bus.StatusStopped && !c.Restopped && ev.TimeNano > 0 &&
			c.FinishedAt != nil && at.After(*c.FinishedAt):
			// Stopped, and seen running again since: stopped once more, once.
			c.Restopped, c.StopAgain = true, true
		}
	case bus.StatusStopped:
		if c.KnownStatus != bus.StatusStopped && !c.RestartPending {
			if restartInstead(rec, c, ev.ExitCode, at) {
				break
			}
			if ev.ExitCode != nil && c.StartedAt != nil {
				code := *ev.ExitCode
				c.ExitCode = &code
			}
			markStopped(c, ev.OOMKilled, &at, now)
		}
	}
	return before != fmt.Sprintf("%+v", *c)
}

// setHealth records a container's health and, when it changed, since when.
func setHealth(c *bus.ContainerRecord, h bus.Health, at time.Time) {
	if h == "" || h == c.Health {
		return
	}
	c.Health = h
	since := at.UTC()
	c.HealthSince = &since
}

// ApplyState applies what an inspect returned (after a restart, or the periodic
// check for missed events).
func ApplyState(rec *bus.TaskRecord, name string, st bus.ContainerState, now time.Time) {
	c := Container(rec, name)
	if c == nil {
		return
	}
	if c.DockerID == "" && st.DockerID != "" {
		c.DockerID = st.DockerID
	}
	if st.DockerName != "" && c.DockerName == "" {
		c.DockerName = st.DockerName
	}
	setHealth(c, st.Health, now)
	if len(st.NetworkBindings) > 0 {
		c.NetworkBindings = st.NetworkBindings
	}
	switch st.Status {
	case bus.StatusCreated:
		if c.KnownStatus.Before(bus.StatusCreated) {
			c.KnownStatus = bus.StatusCreated
			t := st.CreatedAt
			c.CreatedAt = &t
		}
	case bus.StatusRunning:
		if c.KnownStatus.Before(bus.StatusRunning) {
			c.KnownStatus = bus.StatusRunning
		}
		if c.StartedAt == nil {
			t := now
			if st.StartedAt != nil {
				t = *st.StartedAt
			}
			c.StartedAt = &t
		}
		if !c.RestartPending {
			beginStage(c, StageRun, *c.StartedAt)
		}
	case bus.StatusStopped:
		if c.KnownStatus == bus.StatusStopped || c.RestartPending {
			return
		}
		if c.StartedAt == nil && st.StartedAt != nil && !st.StartedAt.IsZero() {
			t := *st.StartedAt
			c.StartedAt = &t
		}
		exited := now
		if st.FinishedAt != nil && !st.FinishedAt.IsZero() {
			exited = *st.FinishedAt
		}
		if restartInstead(rec, c, st.ExitCode, exited) {
			return
		}
		if st.ExitCode != nil && c.StartedAt != nil {
			code := *st.ExitCode
			c.ExitCode = &code
		}
		markStopped(c, st.OOMKilled, st.FinishedAt, now)
	}
}

// Vanished marks a container Docker no longer knows as STOPPED.
func Vanished(rec *bus.TaskRecord, name string, now time.Time) {
	c := Container(rec, name)
	if c == nil || c.KnownStatus == bus.StatusStopped {
		return
	}
	if c.Reason == "" {
		c.Reason = VanishedReason
	}
	markStopped(c, false, nil, now)
}
