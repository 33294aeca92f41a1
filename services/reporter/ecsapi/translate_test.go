package ecsapi

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ecs-agent/ecs-agent/bus"
)

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"short", "abc", 5, "abc"},
		{"exact", "abcde", 5, "abcde"},
		{"ascii", "abcdef", 5, "abcde"},
		{"two-byte rune cut", "aé", 2, "a"},
		{"three-byte rune cut", "a€", 3, "a"},
		{"four-byte rune cut", "ab😀", 5, "ab"},
		{"rune boundary", "é€", 5, "é€"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Truncate(tc.in, tc.n)
			if got != tc.want || !utf8.ValidString(got) {
				t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
		})
	}
}

func TestInput(t *testing.T) {
	local := time.FixedZone("x", 3600)
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, local)
	code := 137
	in := Input(bus.TaskStateChange{
		Cluster: "c", TaskArn: "t", Status: "STOPPED", Reason: strings.Repeat("r", 2000),
		ExecutionStoppedAt: &at, PullStartedAt: &time.Time{},
		Containers: []bus.ContainerStateChange{{
			ContainerName: "x", Status: "STOPPED", ExitCode: &code,
			NetworkBindings: []bus.NetworkBinding{{ContainerPort: 1, HostPort: 2}},
		}},
	})
	if *in.Cluster != "c" || *in.Task != "t" || *in.Status != "STOPPED" || len(*in.Reason) != 1024 {
		t.Errorf("task fields: %+v", in)
	}
	if in.PullStartedAt != nil || in.PullStoppedAt != nil {
		t.Error("unset times must be omitted")
	}
	if in.ExecutionStoppedAt.Location() != time.UTC || !in.ExecutionStoppedAt.Equal(at) {
		t.Errorf("executionStoppedAt = %v", in.ExecutionStoppedAt)
	}
	c := in.Containers[0]
	if *c.ExitCode != 137 || c.RuntimeId != nil || c.Reason != nil || c.ImageDigest != nil {
		t.Errorf("container: %+v", c)
	}
	if b := c.NetworkBindings[0]; b.Protocol != "tcp" || *b.ContainerPort != 1 || *b.HostPort != 2 || b.BindIP != nil {
		t.Errorf("binding: %+v", b)
	}
	if empty := Input(bus.TaskStateChange{}); empty.Reason == nil || *empty.Reason != "" || empty.Containers != nil {
		t.Error("an empty reason must be sent; no containers means none")
	}
}
