package scheduler

import (
	"testing"

	"github.com/ecs-agent/ecs-agent/bus"
)

// A container that has exited by the time its start is answered (its die event
// even published first) ran all the same: the control plane hears RUNNING, then
// STOPPED with the exit code.
func TestQuickExitIsReportedRunningFirst(t *testing.T) {
	e := newEnv(t)
	e.docker.exitsBeforeReply["quick"] = 3
	e.start()
	for i := range 5 {
		s := taskSpec("quick"+itoa(uint64(i)), bus.ContainerSpec{Name: "quick", Image: "x", Essential: true, Memory: 8})
		e.desire(s, "m1")
		first, second := e.nextFor(s.Arn), e.nextFor(s.Arn)
		if first.Status != "RUNNING" || second.Status != "STOPPED" || len(second.Containers) != 1 ||
			second.Containers[0].ExitCode == nil || *second.Containers[0].ExitCode != 3 {
			t.Fatalf("reports %+v then %+v, want RUNNING then STOPPED with exit 3", first, second)
		}
	}
}
