package placement

import (
	"testing"

	"github.com/ecs-agent/ecs-agent/controlplane/taskdef"
)

func cand(arn string, cpu, mem int64, tasks int, tcp ...int64) Candidate {
	c := Candidate{Arn: arn, CPU: cpu, Memory: mem, Tasks: tasks, UsedTCP: map[int64]bool{}, UsedUDP: map[int64]bool{}}
	for _, p := range tcp {
		c.UsedTCP[p] = true
	}
	return c
}

func TestChoose(t *testing.T) {
	tests := []struct {
		name     string
		req      taskdef.Requirements
		cands    []Candidate
		want     int
		failures []string
	}{
		{"fits", taskdef.Requirements{CPU: 10, Memory: 10}, []Candidate{cand("a", 100, 100, 0)}, 0, nil},
		{"fewest tasks wins", taskdef.Requirements{Memory: 10}, []Candidate{cand("a", 100, 100, 3), cand("b", 100, 100, 1)}, 1, nil},
		{"memory", taskdef.Requirements{Memory: 200}, []Candidate{cand("a", 100, 100, 0)}, -1, []string{ReasonMemory}},
		{"cpu", taskdef.Requirements{CPU: 200}, []Candidate{cand("a", 100, 100, 0)}, -1, []string{ReasonCPU}},
		{"port", taskdef.Requirements{TCPPorts: []int64{22}}, []Candidate{cand("a", 100, 100, 0, 22)}, -1, []string{ReasonPorts}},
		{"same port twice in one task", taskdef.Requirements{TCPPorts: []int64{80, 80}}, []Candidate{cand("a", 100, 100, 0)}, -1, []string{ReasonPorts}},
		{"second fits", taskdef.Requirements{TCPPorts: []int64{22}}, []Candidate{cand("a", 100, 100, 0, 22), cand("b", 100, 100, 5)}, 1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, fails := Choose(tc.req, Rules{}, tc.cands)
			if got != tc.want || len(fails) != len(tc.failures) {
				t.Fatalf("Choose = %d %+v", got, fails)
			}
			for i, f := range fails {
				if f.Reason != tc.failures[i] {
					t.Errorf("failure %d = %s", i, f.Reason)
				}
			}
		})
	}
}

func TestTake(t *testing.T) {
	c := cand("a", 100, 100, 0)
	req := taskdef.Requirements{CPU: 60, Memory: 60, TCPPorts: []int64{80}}
	Take(&c, req)
	if c.CPU != 40 || c.Memory != 40 || !c.UsedTCP[80] || c.Tasks != 1 {
		t.Fatalf("after Take: %+v", c)
	}
	if Fits(req, c) == "" {
		t.Fatal("a second identical task fits")
	}
}
