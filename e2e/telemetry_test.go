package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// adminMetrics is what the control plane's GET /admin/metrics?task= serves.
type adminMetrics struct {
	TaskArn    string `json:"taskArn"`
	Containers []struct {
		ContainerName string `json:"containerName"`
		CPUStatsSet   *struct {
			Min, Max, Sum float64
			SampleCount   int64 `json:"sampleCount"`
		} `json:"cpuStatsSet"`
		MemoryStatsSet *struct {
			Min, Max, Sum float64
			SampleCount   int64 `json:"sampleCount"`
		} `json:"memoryStatsSet"`
	} `json:"containers"`
}

// healthInterval is the task definitions' health check interval (ECS's minimum).
const healthInterval = 5 * time.Second

// TestTelemetry runs the all-in-one agent against the control plane with 5 s
// heartbeats (standing in for the 20 s default) and checks what TCS carries: a
// passing health check is HEALTHY in DescribeTasks within two health intervals, a
// failing one UNHEALTHY, the task's health follows its essential containers; the
// admin API shows each container's CPU and memory, the CPU moving when a container
// starts to burn it; and the one TCS socket lives through the whole test (longer
// than the agent's 1–2 min heartbeat timeout) without being recycled.
func TestTelemetry(t *testing.T) {
	b := newBackend(t, "--heartbeat", "5s")
	c, env, cp := b.ECS, b.Env, b.CP
	start := time.Now()
	// The logs of earlier runs of this test are in the same files: read past them.
	cpFrom := logSize(cp.log)
	agentFrom := logSize(filepath.Join(filepath.Dir(cp.log), "amazon-ecs-agent.log"))
	agent := startProc(t, "amazon-ecs-agent", binary(t, "amazon-ecs-agent"), env.vars())
	waitInstance(t, c, env.Cluster, agent, cp)

	check := func(cmd string) *types.HealthCheck {
		return &types.HealthCheck{Command: []string{"CMD-SHELL", cmd}, Interval: aws.Int32(int32(healthInterval / time.Second)),
			Timeout: aws.Int32(2), Retries: aws.Int32(1)}
	}
	sleeper := func(name string, essential bool, hc *types.HealthCheck, command ...string) types.ContainerDefinition {
		if len(command) == 0 {
			command = []string{"sleep", "3600"}
		}
		return types.ContainerDefinition{Name: aws.String(name), Image: aws.String(testImage), Memory: aws.Int32(32), Cpu: 10,
			Essential: aws.Bool(essential), Command: command, HealthCheck: hc, StopTimeout: aws.Int32(2)}
	}
	register := func(family string, cs ...types.ContainerDefinition) string {
		out, err := c.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{Family: aws.String(family), ContainerDefinitions: cs})
		if err != nil {
			t.Fatalf("RegisterTaskDefinition: %v", err)
		}
		return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	}
	// good: an essential container that passes, a non-essential one that fails (it
	// does not count), and one that holds a 6 MB string, idles 45 s and then burns a
	// CPU.
	good := runTask(t, c, env.Cluster, register("tcs-good",
		sleeper("ok", true, check("true")),
		sleeper("flaky", false, check("exit 1")),
		sleeper("burner", false, nil, "sh", "-c", `x=$(head -c 6000000 /dev/zero | tr '\0' a); sleep 45; while :; do :; done`)))
	// bad: an essential container that fails.
	bad := runTask(t, c, env.Cluster, register("tcs-bad", sleeper("sick", true, check("exit 1"))))

	health := func(task types.Task) map[string]string {
		m := map[string]string{"task": string(task.HealthStatus)}
		for _, ct := range task.Containers {
			m[aws.ToString(ct.Name)] = string(ct.HealthStatus)
		}
		return m
	}
	for _, tc := range []struct {
		arn       string
		container string
		want      map[string]string
	}{
		{good, "ok", map[string]string{"task": "HEALTHY", "ok": "HEALTHY", "flaky": "UNHEALTHY", "burner": "UNKNOWN"}},
		{bad, "sick", map[string]string{"task": "UNHEALTHY", "sick": "UNHEALTHY"}},
	} {
		waitTaskStatus(t, c, env.Cluster, tc.arn, "RUNNING", 90*time.Second, agent, cp)
		started := dockerStartedAt(t, tc.arn, tc.container)
		var got map[string]string
		waitFor(t, 60*time.Second, "health of "+tc.container, func() (bool, string) {
			got = health(describeTask(t, c, env.Cluster, tc.arn))
			return fmt.Sprint(got) == fmt.Sprint(tc.want), fmt.Sprint(got)
		})
		took := time.Since(started)
		t.Logf("%s: %v %s after the container started", tc.container, got, took.Round(100*time.Millisecond))
		// Within two health intervals of the start, with the 250 ms of waitFor's polling.
		if took > 2*healthInterval+500*time.Millisecond {
			t.Errorf("%s: health shown %s after the container started, more than two intervals", tc.container, took)
		}
	}

	// Metrics: every container of the running task, with memory; the burner's CPU
	// near zero while it sleeps, then high once it burns.
	metricsURL := b.URL + "/admin/metrics?task=" + url.QueryEscape(good)
	burnerCPU := func() (avg float64, mem float64, ok bool, all string) {
		var m adminMetrics
		if code := getJSON(t, metricsURL, &m); code != 200 {
			return 0, 0, false, fmt.Sprintf("HTTP %d", code)
		}
		var names []string
		for _, ct := range m.Containers {
			names = append(names, ct.ContainerName)
			if ct.ContainerName == "burner" && ct.CPUStatsSet != nil && ct.CPUStatsSet.SampleCount > 0 && ct.MemoryStatsSet != nil {
				avg, mem, ok = ct.CPUStatsSet.Sum/float64(ct.CPUStatsSet.SampleCount), ct.MemoryStatsSet.Max, true
			}
		}
		return avg, mem, ok && len(m.Containers) == 3, strings.Join(names, ",")
	}
	var idle float64
	waitFor(t, 60*time.Second, "metrics of the three containers, the burner idle", func() (bool, string) {
		avg, _, ok, all := burnerCPU()
		idle = avg
		return ok && avg < 2, fmt.Sprintf("containers %s, burner CPU %.2f%%", all, avg)
	})
	t.Logf("burner idle: %.2f%% CPU", idle)
	var busy, mem float64
	waitFor(t, 120*time.Second, "the burner's CPU to rise", func() (bool, string) {
		var ok bool
		busy, mem, ok, _ = burnerCPU()
		return ok && busy > 10, fmt.Sprintf("burner CPU %.2f%%", busy)
	})
	t.Logf("burner busy: %.2f%% of the instance's CPU, memory max %.0f MiB", busy, mem)
	if mem < 5 {
		t.Errorf("the burner's memory is %.0f MiB, want at least its 6 MB string", mem)
	}

	// One TCS socket all along, past the agent's longest heartbeat timeout
	// (1 min + up to 1 min): never recycled for a missing heartbeat.
	if wait := 125*time.Second - time.Since(start); wait > 0 {
		time.Sleep(wait)
	}
	held := time.Since(start)
	logData, err := os.ReadFile(cp.log)
	if err != nil {
		t.Fatal(err)
	}
	logData = logData[cpFrom:]
	if n := strings.Count(string(logData), "TCS connected"); n != 1 {
		t.Errorf("%d TCS connections in %s, want 1", n, held.Round(time.Second))
	}
	if strings.Contains(string(logData), "TCS disconnected") {
		t.Errorf("the TCS socket was closed during the test")
	}
	if agentLog, err := os.ReadFile(agent.log); err != nil || strings.Contains(string(agentLog[agentFrom:]), "no heartbeat from TCS") {
		t.Errorf("the agent timed the TCS socket out (log read: %v)", err)
	}
	t.Logf("one TCS socket held for %s with 5 s heartbeats", held.Round(time.Second))
}

// logSize is the size of a log file, 0 when it does not exist yet.
func logSize(path string) int64 {
	if st, err := os.Stat(path); err == nil {
		return st.Size()
	}
	return 0
}

// dockerStartedAt is when Docker started a task's container.
func dockerStartedAt(t *testing.T, taskArn, name string) time.Time {
	t.Helper()
	for _, ct := range dockerTaskContainers(t, taskArn) {
		if ct.Labels["com.amazonaws.ecs.container-name"] != name {
			continue
		}
		out, err := exec.Command("docker", "inspect", "--format", "{{.State.StartedAt}}", ct.ID).Output()
		if err != nil {
			t.Fatalf("docker inspect: %v", err)
		}
		at, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	t.Fatalf("no container %s of task %s", name, taskArn)
	return time.Time{}
}
