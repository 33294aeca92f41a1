package session

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/micro"

	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/bus"
)

// putRecord stores a task record as the scheduler would.
func (h *harness) putRecord(arn string, desired bus.Status) {
	h.t.Helper()
	kv, err := h.js.KeyValue(context.Background(), bus.BucketTasks)
	if err != nil {
		h.t.Fatal(err)
	}
	rec := bus.TaskRecord{Type: bus.TypeTaskRecord, Spec: bus.TaskSpec{Arn: arn}, DesiredStatus: desired, KnownStatus: bus.StatusRunning}
	if err := bus.PutJSON(context.Background(), kv, bus.TaskKey(arn), rec); err != nil {
		h.t.Fatal(err)
	}
}

// nextOf reads frames until one of type typ.
func nextOf(t *testing.T, sock *fakeSocket, typ string, within time.Duration) (json.RawMessage, bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		got, raw, err := sock.readFrame(t, time.Until(deadline))
		if err != nil {
			return nil, false
		}
		if got == typ {
			return raw, true
		}
	}
	return nil, false
}

func TestManifestStopVerification(t *testing.T) {
	h := newHarness(t, "test")
	wanted := "arn:aws:ecs:us-west-2:123456789012:task/test/wanted"
	unwanted := "arn:aws:ecs:us-west-2:123456789012:task/test/unwanted"
	stopping := "arn:aws:ecs:us-west-2:123456789012:task/test/stopping"
	h.putRecord(wanted, bus.StatusRunning)
	h.putRecord(unwanted, bus.StatusRunning)
	h.putRecord(stopping, bus.StatusStopped)
	h.start()
	sock := h.cp.next(t, 10*time.Second)

	manifest := acs.TaskManifestMessage{ClusterArn: testClusterArn, ContainerInstanceArn: testInstanceArn, MessageID: "man-1",
		Timeline: 5, Tasks: []acs.TaskIdentifier{{TaskArn: wanted, DesiredStatus: "RUNNING"}}}
	sock.send(t, acs.TypeTaskManifestMessage, manifest)
	ack, err := nextAck(t, sock, 5*time.Second)
	if err != nil || ack.MessageID != "man-1" {
		t.Fatalf("manifest ack %+v, %v", ack, err)
	}
	raw, ok := nextOf(t, sock, acs.TypeTaskStopVerificationMsg, 5*time.Second)
	if !ok {
		t.Fatal("no TaskStopVerificationMessage")
	}
	var v acs.TaskStopVerificationMessage
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if v.MessageID != "man-1" || len(v.StopCandidates) != 1 || v.StopCandidates[0].TaskArn != unwanted ||
		v.StopCandidates[0].DesiredStatus != "STOPPED" || v.StopCandidates[0].TaskClusterArn != testClusterArn {
		t.Fatalf("stop verification %+v, want only %s", v, unwanted)
	}

	// An ack that names another manifest is not honoured.
	sock.send(t, acs.TypeTaskStopVerificationAck, acs.TaskStopVerificationAck{MessageID: "man-0", StopTasks: []acs.TaskIdentifier{{TaskArn: wanted}}})
	sock.send(t, acs.TypeTaskStopVerificationAck, acs.TaskStopVerificationAck{MessageID: "man-1", StopTasks: v.StopCandidates})
	deadline := time.Now().Add(5 * time.Second)
	for {
		dt, id, err := h.desired(unwanted)
		if err == nil {
			if dt.Task.DesiredStatus != bus.StatusStopped || id != unwanted+"/STOPPED" {
				t.Fatalf("stored %+v as %s", dt, id)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the verified stop was not stored")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, _, err := h.desired(wanted); err == nil {
		t.Fatal("the ack of another manifest stopped a wanted task")
	}

	// A manifest no newer than what was seen is dropped without an ack.
	sock.send(t, acs.TypeTaskManifestMessage, acs.TaskManifestMessage{ClusterArn: testClusterArn,
		ContainerInstanceArn: testInstanceArn, MessageID: "man-old", Timeline: 5})
	sock.send(t, acs.TypeTaskManifestMessage, acs.TaskManifestMessage{ClusterArn: testClusterArn,
		ContainerInstanceArn: testInstanceArn, MessageID: "man-2", Timeline: 6,
		Tasks: []acs.TaskIdentifier{{TaskArn: wanted, DesiredStatus: "RUNNING"}, {TaskArn: unwanted, DesiredStatus: "RUNNING"}}})
	if ack, err := nextAck(t, sock, 5*time.Second); err != nil || ack.MessageID != "man-2" {
		t.Fatalf("after an old manifest the next ack is %+v (%v), want man-2", ack, err)
	}
}

// With no stored registration, a session finds the instance its cluster's containers
// belong to (the store was lost under running tasks) and registers as it again.
func TestLostStoreRegistersAsTheContainersInstance(t *testing.T) {
	const lost = "arn:aws:ecs:us-west-2:123456789012:container-instance/test/lost"
	h := newHarness(t, "test")
	h.cfg.Timers.DiscoverWait = 10 * time.Second
	nc := h.bus.ConnAs(t, bus.UserDockerexec, "dockerexec")
	svc, err := micro.AddService(nc, micro.Config{Name: bus.DockerService, Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Stop()
	var asked bus.ListRequest
	err = svc.AddEndpoint("list", micro.HandlerFunc(func(r micro.Request) {
		_ = json.Unmarshal(r.Data(), &asked)
		_ = r.RespondJSON(bus.ListReply{Containers: []bus.ContainerState{
			{DockerID: "a", TaskArn: "t1", Labels: map[string]string{bus.LabelContainerInstanceARN: lost, bus.LabelCluster: "test"}},
			{DockerID: "b", TaskArn: "t2", Labels: map[string]string{bus.LabelContainerInstanceARN: lost, bus.LabelCluster: "test"}},
		}})
	}), micro.WithEndpointSubject(bus.SubjectDockerList))
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	h.start()
	h.cp.next(t, 10*time.Second)
	req := h.register(0)
	if got, _ := req["containerInstanceArn"].(string); got != lost {
		t.Fatalf("registered with containerInstanceArn %q, want %q", got, lost)
	}
	if asked.Cluster != "test" {
		t.Errorf("listed cluster %q", asked.Cluster)
	}
	if reg := h.registration(); reg.ContainerInstanceArn == "" {
		t.Fatal("no registration stored")
	}
}
