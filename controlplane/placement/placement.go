package placement

import (
	"github.com/ecs-agent/ecs-agent/controlplane/query"
	"github.com/ecs-agent/ecs-agent/controlplane/taskdef"
)

// Failure reasons, as ECS reports them in RunTask/StartTask `failures`.
const (
	ReasonCPU    = "RESOURCE:CPU"
	ReasonMemory = "RESOURCE:MEMORY"
	ReasonPorts  = "RESOURCE:PORTS"
)

// Candidate is an ACTIVE instance with what is left of it.
type Candidate struct {
	Arn     string
	CPU     int64          // remaining CPU units
	Memory  int64          // remaining MiB
	UsedTCP map[int64]bool // reserved and held TCP host ports
	UsedUDP map[int64]bool // reserved and held UDP host ports
	Tasks   int            // tasks currently held, to spread load
	// Attributes are the instance's attributes, for memberOf expressions.
	Attributes query.Attributes
	// Placed counts the tasks of the current call already placed here, for
	// distinctInstance; Take leaves it alone because it also replays held tasks.
	Placed int
}

// Failure says why one candidate cannot take the task.
type Failure struct {
	Arn    string
	Reason string
}

// Fits reports why c cannot take req, or "" when it can.
func Fits(req taskdef.Requirements, c Candidate) string {
	switch {
	case req.Memory > c.Memory:
		return ReasonMemory
	case req.CPU > c.CPU:
		return ReasonCPU
	}
	for _, p := range req.TCPPorts {
		if c.UsedTCP[p] {
			return ReasonPorts
		}
	}
	for _, p := range req.UDPPorts {
		if c.UsedUDP[p] {
			return ReasonPorts
		}
	}
	if hasDuplicate(req.TCPPorts) || hasDuplicate(req.UDPPorts) {
		return ReasonPorts
	}
	return ""
}

// Choose returns the index of the candidate that takes the task — among those the rules
// admit and that fit, the one holding the fewest tasks, then the earliest in the list —
// or -1 and one failure per candidate, a constraint's reason before a resource's.
func Choose(req taskdef.Requirements, rules Rules, cands []Candidate) (int, []Failure) {
	best := -1
	var failures []Failure
	for i, c := range cands {
		reason := rules.Admits(c)
		if reason == "" {
			reason = Fits(req, c)
		}
		if reason != "" {
			failures = append(failures, Failure{Arn: c.Arn, Reason: reason})
			continue
		}
		if best < 0 || c.Tasks < cands[best].Tasks {
			best = i
		}
	}
	if best >= 0 {
		return best, nil
	}
	return -1, failures
}

// Take subtracts req from c, as happens when the task is placed on it.
func Take(c *Candidate, req taskdef.Requirements) {
	c.CPU -= req.CPU
	c.Memory -= req.Memory
	for _, p := range req.TCPPorts {
		c.UsedTCP[p] = true
	}
	for _, p := range req.UDPPorts {
		c.UsedUDP[p] = true
	}
	c.Tasks++
}

func hasDuplicate(ports []int64) bool {
	seen := map[int64]bool{}
	for _, p := range ports {
		if seen[p] {
			return true
		}
		seen[p] = true
	}
	return false
}
