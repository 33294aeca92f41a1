package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecs-agent/ecs-agent/bus"
)

// TestEventsShowATasksWholeLife follows the five processes' bus with
// `amazon-ecs-agent events --json` while simple-exit runs, and finds the task's whole
// life in it, in order.
func TestEventsShowATasksWholeLife(t *testing.T) {
	b := newBackend(t)
	vars := b.Env.vars()
	var all []*proc
	for _, name := range []string{"ecs-bus", "ecs-dockerexec", "ecs-scheduler", "ecs-reporter", "ecs-session"} {
		all = append(all, startProc(t, name, binary(t, name), vars))
		if name == "ecs-bus" {
			waitFor(t, 30*time.Second, "the bus's viewer password", func() (bool, string) {
				_, err := os.Stat(bus.CredentialFile(b.Env.DataDir, bus.UserViewer))
				return err == nil, ""
			})
		}
	}
	events := startProc(t, "events", binary(t, "amazon-ecs-agent"), vars, "events", "--json")
	all = append(all, b.CP)
	waitInstance(t, b.ECS, b.Env.Cluster, all...)

	td := registerTaskDefFile(t, b.ECS, sharedTestdata(t, "simple-exit.taskdef.json"))
	arn := runTask(t, b.ECS, b.Env.Cluster, aws.ToString(td.TaskDefinitionArn))
	waitTaskStatus(t, b.ECS, b.Env.Cluster, arn, "STOPPED", 90*time.Second, all...)
	id := bus.TaskID(arn)

	// The whole life, in order: what the control plane wanted, the container's
	// steps, the task's transitions and the reports sent back.
	want := []string{
		"desired RUNNING", "container PULLED", "container CREATED", "container RUNNING", "task RUNNING",
		"docker STOPPED", "container STOPPED", "task STOPPED",
	}
	// The reports, in their own order (a report and the record that made it are
	// published together, in no fixed order).
	reports := []string{"desired RUNNING", "docker RUNNING", "report RUNNING", "docker STOPPED", "report STOPPED"}
	var got []string
	waitFor(t, 15*time.Second, "the events of the task", func() (bool, string) {
		got = nil
		f, err := os.Open(events.log)
		if err != nil {
			return false, err.Error()
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var e struct{ Kind, Task, Status, Detail string }
			if json.Unmarshal(sc.Bytes(), &e) != nil || e.Task != id {
				continue
			}
			got = append(got, e.Kind+" "+e.Status)
		}
		return inOrder(got, want) && inOrder(got, reports), strings.Join(got, ", ")
	})
	t.Logf("events of %s: %s", id, strings.Join(got, ", "))
}

// inOrder reports whether want appears in got as a subsequence.
func inOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}
