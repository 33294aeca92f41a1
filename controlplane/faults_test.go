package controlplane_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-agent/ecs-agent/controlplane"
	"github.com/ecs-agent/ecs-agent/controlplane/fault"
)

func TestFailNext(t *testing.T) {
	tests := []struct {
		code   string
		status int
	}{
		{"ThrottlingException", 400},
		{"ServerException", 500},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			e := newEnv(t, controlplane.Config{})
			e.srv.FailNext("ListClusters", 2, tc.code, tc.status)
			for i := 0; i < 2; i++ {
				_, err := e.ecs.ListClusters(ctx(t), &ecs.ListClustersInput{})
				if apiCode(err) != tc.code {
					t.Fatalf("call %d: %v", i, err)
				}
				var re interface{ HTTPStatusCode() int }
				if !asStatus(err, &re) || re.HTTPStatusCode() != tc.status {
					t.Fatalf("call %d: status of %v", i, err)
				}
			}
			if _, err := e.ecs.ListClusters(ctx(t), &ecs.ListClustersInput{}); err != nil {
				t.Fatalf("third call: %v", err)
			}
			// Other operations were never affected.
			e.srv.FailNext("RunTask", 1, tc.code, tc.status)
			if _, err := e.ecs.ListClusters(ctx(t), &ecs.ListClustersInput{}); err != nil {
				t.Fatalf("unrelated call: %v", err)
			}
		})
	}
}

func TestDelayOperation(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	e.srv.DelayOperation("ListClusters", 300*time.Millisecond, "")
	start := time.Now()
	if _, err := e.ecs.ListClusters(ctx(t), &ecs.ListClustersInput{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("answered after %s", d)
	}
	e.srv.DelayOperation("ListClusters", 0, "")
	start = time.Now()
	if _, err := e.ecs.ListClusters(ctx(t), &ecs.ListClustersInput{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d >= 300*time.Millisecond {
		t.Fatalf("still delayed: %s", d)
	}
}

// A delay "before" drops the call of a client that gives up; "after" applies it and holds
// only the answer. Both ways of setting it, in-process and admin API, are checked.
func TestDelayPhase(t *testing.T) {
	const delay = 400 * time.Millisecond
	tests := []struct {
		phase   fault.Phase
		admin   bool
		applied bool // whether the abandoned CreateCluster took effect
	}{
		{fault.PhaseBefore, false, false},
		{fault.PhaseBefore, true, false},
		{"", true, false},
		{fault.PhaseAfter, false, true},
		{fault.PhaseAfter, true, true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q admin=%v", tc.phase, tc.admin), func(t *testing.T) {
			t.Parallel() // each case has its own server; most of the time is waiting
			e := newEnv(t, controlplane.Config{})
			if tc.admin {
				raw, _ := json.Marshal(map[string]any{"operation": "CreateCluster", "delayMillis": delay.Milliseconds(), "phase": tc.phase})
				resp, err := http.Post(e.ts.URL+"/admin/faults/delay", "application/json", bytes.NewReader(raw))
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("POST delay: %v %v", err, resp)
				}
				resp.Body.Close()
			} else if err := e.srv.DelayOperation("CreateCluster", delay, tc.phase); err != nil {
				t.Fatal(err)
			}
			// A client that waits gets its answer after the delay, whatever the phase.
			start := time.Now()
			if _, err := e.ecs.CreateCluster(ctx(t), &ecs.CreateClusterInput{ClusterName: aws.String("patient")}); err != nil || time.Since(start) < delay {
				t.Fatalf("patient client: %v after %s", err, time.Since(start))
			}
			// One that gives up first.
			short, cancel := context.WithTimeout(ctx(t), 100*time.Millisecond)
			defer cancel()
			if _, err := e.ecs.CreateCluster(short, &ecs.CreateClusterInput{ClusterName: aws.String("impatient")}); err == nil {
				t.Fatal("the impatient client got an answer within its timeout")
			}
			time.Sleep(delay + 200*time.Millisecond) // past the point where a held call would go on
			if err := e.srv.DelayOperation("CreateCluster", 0, ""); err != nil {
				t.Fatal(err)
			}
			out, err := e.ecs.DescribeClusters(ctx(t), &ecs.DescribeClustersInput{Clusters: []string{"impatient"}})
			if err != nil {
				t.Fatal(err)
			}
			if applied := len(out.Clusters) == 1 && aws.ToString(out.Clusters[0].Status) == "ACTIVE"; applied != tc.applied {
				t.Fatalf("abandoned CreateCluster applied = %v, want %v", applied, tc.applied)
			}
		})
	}
	e := newEnv(t, controlplane.Config{})
	if err := e.srv.DelayOperation("CreateCluster", delay, "during"); !errors.Is(err, fault.ErrPhase) {
		t.Fatalf("unknown phase: %v", err)
	}
	resp, err := http.Post(e.ts.URL+"/admin/faults/delay", "application/json", strings.NewReader(`{"operation":"*","delayMillis":1,"phase":"during"}`))
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("POST an unknown phase: %v %v", err, resp)
	}
	resp.Body.Close()
}

func TestWithholdAcks(t *testing.T) {
	e := newEnv(t, controlplane.Config{PayloadRetryInterval: 100 * time.Millisecond})
	e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 2000)
	a := dialACS(t, e, "c", inst)
	e.srv.WithholdAcks(true)
	e.runTask(t, "c", e.registerTaskDef(t, simpleDef("x", 1, 10, 0)))
	p := a.payload(5 * time.Second)
	a.ack(p)
	if again := a.payload(5 * time.Second); again.MessageID != p.MessageID {
		t.Fatalf("withheld ack: got %s, want re-send of %s", again.MessageID, p.MessageID)
	}
	e.srv.WithholdAcks(false)
	a.ack(p)
	a.quiet(400 * time.Millisecond)
}

func TestDropACS(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 2000)
	a := dialACS(t, e, "c", inst)
	waitConnected(t, e, "c", inst, true)
	if !e.srv.DropACS(inst) {
		t.Fatal("DropACS found no socket")
	}
	a.closed(5 * time.Second)
	waitConnected(t, e, "c", inst, false)
	if e.srv.DropACS(inst) {
		t.Fatal("DropACS of a closed socket reported a drop")
	}
	// The agent reconnects and is served again.
	dialACS(t, e, "c", inst)
	waitConnected(t, e, "c", inst, true)
}

func TestAdminAPI(t *testing.T) {
	e := newEnv(t, controlplane.Config{PayloadRetryInterval: 100 * time.Millisecond})
	post := func(path string, body any) map[string]any {
		t.Helper()
		raw, _ := json.Marshal(body)
		resp, err := http.Post(e.ts.URL+path, "application/json", bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %d %v", path, resp.StatusCode, out)
		}
		return out
	}
	post("/admin/faults/fail", map[string]any{"operation": "CreateCluster", "count": 1, "code": "ThrottlingException", "status": 400, "message": "Rate exceeded"})
	_, err := e.ecs.CreateCluster(ctx(t), &ecs.CreateClusterInput{ClusterName: aws.String("c")})
	if apiCode(err) != "ThrottlingException" || apiMessage(err) != "Rate exceeded" {
		t.Fatalf("injected failure: %v", err)
	}
	e.createCluster(t, "c")

	post("/admin/faults/delay", map[string]any{"operation": "DescribeClusters", "delayMillis": 200})
	start := time.Now()
	if _, err := e.ecs.DescribeClusters(ctx(t), &ecs.DescribeClustersInput{}); err != nil || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("delayed call: %v after %s", err, time.Since(start))
	}
	state := post("/admin/faults/reset", map[string]any{})
	if state["withholdAcks"] != false || len(state["failures"].([]any)) != 0 {
		t.Fatalf("after reset: %v", state)
	}

	inst := e.registerInstance(t, "c", 2048, 2000)
	a := dialACS(t, e, "c", inst)
	post("/admin/faults/withhold-acks", map[string]any{"withhold": true})
	e.runTask(t, "c", e.registerTaskDef(t, simpleDef("x", 1, 10, 0)))
	p := a.payload(5 * time.Second)
	a.ack(p)
	if again := a.payload(5 * time.Second); again.MessageID != p.MessageID {
		t.Fatal("ack was not withheld")
	}
	post("/admin/faults/withhold-acks", map[string]any{"withhold": false})
	a.ack(p)

	waitConnected(t, e, "c", inst, true)
	if out := post("/admin/acs/drop", map[string]any{"containerInstanceArn": inst}); out["dropped"] != true {
		t.Fatalf("drop = %v", out)
	}
	a.closed(5 * time.Second)
}
