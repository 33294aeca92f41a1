package fault

import (
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
	if d, _ := s.Check("ListTasks"); d != 2*time.Second {
		t.Fatalf("specific delay = %s", d)
	}
	if d, _ := s.Check("RunTask"); d != time.Second {
		t.Fatalf("wildcard delay = %s", d)
	}
	s.WithholdAcks(true)
	if !s.AcksWithheld() || len(s.Snapshot().DelaysMillis) != 2 {
		t.Fatalf("snapshot = %+v", s.Snapshot())
	}
	s.Reset()
	if d, err := s.Check("ListTasks"); d != 0 || err != nil || s.AcksWithheld() {
		t.Fatal("reset left faults behind")
	}
}
