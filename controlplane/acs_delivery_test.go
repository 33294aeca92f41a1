package controlplane_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/controlplane"
)

func (a *agentConn) manifest(within time.Duration) acs.TaskManifestMessage {
	a.t.Helper()
	var m acs.TaskManifestMessage
	if err := json.Unmarshal(a.next(acs.TypeTaskManifestMessage, within), &m); err != nil {
		a.t.Fatal(err)
	}
	return m
}

// payloadOtherThan waits for a payload whose messageId is not id, skipping re-sends of id.
func (a *agentConn) payloadOtherThan(id string, within time.Duration) acs.PayloadMessage {
	a.t.Helper()
	deadline := time.Now().Add(within)
	for {
		p := a.payload(time.Until(deadline))
		if p.MessageID != id {
			return p
		}
	}
}

// skipResends lets re-sends of payload id through for d (the retry that notices a change
// may come after one more re-send) and fails on any other payload.
func (a *agentConn) skipResends(id string, d time.Duration) {
	a.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case env, ok := <-a.frames:
			if !ok {
				return
			}
			if env.Type != acs.TypePayloadMessage {
				continue
			}
			var p acs.PayloadMessage
			if err := json.Unmarshal(env.Message, &p); err != nil || p.MessageID != id {
				a.t.Fatalf("unexpected payload: %s", env.Message)
			}
		case <-timeout:
			return
		}
	}
}

func taskArns(ts []acs.Task) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.Arn+"="+t.DesiredStatus)
	}
	return out
}

// An agent that cannot load a task reports it STOPPED and never acks the payload; the
// task is then no longer owed, and the next task placed on the instance still reaches it.
func TestACSUnloadableTaskDoesNotJamDelivery(t *testing.T) {
	e := newEnv(t, controlplane.Config{PayloadRetryInterval: 100 * time.Millisecond})
	e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 2000)
	def := e.registerTaskDef(t, simpleDef("x", 1, 10, 0))
	a := dialACS(t, e, "c", inst)

	bad := e.runTask(t, "c", def)
	first := a.payload(5 * time.Second)
	submit(t, e, "c", aws.ToString(bad.TaskArn), "STOPPED") // UnrecogniedTaskError, no ack
	// The in-flight payload is dropped at its next retry: nothing is owed any more.
	a.skipResends(first.MessageID, 300*time.Millisecond)
	a.quiet(400 * time.Millisecond)

	good := e.runTask(t, "c", def)
	next := a.payload(5 * time.Second)
	if next.MessageID == first.MessageID || next.SeqNum <= first.SeqNum || len(next.Tasks) != 1 || next.Tasks[0].Arn != aws.ToString(good.TaskArn) {
		t.Fatalf("payload after an unloadable task: %s/%d %v (first %s/%d)", next.MessageID, next.SeqNum, taskArns(next.Tasks), first.MessageID, first.SeqNum)
	}
	a.ack(next)
	a.quiet(400 * time.Millisecond)
}

// A payload in flight while the owed set changes is replaced by one carrying what is
// owed now; a late ack of the replaced message delivers nothing.
func TestACSPayloadReplacedWhenOwedChanges(t *testing.T) {
	e := newEnv(t, controlplane.Config{PayloadRetryInterval: 150 * time.Millisecond})
	e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 2000)
	def := e.registerTaskDef(t, simpleDef("x", 1, 10, 0))
	a := dialACS(t, e, "c", inst)

	t1 := e.runTask(t, "c", def)
	first := a.payload(5 * time.Second)
	t2 := e.runTask(t, "c", def)
	second := a.payloadOtherThan(first.MessageID, 5*time.Second)
	want := []string{aws.ToString(t1.TaskArn) + "=RUNNING", aws.ToString(t2.TaskArn) + "=RUNNING"}
	if second.MessageID == first.MessageID || second.SeqNum <= first.SeqNum || len(second.Tasks) != 2 ||
		taskArns(second.Tasks)[0] != want[0] || taskArns(second.Tasks)[1] != want[1] {
		t.Fatalf("replacement %s/%d %v, first %s/%d", second.MessageID, second.SeqNum, taskArns(second.Tasks), first.MessageID, first.SeqNum)
	}

	a.ack(first) // late: ignored, so the replacement is still in flight and re-sent as it is
	again := a.payload(5 * time.Second)
	if again.MessageID != second.MessageID || again.SeqNum != second.SeqNum {
		t.Fatalf("after a late ack of the replaced payload: %s/%d, want a re-send of %s/%d", again.MessageID, again.SeqNum, second.MessageID, second.SeqNum)
	}
	a.ack(again)
	a.quiet(400 * time.Millisecond)

	// An owed set that has not changed gets the same message again.
	if _, err := e.ecs.StopTask(ctx(t), &ecs.StopTaskInput{Cluster: aws.String("c"), Task: t1.TaskArn}); err != nil {
		t.Fatal(err)
	}
	stop := a.payload(5 * time.Second)
	if got := taskArns(stop.Tasks); len(got) != 1 || got[0] != aws.ToString(t1.TaskArn)+"=STOPPED" {
		t.Fatalf("stop payload %v", got)
	}
	if again := a.payload(5 * time.Second); again.MessageID != stop.MessageID {
		t.Fatalf("unchanged owed set: %s, want a re-send of %s", again.MessageID, stop.MessageID)
	}
	// Reported STOPPED meanwhile: the stop is no longer owed, nothing more is sent.
	submit(t, e, "c", aws.ToString(t1.TaskArn), "STOPPED")
	a.skipResends(stop.MessageID, 300*time.Millisecond)
	a.quiet(500 * time.Millisecond)
}

// Every connect gets a manifest after the owed payload, and the interval brings more;
// timelines exceed every seqNum and timeline sent before, from one counter.
func TestACSManifest(t *testing.T) {
	e := newEnv(t, controlplane.Config{ManifestInterval: 200 * time.Millisecond})
	clusterArn := e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 2000)
	def := e.registerTaskDef(t, simpleDef("x", 1, 10, 0))
	keep := e.runTask(t, "c", def)
	stopping := e.runTask(t, "c", def)
	never := e.runTask(t, "c", def)
	// Stopped before it was ever sent: STOPPED at once, in no manifest.
	if _, err := e.ecs.StopTask(ctx(t), &ecs.StopTaskInput{Cluster: aws.String("c"), Task: never.TaskArn}); err != nil {
		t.Fatal(err)
	}

	a := dialACS(t, e, "c", inst)
	p := a.payload(5 * time.Second)
	m := a.manifest(5 * time.Second)
	if m.ClusterArn != clusterArn || m.ContainerInstanceArn != inst || m.MessageID == "" || m.GeneratedAt == 0 || m.Timeline <= p.SeqNum {
		t.Fatalf("manifest header %+v after payload seqNum %d", m, p.SeqNum)
	}
	wantTasks := func(m acs.TaskManifestMessage, want ...string) {
		t.Helper()
		got := []string{}
		for _, ti := range m.Tasks {
			if ti.TaskClusterArn != clusterArn {
				t.Errorf("task %s: taskClusterArn %q", ti.TaskArn, ti.TaskClusterArn)
			}
			got = append(got, ti.TaskArn+"="+ti.DesiredStatus)
		}
		if len(got) != len(want) || (len(got) > 0 && (got[0] != want[0] || got[len(got)-1] != want[len(want)-1])) {
			t.Fatalf("manifest tasks %v, want %v", got, want)
		}
	}
	wantTasks(m, aws.ToString(keep.TaskArn)+"=RUNNING", aws.ToString(stopping.TaskArn)+"=RUNNING")

	// The manifest's ack is accepted but does not deliver the payload in flight.
	a.send(acs.TypeAckRequest, acs.AckRequest{Cluster: m.ClusterArn, ContainerInstance: m.ContainerInstanceArn, MessageID: m.MessageID})
	if again := a.payload(5 * time.Second); again.MessageID != p.MessageID {
		t.Fatalf("after the manifest's ack: payload %s, want a re-send of %s", again.MessageID, p.MessageID)
	}
	a.ack(p)

	if _, err := e.ecs.StopTask(ctx(t), &ecs.StopTaskInput{Cluster: aws.String("c"), Task: stopping.TaskArn}); err != nil {
		t.Fatal(err)
	}
	stop := a.payload(5 * time.Second)
	later := a.manifest(5 * time.Second)
	if later.Timeline <= stop.SeqNum || later.Timeline <= m.Timeline || later.MessageID == m.MessageID {
		t.Fatalf("later manifest %s timeline %d, stop seqNum %d, first timeline %d", later.MessageID, later.Timeline, stop.SeqNum, m.Timeline)
	}
	wantTasks(later, aws.ToString(keep.TaskArn)+"=RUNNING", aws.ToString(stopping.TaskArn)+"=STOPPED")
	a.ack(stop)

	// Reported STOPPED, a task leaves the manifest.
	submit(t, e, "c", aws.ToString(stopping.TaskArn), "STOPPED")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if m := a.manifest(5 * time.Second); len(m.Tasks) == 1 {
			wantTasks(m, aws.ToString(keep.TaskArn)+"=RUNNING")
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stopped task stays in the manifest")
		}
	}

	// A new connection gets a manifest at once, even with nothing owed, and the snapshot
	// of the counter keeps its timeline above the earlier ones.
	a.ws.Close()
	b := dialACS(t, e, "c", inst)
	if m2 := b.manifest(time.Second); m2.Timeline <= later.Timeline {
		t.Fatalf("manifest on reconnect: timeline %d, earlier %d", m2.Timeline, later.Timeline)
	}
}

// A stop verification is answered with the candidates the control plane does not want
// running on the instance.
func TestACSStopVerification(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	clusterArn := e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 2000)
	other := e.registerInstance(t, "c", 2048, 2000)
	def := e.registerTaskDef(t, simpleDef("x", 1, 10, 0))
	start := func(instance string) string {
		t.Helper()
		out, err := e.ecs.StartTask(ctx(t), &ecs.StartTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String(def), ContainerInstances: []string{instance}})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("StartTask: %v %+v", err, out)
		}
		return aws.ToString(out.Tasks[0].TaskArn)
	}
	wanted, stopped, elsewhere := start(inst), start(inst), start(other)
	unknown := "arn:aws:ecs:us-west-2:123456789012:task/c/00000000000000000000000000000000"
	a := dialACS(t, e, "c", inst)
	a.ack(a.payload(5 * time.Second))
	if _, err := e.ecs.StopTask(ctx(t), &ecs.StopTaskInput{Cluster: aws.String("c"), Task: aws.String(stopped)}); err != nil {
		t.Fatal(err)
	}

	m := a.manifest(5 * time.Second)
	candidates := []acs.TaskIdentifier{}
	for _, arn := range []string{wanted, stopped, elsewhere, unknown} {
		candidates = append(candidates, acs.TaskIdentifier{TaskArn: arn, TaskClusterArn: clusterArn, DesiredStatus: "STOPPED"})
	}
	a.send(acs.TypeTaskStopVerificationMsg, acs.TaskStopVerificationMessage{MessageID: m.MessageID, StopCandidates: candidates})
	var ack acs.TaskStopVerificationAck
	if err := json.Unmarshal(a.next(acs.TypeTaskStopVerificationAck, 5*time.Second), &ack); err != nil {
		t.Fatal(err)
	}
	if ack.MessageID != m.MessageID || ack.GeneratedAt == 0 {
		t.Fatalf("ack header %+v, want messageId %s", ack, m.MessageID)
	}
	got := map[string]string{}
	for _, ti := range ack.StopTasks {
		got[ti.TaskArn] = ti.DesiredStatus
	}
	want := map[string]string{stopped: "STOPPED", elsewhere: "STOPPED", unknown: "STOPPED"}
	if len(got) != len(want) || got[stopped] != "STOPPED" || got[elsewhere] != "STOPPED" || got[unknown] != "STOPPED" {
		t.Fatalf("stopTasks %v, want %v (not %s)", got, want, wanted)
	}
}
