package controlplane_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-agent/ecs-agent/controlplane"
)

type receivedOut struct {
	Operation  string    `json:"operation"`
	ReceivedAt time.Time `json:"receivedAt"`
	Status     string    `json:"status"`
	Reason     string    `json:"reason"`
	Containers []struct {
		ContainerName string `json:"containerName"`
		Status        string `json:"status"`
		ExitCode      *int64 `json:"exitCode"`
		RuntimeID     string `json:"runtimeId"`
	} `json:"containers"`
}

func getJSON(t *testing.T, u string, v any) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp.StatusCode
}

// GET /admin/reports shows every accepted state change of a task in arrival order.
func TestAdminReports(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	e.createCluster(t, "c")
	e.registerInstance(t, "c", 2048, 2000)
	task := aws.ToString(e.runTask(t, "c", e.registerTaskDef(t, simpleDef("x", 1, 10, 0))).TaskArn)

	submit(t, e, "c", task, "RUNNING", types.ContainerStateChange{ContainerName: aws.String("main"), Status: aws.String("RUNNING"), RuntimeId: aws.String("d0c")})
	if _, err := e.ecs.SubmitContainerStateChange(ctx(t), &ecs.SubmitContainerStateChangeInput{
		Cluster: aws.String("c"), Task: aws.String(task), ContainerName: aws.String("main"), Status: aws.String("STOPPED"), ExitCode: aws.Int32(42),
	}); err != nil {
		t.Fatal(err)
	}
	submit(t, e, "c", task, "STOPPED")
	submit(t, e, "c", task, "STOPPED") // a resend is recorded too

	var one struct {
		TaskArn string        `json:"taskArn"`
		Reports []receivedOut `json:"reports"`
	}
	if code := getJSON(t, e.ts.URL+"/admin/reports?task="+url.QueryEscape(task), &one); code != http.StatusOK || one.TaskArn != task {
		t.Fatalf("GET one: %d %+v", code, one)
	}
	want := []struct{ op, status, container, cstatus string }{
		{"SubmitTaskStateChange", "RUNNING", "main", "RUNNING"},
		{"SubmitContainerStateChange", "", "main", "STOPPED"},
		{"SubmitTaskStateChange", "STOPPED", "", ""},
		{"SubmitTaskStateChange", "STOPPED", "", ""},
	}
	if len(one.Reports) != len(want) {
		t.Fatalf("%d reports, want %d: %+v", len(one.Reports), len(want), one.Reports)
	}
	for i, w := range want {
		r := one.Reports[i]
		if r.Operation != w.op || r.Status != w.status || r.ReceivedAt.IsZero() {
			t.Errorf("report %d = %+v, want %+v", i, r, w)
		}
		if w.container != "" && (len(r.Containers) != 1 || r.Containers[0].ContainerName != w.container || r.Containers[0].Status != w.cstatus) {
			t.Errorf("report %d containers = %+v", i, r.Containers)
		}
	}
	if c := one.Reports[0].Containers[0]; c.RuntimeID != "d0c" {
		t.Errorf("runtimeId = %q", c.RuntimeID)
	}
	if c := one.Reports[1].Containers[0]; c.ExitCode == nil || *c.ExitCode != 42 {
		t.Errorf("exitCode = %v", c.ExitCode)
	}

	var all struct {
		Reports map[string][]receivedOut `json:"reports"`
	}
	if code := getJSON(t, e.ts.URL+"/admin/reports", &all); code != http.StatusOK || len(all.Reports) != 1 || len(all.Reports[task]) != 4 {
		t.Fatalf("GET all: %d %+v", code, all)
	}
	var missing map[string]string
	if code := getJSON(t, e.ts.URL+"/admin/reports?task=arn:aws:ecs:us-west-2:123456789012:task/c/nope", &missing); code != http.StatusNotFound {
		t.Fatalf("unknown task: %d %v", code, missing)
	}
}
