package state

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
)

func newTestStore(t *testing.T) (*Store, Instance, TaskDefinition) {
	t.Helper()
	s, err := New(Options{Region: "us-west-2", Account: "123456789012"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateCluster("c", nil); err != nil {
		t.Fatal(err)
	}
	inst, err := s.RegisterInstance(Registration{Cluster: "c", Zone: "us-west-2a", Resources: []Resource{
		{Name: "CPU", Type: "INTEGER", IntegerValue: 1024},
		{Name: "MEMORY", Type: "INTEGER", IntegerValue: 512},
	}})
	if err != nil {
		t.Fatal(err)
	}
	td, err := s.RegisterTaskDefinition([]byte(`{"family":"f","containerDefinitions":[
		{"name":"app","image":"i","memory":100},
		{"name":"side","image":"i","memory":50,"essential":false}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return s, inst, td
}

func TestReportsMoveForwardOnly(t *testing.T) {
	s, _, td := newTestStore(t)
	tasks, _, err := s.RunTask(RunInput{Cluster: "c", TaskDefinition: td.Arn})
	if err != nil {
		t.Fatal(err)
	}
	arn := tasks[0].Arn
	steps := []struct {
		report     TaskReport
		wantTask   string
		wantDesire string
	}{
		{TaskReport{Cluster: "c", Task: arn, Status: "RUNNING", Containers: []ContainerReport{{Name: "app", Status: "RUNNING"}, {Name: "side", Status: "RUNNING"}}}, "RUNNING", "RUNNING"},
		{TaskReport{Cluster: "c", Task: arn, Status: "PENDING"}, "RUNNING", "RUNNING"},
		// A non-essential container exiting leaves the task alone.
		{TaskReport{Cluster: "c", Task: arn, Status: "RUNNING", Containers: []ContainerReport{{Name: "side", Status: "STOPPED", ExitCode: ptr(int64(0))}}}, "RUNNING", "RUNNING"},
		{TaskReport{Cluster: "c", Task: arn, Status: "STOPPED", Reason: "OutOfMemoryError: boom", Containers: []ContainerReport{{Name: "app", Status: "STOPPED", ExitCode: ptr(int64(137))}}}, "STOPPED", "STOPPED"},
		{TaskReport{Cluster: "c", Task: arn, Status: "RUNNING"}, "STOPPED", "STOPPED"},
	}
	for i, st := range steps {
		got, err := s.ReportTaskState(st.report)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got.LastStatus != st.wantTask || got.DesiredStatus != st.wantDesire {
			t.Fatalf("step %d: %s/%s", i, got.LastStatus, got.DesiredStatus)
		}
	}
	got, _, _ := s.DescribeTasks("c", []string{arn})
	if got[0].StoppedReason != "OutOfMemoryError: boom" || got[0].Held || *got[0].Containers[0].ExitCode != 137 {
		t.Fatalf("stopped task = %+v", got[0])
	}
	if _, err := s.ReportTaskState(TaskReport{Cluster: "c", Task: arn, Status: "BOGUS"}); !awserr.IsCode(err, awserr.CodeInvalidParameter) {
		t.Fatalf("bogus status: %v", err)
	}
}

func TestDeliveryBookkeeping(t *testing.T) {
	s, inst, td := newTestStore(t)
	tasks, _, _ := s.RunTask(RunInput{Cluster: "c", TaskDefinition: td.Arn})
	owed := s.Owed(inst.Arn)
	if len(owed) != 1 || owed[0].DesiredStatus != "RUNNING" {
		t.Fatalf("owed = %+v", owed)
	}
	seq1, _ := s.MarkSent(inst.Arn, owed)
	if err := s.MarkDelivered(owed); err != nil {
		t.Fatal(err)
	}
	if len(s.Owed(inst.Arn)) != 0 {
		t.Fatal("acked task still owed")
	}
	if _, err := s.StopTask("c", tasks[0].Arn, "bye"); err != nil {
		t.Fatal(err)
	}
	owed = s.Owed(inst.Arn)
	if len(owed) != 1 || owed[0].DesiredStatus != "STOPPED" {
		t.Fatalf("stop owed = %+v", owed)
	}
	seq2, _ := s.MarkSent(inst.Arn, owed)
	if seq2 <= seq1 {
		t.Fatalf("seqNum %d after %d", seq2, seq1)
	}
	// A late ack of the RUNNING payload must not lower what was delivered.
	_ = s.MarkDelivered(owed)
	_ = s.MarkDelivered([]acs.Task{{Arn: tasks[0].Arn, DesiredStatus: "RUNNING"}})
	if len(s.Owed(inst.Arn)) != 0 {
		t.Fatal("stop re-owed after a stale ack")
	}
}

func TestStopNeverSentTaskReleasesResources(t *testing.T) {
	s, inst, td := newTestStore(t)
	tasks, _, _ := s.RunTask(RunInput{Cluster: "c", TaskDefinition: td.Arn, Count: 3})
	if len(tasks) != 3 {
		t.Fatalf("placed %d", len(tasks))
	}
	_, fails, _ := s.RunTask(RunInput{Cluster: "c", TaskDefinition: td.Arn})
	if len(fails) != 1 || fails[0].Reason != "RESOURCE:MEMORY" {
		t.Fatalf("fourth task: %+v", fails)
	}
	stopped, err := s.StopTask("c", tasks[0].Arn, "")
	if err != nil || stopped.LastStatus != StatusStopped || stopped.StoppedAt == nil || time.Since(*stopped.StoppedAt) > time.Minute {
		t.Fatalf("stop: %v %+v", err, stopped)
	}
	if len(s.Owed(inst.Arn)) != 2 {
		t.Fatal("stopped never-sent task is still owed")
	}
	if more, _, _ := s.RunTask(RunInput{Cluster: "c", TaskDefinition: td.Arn}); len(more) != 1 {
		t.Fatal("resources of the stopped task were not released")
	}
}

func ptr[T any](v T) *T { return &v }

func TestStringSetResourceAlwaysHasItsSet(t *testing.T) {
	b, err := json.Marshal([]Resource{{Name: "PORTS_UDP", Type: "STRINGSET"}, {Name: "CPU", Type: "INTEGER", IntegerValue: 2048}})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != `[{"name":"PORTS_UDP","type":"STRINGSET","stringSetValue":[]},{"name":"CPU","type":"INTEGER","integerValue":2048}]` {
		t.Errorf("got %s", got)
	}
}
