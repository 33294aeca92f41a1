package dockerexec

import (
	"testing"

	"github.com/docker/docker/api/types/container"
)

func TestSampleLeavesOutThePageCache(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stats map[string]uint64
		want  uint64
	}{
		{"cgroup v2", map[string]uint64{"inactive_file": 30 << 20}, 70 << 20},
		{"cgroup v1", map[string]uint64{"cache": 40 << 20, "inactive_file": 1}, 60 << 20},
		{"no cache figure", nil, 100 << 20},
		{"cache above usage", map[string]uint64{"inactive_file": 200 << 20}, 100 << 20},
		{"both", map[string]uint64{"cache": 10 << 20, "inactive_file": 50 << 20}, 90 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var st container.StatsResponse
			st.MemoryStats.Usage, st.MemoryStats.Stats = 100<<20, tc.stats
			st.CPUStats.CPUUsage.TotalUsage = 1234
			s := sampleOf(st, "arn", "web", "id")
			if s.MemoryBytes != tc.want || s.CPUUsageNanos != 1234 {
				t.Fatalf("memory %d cpu %d, want memory %d", s.MemoryBytes, s.CPUUsageNanos, tc.want)
			}
		})
	}
}
