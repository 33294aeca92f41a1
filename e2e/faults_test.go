package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// admin posts a fault to the control plane's admin API.
func admin(t *testing.T, base, path string, body any) map[string]any {
	t.Helper()
	raw, _ := json.Marshal(body)
	resp, err := http.Post(base+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %v", path, resp.StatusCode, out)
	}
	return out
}

// TestControlPlaneFaults runs the agent against a misbehaving control plane: failing
// SubmitTaskStateChange calls, withheld acks (payloads re-sent), and a dropped ACS
// socket. Every state change still arrives, no task is applied twice, and the agent
// reconnects.
func TestControlPlaneFaults(t *testing.T) {
	b := newBackend(t, "--payload-retry", "1s")
	c, env, cp, cpURL := b.ECS, b.Env, b.CP, b.URL
	ctx := context.Background()
	agent := startProc(t, "amazon-ecs-agent", binary(t, "amazon-ecs-agent"), env.vars())
	instance := waitInstance(t, c, env.Cluster, agent, cp)
	exitDef := registerTaskDefFile(t, c, sharedTestdata(t, "simple-exit.taskdef.json"))

	t.Run("state changes retried through server errors", func(t *testing.T) {
		admin(t, cpURL, "/admin/faults/fail", map[string]any{
			"operation": "SubmitTaskStateChange", "count": 4, "code": "ServerException", "status": 500})
		defer admin(t, cpURL, "/admin/faults/reset", map[string]any{})
		arn := runTask(t, c, env.Cluster, aws.ToString(exitDef.TaskDefinitionArn))
		task := waitTaskStatus(t, c, env.Cluster, arn, "STOPPED", time.Minute, agent, cp)
		if ec := task.Containers[0].ExitCode; ec == nil || *ec != 42 {
			t.Fatalf("exit code %v, want 42", ec)
		}
		// The four injected failures were all consumed by the agent's retries.
		resp, err := http.Get(cpURL + "/admin/faults")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var faults struct{ Failures []any }
		_ = json.NewDecoder(resp.Body).Decode(&faults)
		if len(faults.Failures) != 0 {
			t.Errorf("injected failures left unconsumed: %v", faults.Failures)
		}
	})

	t.Run("payload re-sent until acked is applied once", func(t *testing.T) {
		admin(t, cpURL, "/admin/faults/withhold-acks", map[string]any{"withhold": true})
		arn := runTask(t, c, env.Cluster, sleepTaskDef(t, c, "e2e-withheld"))
		waitTaskStatus(t, c, env.Cluster, arn, "RUNNING", time.Minute, agent, cp)
		time.Sleep(4 * time.Second) // several re-sends at --payload-retry 1s
		admin(t, cpURL, "/admin/faults/withhold-acks", map[string]any{"withhold": false})
		if cs := dockerTaskContainers(t, arn); len(cs) != 1 {
			t.Fatalf("re-sent payload created %d containers, want 1", len(cs))
		}
		if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: &env.Cluster, Task: &arn}); err != nil {
			t.Fatal(err)
		}
		waitTaskStatus(t, c, env.Cluster, arn, "STOPPED", time.Minute, agent, cp)
	})

	t.Run("dropped ACS socket reconnects", func(t *testing.T) {
		out := admin(t, cpURL, "/admin/acs/drop", map[string]any{"containerInstanceArn": instance})
		if out["dropped"] != true {
			t.Fatalf("drop answered %v", out)
		}
		waitFor(t, 30*time.Second, "the agent to reconnect", func() (bool, string) {
			resp, err := http.Get(cpURL + "/admin/acs/connections")
			if err != nil {
				return false, err.Error()
			}
			defer resp.Body.Close()
			var conns struct{ ContainerInstanceArns []string }
			_ = json.NewDecoder(resp.Body).Decode(&conns)
			return slices.Contains(conns.ContainerInstanceArns, instance), "not connected"
		})
		arn := runTask(t, c, env.Cluster, aws.ToString(exitDef.TaskDefinitionArn))
		waitTaskStatus(t, c, env.Cluster, arn, "STOPPED", time.Minute, agent, cp)
	})
}
