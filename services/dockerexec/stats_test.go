package dockerexec_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
)

// dockerStats is the part of the engine's stats JSON the tests look at.
type dockerStats struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Read        time.Time       `json:"read"`
	MemoryStats json.RawMessage `json:"memory_stats"`
	PreCPU      struct {
		SystemUsage uint64 `json:"system_cpu_usage"`
	} `json:"precpu_stats"`
}

func TestStats(t *testing.T) {
	engine := fakeEngine()
	h := startService(t, testConfig(), engine)
	created, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, createReq("app"))
	if err != nil {
		t.Fatal(err)
	}
	ref := bus.ContainerRef{TaskArn: taskArn, ContainerName: "app"}
	if _, err := call[bus.StartRequest, bus.ContainerState](t, h, bus.SubjectDockerStart, bus.StartRequest{ContainerRef: ref}); err != nil {
		t.Fatal(err)
	}
	rep, err := call[bus.StatsRequest, bus.StatsReply](t, h, bus.SubjectDockerStats, bus.StatsRequest{ContainerRef: ref})
	if err != nil {
		t.Fatal(err)
	}
	var st dockerStats
	if err := json.Unmarshal(rep.DockerStats, &st); err != nil {
		t.Fatalf("stats are not the engine's JSON: %v: %s", err, rep.DockerStats)
	}
	if st.ID != created.DockerID || st.Name != "/"+createReq("app").DockerName || st.Read.IsZero() || len(st.MemoryStats) == 0 {
		t.Errorf("stats %s", rep.DockerStats)
	}

	for _, tc := range []struct {
		name string
		ref  bus.ContainerRef
		code bus.Code
	}{
		{"unknown container", bus.ContainerRef{TaskArn: taskArn, ContainerName: "nope"}, bus.CodeNotFound},
		{"unknown docker id", bus.ContainerRef{DockerID: "f00"}, bus.CodeNotFound},
		{"no reference", bus.ContainerRef{}, bus.CodeBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call[bus.StatsRequest, bus.StatsReply](t, h, bus.SubjectDockerStats, bus.StatsRequest{ContainerRef: tc.ref})
			wantCode(t, err, tc.code)
		})
	}
}

func TestStatsRealEngine(t *testing.T) {
	cli := realEngine(t)
	arn := fmt.Sprintf("arn:aws:ecs:us-west-2:123456789012:task/test/dockerexec-stats-%d", time.Now().UnixNano())
	t.Cleanup(func() { removeTaskContainers(t, cli, arn) })
	cfg := testConfig()
	cfg.Cluster = itCluster
	h := startService(t, cfg, cli)
	created, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, realRequest(arn, "sleeper", "sleep", "60"))
	if err != nil {
		t.Fatal(err)
	}
	ref := bus.ContainerRef{TaskArn: arn, ContainerName: "sleeper"}
	if _, err := call[bus.StartRequest, bus.ContainerState](t, h, bus.SubjectDockerStart, bus.StartRequest{ContainerRef: ref}); err != nil {
		t.Fatal(err)
	}
	rep, err := call[bus.StatsRequest, bus.StatsReply](t, h, bus.SubjectDockerStats, bus.StatsRequest{ContainerRef: ref})
	if err != nil {
		t.Fatal(err)
	}
	var st dockerStats
	if err := json.Unmarshal(rep.DockerStats, &st); err != nil {
		t.Fatalf("stats are not JSON: %v: %s", err, rep.DockerStats)
	}
	if st.ID != created.DockerID || st.Read.IsZero() || len(st.MemoryStats) == 0 {
		t.Errorf("stats %.400s", rep.DockerStats)
	}
	// A non-streamed sample carries the previous reading, as the real agent's do.
	if st.PreCPU.SystemUsage == 0 {
		t.Errorf("no precpu_stats in %.400s", rep.DockerStats)
	}
}
