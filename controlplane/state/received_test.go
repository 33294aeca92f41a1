package state

import (
	"testing"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
)

func TestReceivedRecord(t *testing.T) {
	s, _, td := newTestStore(t)
	tasks, _, err := s.RunTask(RunInput{Cluster: "c", TaskDefinition: td.Arn})
	if err != nil {
		t.Fatal(err)
	}
	arn := tasks[0].Arn
	if list, ok := s.ReceivedFor(arn); !ok || len(list) != 0 {
		t.Fatalf("before any report: %v %v", list, ok)
	}
	if _, ok := s.ReceivedFor(arn + "x"); ok {
		t.Fatal("an unknown task has a record")
	}
	// A refused report is not recorded, and refusing it changes nothing.
	_, err = s.ReportTaskState(TaskReport{Cluster: "c", Task: arn, Status: "RUNNING",
		Containers: []ContainerReport{{Name: "app", Status: "RUNNING"}, {Name: "nope", Status: "RUNNING"}}})
	if !awserr.IsCode(err, awserr.CodeInvalidParameter) {
		t.Fatalf("unknown container: %v", err)
	}
	if got, _, _ := s.DescribeTasks("c", []string{arn}); got[0].Containers[0].LastStatus != StatusPending {
		t.Fatalf("a refused report changed the task: %+v", got[0].Containers[0])
	}
	// Every accepted call is recorded, a repeated one too, with its containers.
	for i := 0; i < MaxReceivedPerTask+5; i++ {
		r := TaskReport{Cluster: "c", Task: arn, Status: "RUNNING", Reason: string(rune('a' + i%26)),
			Containers: []ContainerReport{{Name: "app", Status: "RUNNING", RuntimeID: "d0", ExitCode: ptr(int64(i))}}}
		if i == 0 {
			r.Operation = OpSubmitContainerStateChange
		}
		if _, err := s.ReportTaskState(r); err != nil {
			t.Fatal(err)
		}
	}
	list, _ := s.ReceivedFor(arn)
	if len(list) != MaxReceivedPerTask {
		t.Fatalf("%d records kept, want %d", len(list), MaxReceivedPerTask)
	}
	first, last := list[0], list[len(list)-1]
	if *first.Containers[0].ExitCode != 5 || *last.Containers[0].ExitCode != MaxReceivedPerTask+4 ||
		first.Operation != OpSubmitTaskStateChange || last.Status != "RUNNING" || last.Containers[0].RuntimeID != "d0" {
		t.Fatalf("oldest kept %+v, newest %+v", first, last)
	}
	for i := 1; i < len(list); i++ {
		if list[i].ReceivedAt.Before(list[i-1].ReceivedAt) {
			t.Fatalf("record %d received before record %d", i, i-1)
		}
	}
	if all := s.AllReceived(); len(all) != 1 || len(all[arn]) != MaxReceivedPerTask {
		t.Fatalf("all records: %d tasks", len(all))
	}
}
