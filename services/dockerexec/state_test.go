package dockerexec

import (
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/ecs-agent/ecs-agent/bus"
)

func TestContainerState(t *testing.T) {
	never := "0001-01-01T00:00:00Z"
	started := "2024-06-01T10:00:00.5Z"
	finished := "2024-06-01T10:01:00Z"
	tests := []struct {
		name       string
		state      container.State
		wantStatus bus.Status
		wantExit   *int
		wantHealth bus.Health
		wantStart  bool
		wantFinish bool
	}{
		{"created", container.State{Status: "created", StartedAt: never, FinishedAt: never}, bus.StatusCreated, nil, "", false, false},
		{"running healthy", container.State{Status: "running", StartedAt: started, FinishedAt: never,
			Health: &container.Health{Status: "healthy"}}, bus.StatusRunning, nil, bus.HealthHealthy, true, false},
		{"paused counts as running", container.State{Status: "paused", StartedAt: started, FinishedAt: never}, bus.StatusRunning, nil, "", true, false},
		{"starting health is unknown", container.State{Status: "running", StartedAt: started,
			Health: &container.Health{Status: "starting"}}, bus.StatusRunning, nil, bus.HealthUnknown, true, false},
		{"exited 42", container.State{Status: "exited", ExitCode: 42, StartedAt: started, FinishedAt: finished}, bus.StatusStopped, ptr(42), "", true, true},
		{"dead", container.State{Status: "dead", ExitCode: 137, StartedAt: started, FinishedAt: finished}, bus.StatusStopped, ptr(137), "", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.state
			in := container.InspectResponse{
				ContainerJSONBase: &container.ContainerJSONBase{ID: "id1", Name: "/ecs-x", Created: started, State: &st, Image: "sha256:1"},
				Config:            &container.Config{Image: "busybox", Labels: map[string]string{bus.LabelTaskARN: "t", bus.LabelContainerName: "c"}},
				NetworkSettings: &container.NetworkSettings{NetworkSettingsBase: container.NetworkSettingsBase{Ports: nat.PortMap{
					"80/tcp": {{HostIP: "127.0.0.1", HostPort: "32768"}}, "81/tcp": nil,
				}}},
			}
			got := containerState(in, false)
			if got.Status != tc.wantStatus || got.Health != tc.wantHealth {
				t.Errorf("status %s health %q, want %s %q", got.Status, got.Health, tc.wantStatus, tc.wantHealth)
			}
			if (got.ExitCode == nil) != (tc.wantExit == nil) || (got.ExitCode != nil && *got.ExitCode != *tc.wantExit) {
				t.Errorf("exit code %v, want %v", got.ExitCode, tc.wantExit)
			}
			if (got.StartedAt != nil) != tc.wantStart || (got.FinishedAt != nil) != tc.wantFinish {
				t.Errorf("startedAt %v finishedAt %v", got.StartedAt, got.FinishedAt)
			}
			if got.DockerName != "ecs-x" || got.TaskArn != "t" || got.ContainerName != "c" || got.ImageID != "sha256:1" {
				t.Errorf("identity %+v", got)
			}
			if len(got.NetworkBindings) != 1 || got.NetworkBindings[0] != (bus.NetworkBinding{BindIP: "127.0.0.1", ContainerPort: 80, HostPort: 32768, Protocol: "tcp"}) {
				t.Errorf("bindings %v", got.NetworkBindings)
			}
			if want, _ := time.Parse(time.RFC3339Nano, started); !got.CreatedAt.Equal(want) {
				t.Errorf("createdAt %v", got.CreatedAt)
			}
		})
	}
}

func TestRepoDigest(t *testing.T) {
	digests := []string{"mirror.local/other@sha256:aaa", "busybox@sha256:bbb"}
	if got := repoDigest("busybox:latest", digests); got != "sha256:bbb" {
		t.Errorf("got %q", got)
	}
	if got := repoDigest("docker.io/library/busybox", digests); got != "sha256:bbb" {
		t.Errorf("normalised name: got %q", got)
	}
	if got := repoDigest("unrelated", digests); got != "sha256:aaa" {
		t.Errorf("fallback: got %q", got)
	}
	if got := repoDigest("x", nil); got != "" {
		t.Errorf("none: got %q", got)
	}
}

func ptr(n int) *int { return &n }

func TestIPv6BindingsExcluded(t *testing.T) {
	ports := nat.PortMap{"80/tcp": {{HostIP: "0.0.0.0", HostPort: "49200"}, {HostIP: "::", HostPort: "49200"}}}
	if got := networkBindings(ports, true); len(got) != 1 || got[0].BindIP != "0.0.0.0" {
		t.Errorf("excluded: %v", got)
	}
	if got := networkBindings(ports, false); len(got) != 2 {
		t.Errorf("kept: %v", got)
	}
}
