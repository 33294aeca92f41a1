package fault

import (
	"errors"
	"testing"
	"time"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
)

func TestFailCountsDown(t *testing.T) {
	var s Set
	s.Fail(Failure{Operation: "RunTask", Count: 2, Code: awserr.CodeServer})
	for i := 0; i < 2; i++ {
		_, err := s.Check("RunTask")
		if !awserr.IsCode(err, awserr.CodeServer) || awserr.As(err).Status != 500 {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if _, err := s.Check("RunTask"); err != nil {
		t.Fatalf("third call: %v", err)
	}
	s.Fail(Failure{Operation: "*", Count: 1, Code: awserr.CodeThrottling})
	if _, err := s.Check("Anything"); !awserr.IsCode(err, awserr.CodeThrottling) || awserr.As(err).Status != 400 {
		t.Fatalf("wildcard: %v", err)
	}
}

func TestDelayAndWithhold(t *testing.T) {
	var s Set
	s.Delay("*", time.Second)
	s.Delay("ListTasks", 2*time.Second)
	if d, _ := s.Check("ListTasks"); d != (Delay{2 * time.Second, PhaseBefore}) {
		t.Fatalf("specific delay = %+v", d)
	}
	if d, _ := s.Check("RunTask"); d != (Delay{time.Second, PhaseBefore}) {
		t.Fatalf("wildcard delay = %+v", d)
	}
	s.WithholdAcks(true)
	if !s.AcksWithheld() || len(s.Snapshot().DelaysMillis) != 2 {
		t.Fatalf("snapshot = %+v", s.Snapshot())
	}
	s.Reset()
	if d, err := s.Check("ListTasks"); d.Duration != 0 || err != nil || s.AcksWithheld() {
		t.Fatal("reset left faults behind")
	}
}

func TestDelayPhases(t *testing.T) {
	tests := []struct {
		phase Phase
		want  Phase
		err   error
	}{
		{"", PhaseBefore, nil},
		{PhaseBefore, PhaseBefore, nil},
		{PhaseAfter, PhaseAfter, nil},
		{"during", "", ErrPhase},
	}
	for _, tc := range tests {
		t.Run(string(tc.phase), func(t *testing.T) {
			var s Set
			err := s.DelayAt("RunTask", time.Second, tc.phase)
			if !errors.Is(err, tc.err) {
				t.Fatalf("DelayAt: %v, want %v", err, tc.err)
			}
			d, _ := s.Check("RunTask")
			if tc.err != nil {
				if d.Duration != 0 {
					t.Fatalf("a refused phase set a delay: %+v", d)
				}
				return
			}
			if d.Phase != tc.want || s.Snapshot().DelayPhases["RunTask"] != tc.want {
				t.Fatalf("delay %+v, snapshot %+v, want phase %s", d, s.Snapshot(), tc.want)
			}
		})
	}
}
