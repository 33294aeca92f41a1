package scheduler

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
	busmetrics "github.com/ecs-agent/ecs-agent/bus/metrics"
)

// A task's life moves every scheduler metric, as a Prometheus server reads them, and
// the record says why the task stopped.
func TestMetricsFollowATask(t *testing.T) {
	e := newEnv(t)
	reg := busmetrics.NewRegistry()
	e.cfg.Metrics = reg
	srv := httptest.NewServer(busmetrics.Handler(reg, false))
	defer srv.Close()
	e.docker.exits["exit"] = fakeExit{after: 100 * time.Millisecond, code: 42}
	e.start()
	s := taskSpec("m1", bus.ContainerSpec{Name: "exit", Image: "busybox", Essential: true, Memory: 64})
	e.desire(s, "m1")
	if rep := e.next(); rep.Status != "RUNNING" {
		t.Fatalf("report = %+v", rep)
	}
	if rep := e.next(); rep.Status != "STOPPED" {
		t.Fatalf("report = %+v", rep)
	}
	want := []struct {
		name   string
		labels map[string]string
		value  float64
	}{
		{"ecs_tasks", map[string]string{"status": "STOPPED"}, 1},
		{"ecs_tasks", map[string]string{"status": "RUNNING"}, 0},
		{"ecs_containers_started_total", nil, 1},
		{"ecs_containers_stopped_total", nil, 1},
		{"ecs_task_start_stage_seconds", map[string]string{"stage": "pull"}, 1},
		{"ecs_task_start_stage_seconds", map[string]string{"stage": "create"}, 1},
		{"ecs_task_start_stage_seconds", map[string]string{"stage": "start"}, 1},
		{"ecs_task_start_seconds", nil, 1},
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		fams, err := busmetrics.Scrape(context.Background(), srv.URL+"/metrics")
		if err != nil {
			t.Fatal(err)
		}
		var bad []string
		for _, w := range want {
			if v, _ := fams.Value(w.name, w.labels); v != w.value {
				bad = append(bad, w.name)
			}
		}
		if len(bad) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics not as expected: %v", bad)
		}
		time.Sleep(20 * time.Millisecond)
	}
	rec, err := e.record(s.Arn)
	if err != nil {
		t.Fatal(err)
	}
	if rec.StopCause != "essential container exit exited with code 42" {
		t.Errorf("stop cause = %q", rec.StopCause)
	}
}
