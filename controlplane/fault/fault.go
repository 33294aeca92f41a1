package fault

import (
	"sync"
	"time"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
)

// Failure makes the next Count calls of an operation fail.
type Failure struct {
	Operation string `json:"operation"`
	Count     int    `json:"count"`
	Code      string `json:"code"`
	Status    int    `json:"status"`
	Message   string `json:"message,omitempty"`
}

// State is a snapshot of every fault currently set.
type State struct {
	Failures     []Failure        `json:"failures"`
	DelaysMillis map[string]int64 `json:"delaysMillis"`
	WithholdAcks bool             `json:"withholdAcks"`
}

// Set is safe for concurrent use. Its zero value injects nothing.
type Set struct {
	mu       sync.Mutex
	failures map[string]*Failure
	delays   map[string]time.Duration
	withhold bool
}

// Fail makes the next f.Count calls of f.Operation ("*" for any) fail with f.Code and
// f.Status (default 400, or 500 for ServerException). A count of 0 clears it.
func (s *Set) Fail(f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failures == nil {
		s.failures = map[string]*Failure{}
	}
	if f.Count <= 0 {
		delete(s.failures, f.Operation)
		return
	}
	if f.Status == 0 {
		f.Status = 400
		if f.Code == awserr.CodeServer {
			f.Status = 500
		}
	}
	if f.Message == "" {
		f.Message = "Injected fault: " + f.Code
	}
	s.failures[f.Operation] = &f
}

// Delay holds every answer of op ("*" for any) for d; 0 clears it.
func (s *Set) Delay(op string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.delays == nil {
		s.delays = map[string]time.Duration{}
	}
	if d <= 0 {
		delete(s.delays, op)
		return
	}
	s.delays[op] = d
}

// WithholdAcks makes the ACS sessions ignore AckRequests while on, so payloads are
// re-sent.
func (s *Set) WithholdAcks(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.withhold = on
}

// AcksWithheld reports whether AckRequests are being ignored.
func (s *Set) AcksWithheld() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.withhold
}

// Reset clears every fault.
func (s *Set) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures, s.delays, s.withhold = nil, nil, false
}

// Check is called once per call of op: it returns how long to wait before answering and
// the error to answer with, if any, consuming one count of a matching failure.
func (s *Set) Check(op string) (time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.delays[op]
	if d == 0 {
		d = s.delays["*"]
	}
	for _, key := range []string{op, "*"} {
		f := s.failures[key]
		if f == nil {
			continue
		}
		f.Count--
		if f.Count <= 0 {
			delete(s.failures, key)
		}
		return d, &awserr.Error{Code: f.Code, Message: f.Message, Status: f.Status}
	}
	return d, nil
}

// Snapshot returns the faults currently set.
func (s *Set) Snapshot() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{Failures: []Failure{}, DelaysMillis: map[string]int64{}, WithholdAcks: s.withhold}
	for _, f := range s.failures {
		st.Failures = append(st.Failures, *f)
	}
	for op, d := range s.delays {
		st.DelaysMillis[op] = d.Milliseconds()
	}
	return st
}
