package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	busmetrics "github.com/ecs-agent/ecs-agent/bus/metrics"
)

// TestMetricsOfEveryProcess runs the five processes separately, scrapes each one's
// /metrics as a Prometheus server would (parsed with expfmt), runs a task to RUNNING
// and to STOPPED, and checks that each metric of each process moved.
func TestMetricsOfEveryProcess(t *testing.T) {
	b := newBackend(t)
	c, env, cp := b.ECS, b.Env, b.CP
	vars := env.vars()
	procs := []*proc{
		startProc(t, "ecs-bus", binary(t, "ecs-bus"), vars),
		startProc(t, "ecs-dockerexec", binary(t, "ecs-dockerexec"), vars),
		startProc(t, "ecs-scheduler", binary(t, "ecs-scheduler"), vars),
		startProc(t, "ecs-reporter", binary(t, "ecs-reporter"), vars),
		startProc(t, "ecs-session", binary(t, "ecs-session"), vars),
		cp,
	}
	waitInstance(t, c, env.Cluster, procs...)
	url := func(i int) string { return fmt.Sprintf("http://127.0.0.1:%d/metrics", env.MetricsPorts[i]) }
	const reporter, bus, session, scheduler, dockerexec = 0, 1, 2, 3, 4
	scrape := func(i int) busmetrics.Families {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		f, err := busmetrics.Scrape(ctx, url(i))
		if err != nil {
			t.Fatalf("%s: %v", metricsVars[i], err)
		}
		return f
	}
	type check struct {
		proc   int
		name   string
		labels map[string]string
	}
	// What must rise while a task runs and stops.
	rising := []check{
		{scheduler, "ecs_containers_started_total", nil},
		{scheduler, "ecs_containers_stopped_total", nil},
		{scheduler, "ecs_task_start_stage_seconds", map[string]string{"stage": "create"}},
		{scheduler, "ecs_task_start_stage_seconds", map[string]string{"stage": "start"}},
		{scheduler, "ecs_task_start_seconds", nil},
		{scheduler, "ecs_tasks", map[string]string{"status": "STOPPED"}},
		{dockerexec, "ecs_docker_call_seconds", map[string]string{"operation": "create"}},
		{dockerexec, "ecs_docker_call_seconds", map[string]string{"operation": "start"}},
		{dockerexec, "ecs_docker_call_seconds", map[string]string{"operation": "stop"}},
		{reporter, "ecs_state_changes_submitted_total", nil},
		{reporter, "ecs_state_change_delivery_seconds", nil},
		{session, "ecs_acs_messages_total", map[string]string{"type": "PayloadMessage"}},
	}
	// What must be there at all times.
	present := []check{
		{reporter, "ecs_state_changes_queued", nil},
		{reporter, "ecs_state_change_oldest_undelivered_seconds", nil},
		{reporter, "ecs_state_change_failures_total", nil},
		{session, "ecs_acs_connected", nil},
		{session, "ecs_acs_reconnects_total", nil},
		{bus, "ecs_jetstream_consumer_pending", map[string]string{"consumer": "reporter"}},
		{bus, "ecs_jetstream_consumer_ack_pending", map[string]string{"consumer": "reporter"}},
	}
	for _, p := range []int{reporter, session, scheduler, dockerexec} {
		present = append(present, check{p, "ecs_bus_round_trip_seconds", nil})
	}
	before := map[int]busmetrics.Families{}
	for i := range metricsVars {
		before[i] = scrape(i)
	}
	if v, _ := before[session].Value("ecs_acs_connected", nil); v != 1 {
		t.Errorf("ecs_acs_connected = %v once registered", v)
	}

	arn := runTask(t, c, env.Cluster, sleepTaskDef(t, c, "e2e-metrics"))
	waitTaskStatus(t, c, env.Cluster, arn, "RUNNING", 60*time.Second, procs...)
	if v, _ := scrape(scheduler).Value("ecs_tasks", map[string]string{"status": "RUNNING"}); v != 1 {
		t.Errorf("ecs_tasks{status=RUNNING} = %v while the task runs", v)
	}
	if _, err := c.StopTask(context.Background(), &ecs.StopTaskInput{Cluster: &env.Cluster, Task: &arn}); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	waitTaskStatus(t, c, env.Cluster, arn, "STOPPED", 60*time.Second, procs...)

	waitFor(t, 20*time.Second, "every metric to move", func() (bool, string) {
		after := map[int]busmetrics.Families{}
		for i := range metricsVars {
			after[i] = scrape(i)
		}
		var bad []string
		for _, ch := range rising {
			was, _ := before[ch.proc].Value(ch.name, ch.labels)
			now, ok := after[ch.proc].Value(ch.name, ch.labels)
			if !ok || now <= was {
				bad = append(bad, fmt.Sprintf("%s %s%v: %v -> %v", metricsVars[ch.proc], ch.name, ch.labels, was, now))
			}
		}
		for _, ch := range present {
			if _, ok := after[ch.proc].Value(ch.name, ch.labels); !ok {
				bad = append(bad, fmt.Sprintf("%s %s%v absent", metricsVars[ch.proc], ch.name, ch.labels))
			}
		}
		return len(bad) == 0, strings.Join(bad, "; ")
	})
}
