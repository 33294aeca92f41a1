package introspection

import (
	"testing"

	"github.com/ecs-agent/ecs-agent/bus"
)

func TestDesiredStatusOmission(t *testing.T) {
	for _, tc := range []struct {
		known, desired bus.Status
		wantKnown      string
		wantDesired    string
	}{
		{bus.StatusNone, bus.StatusRunning, "PENDING", "RUNNING"},
		{bus.StatusPulled, bus.StatusRunning, "PENDING", "RUNNING"},
		{bus.StatusRunning, bus.StatusRunning, "RUNNING", "RUNNING"},
		{bus.StatusRunning, bus.StatusStopped, "RUNNING", "STOPPED"},
		{bus.StatusRunning, bus.StatusCreated, "RUNNING", ""}, // desired lags: PENDING
		{bus.StatusStopped, bus.StatusStopped, "STOPPED", "STOPPED"},
		{bus.StatusStopped, bus.StatusRunning, "STOPPED", ""},
	} {
		t.Run(string(tc.known)+"/"+string(tc.desired), func(t *testing.T) {
			r := NewTaskResponse(bus.TaskRecord{KnownStatus: tc.known, DesiredStatus: tc.desired})
			if r.KnownStatus != tc.wantKnown || r.DesiredStatus != tc.wantDesired {
				t.Errorf("known %q desired %q, want %q %q", r.KnownStatus, r.DesiredStatus, tc.wantKnown, tc.wantDesired)
			}
		})
	}
}

func TestPortsFallBackToMappings(t *testing.T) {
	spec := bus.ContainerSpec{Name: "web", PortMappings: []bus.PortMapping{
		{ContainerPort: 80, HostPort: 8080}, {ContainerPort: 53, Protocol: "udp"}, {ContainerPortRange: "9000-9001"},
	}}
	got := ports(bus.ContainerRecord{Name: "web"}, spec)
	want := []PortResponse{{ContainerPort: 80, Protocol: "tcp", HostPort: 8080}, {ContainerPort: 53, Protocol: "udp"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("ports = %+v, want %+v", got, want)
	}
	bound := ports(bus.ContainerRecord{NetworkBindings: []bus.NetworkBinding{{ContainerPort: 80, HostPort: 32768, Protocol: "tcp"}}}, spec)
	if len(bound) != 1 || bound[0].HostPort != 32768 {
		t.Errorf("Docker's bindings must win: %+v", bound)
	}
}

func TestTaskByDockerID(t *testing.T) {
	tasks := []bus.TaskRecord{
		{Spec: bus.TaskSpec{Arn: "a"}, Containers: []bus.ContainerRecord{{DockerID: "abcdef0123456789"}, {DockerID: "abcdef9999"}}},
		{Spec: bus.TaskSpec{Arn: "b"}, Containers: []bus.ContainerRecord{{DockerID: "abd000"}, {}}},
	}
	for _, tc := range []struct {
		id      string
		wantArn string
		code    int
	}{
		{"abcdef0123456789", "a", 200},
		{"abcdef012345678", "", 404}, // 15 characters: exact only
		{"abcdef", "a", 200},         // two containers of one task match: one task
		{"ab", "", 400},
		{"abd", "b", 200},
		{"", "", 404},
		{"zzz", "", 404},
	} {
		t.Run(tc.id, func(t *testing.T) {
			got, code := taskByDockerID(tasks, tc.id)
			if code != tc.code || got.Spec.Arn != tc.wantArn {
				t.Errorf("got %q %d, want %q %d", got.Spec.Arn, code, tc.wantArn, tc.code)
			}
		})
	}
}
