package state

import (
	"slices"
	"time"
)

// MaxReceivedPerTask bounds the record of state changes kept per task: the oldest go
// first.
const MaxReceivedPerTask = 100

// Operations that report state, as recorded in Received.Operation.
const (
	OpSubmitTaskStateChange      = "SubmitTaskStateChange"
	OpSubmitContainerStateChange = "SubmitContainerStateChange"
)

// Received is one state-change call the store accepted for a task, as it arrived, so
// that tests can check the order and content of what an agent reported (a resent or
// repeated report is recorded again, even though it changes nothing).
//
// The record lives in memory only, not in the snapshot: it describes what this process
// received, and a restarted control plane starts with an empty one.
type Received struct {
	Operation  string              `json:"operation"`
	ReceivedAt time.Time           `json:"receivedAt"`
	Status     string              `json:"status,omitempty"` // absent for SubmitContainerStateChange
	Reason     string              `json:"reason,omitempty"`
	Containers []ReceivedContainer `json:"containers,omitempty"`
}

// ReceivedContainer is one container's part of a Received report.
type ReceivedContainer struct {
	Name      string `json:"containerName"`
	Status    string `json:"status,omitempty"`
	ExitCode  *int64 `json:"exitCode,omitempty"`
	RuntimeID string `json:"runtimeId,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// ImageDigest is the digest the agent resolved, sent from the PENDING report on.
	ImageDigest string `json:"imageDigest,omitempty"`
}

// recordLocked appends an accepted report to the task's record.
func (s *Store) recordLocked(taskArn string, r TaskReport) {
	rec := Received{Operation: r.Operation, ReceivedAt: s.now(), Status: r.Status, Reason: r.Reason}
	if rec.Operation == "" {
		rec.Operation = OpSubmitTaskStateChange
	}
	for _, c := range r.Containers {
		var code *int64
		if c.ExitCode != nil {
			v := *c.ExitCode
			code = &v
		}
		rec.Containers = append(rec.Containers, ReceivedContainer{Name: c.Name, Status: c.Status, ExitCode: code, RuntimeID: c.RuntimeID, Reason: c.Reason, ImageDigest: c.ImageDigest})
	}
	list := append(s.received[taskArn], rec)
	if len(list) > MaxReceivedPerTask {
		list = slices.Clone(list[len(list)-MaxReceivedPerTask:])
	}
	s.received[taskArn] = list
}

// ReceivedFor returns, oldest first, the state changes accepted for a task (by ARN), and
// whether the task exists.
func (s *Store) ReceivedFor(taskArn string) ([]Received, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tasks[taskArn] == nil {
		return nil, false
	}
	return clone(append([]Received{}, s.received[taskArn]...)), true
}

// AllReceived returns the record of every task that has one, by task ARN.
func (s *Store) AllReceived() map[string][]Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]Received, len(s.received))
	for arn, list := range s.received {
		out[arn] = clone(list)
	}
	return out
}
