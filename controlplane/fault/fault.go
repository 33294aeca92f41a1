package fault

import (
	"errors"
	"fmt"
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

// Phase says at which point of a call a delay holds it.
type Phase string

// Phases of a delay.
const (
	// PhaseBefore holds the call before it is processed; a client that gives up meanwhile
	// leaves it unprocessed, as a request lost on the way would.
	PhaseBefore Phase = "before"
	// PhaseAfter processes the call, then holds the answer; a client that gives up
	// meanwhile has had its change applied anyway, as when an answer is lost on the way
	// back, so a retry meets the effect of the first attempt.
	PhaseAfter Phase = "after"
)

// ErrPhase is returned for a phase that is neither PhaseBefore nor PhaseAfter.
var ErrPhase = errors.New(`delay phase must be "before" or "after"`)

// ParsePhase reads a phase; "" means PhaseBefore.
func ParsePhase(s string) (Phase, error) {
	switch Phase(s) {
	case "", PhaseBefore:
		return PhaseBefore, nil
	case PhaseAfter:
		return PhaseAfter, nil
	}
	return "", fmt.Errorf("%w: %q", ErrPhase, s)
}

// Delay holds calls of an operation for Duration, at Phase.
type Delay struct {
	Duration time.Duration
	Phase    Phase
}

// State is a snapshot of every fault currently set.
type State struct {
	Failures     []Failure        `json:"failures"`
	DelaysMillis map[string]int64 `json:"delaysMillis"`
	DelayPhases  map[string]Phase `json:"delayPhases"`
	WithholdAcks bool             `json:"withholdAcks"`
}

// Set is safe for concurrent use. Its zero value injects nothing.
type Set struct {
	mu       sync.Mutex
	failures map[string]*Failure
	delays   map[string]Delay
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

// Delay holds every call of op ("*" for any) for d before processing it; 0 clears it.
func (s *Set) Delay(op string, d time.Duration) {
	_ = s.DelayAt(op, d, PhaseBefore) // PhaseBefore is valid
}

// DelayAt holds every call of op ("*" for any) for d at phase ("" is PhaseBefore); 0
// clears it. An unknown phase is refused with ErrPhase.
func (s *Set) DelayAt(op string, d time.Duration, phase Phase) error {
	phase, err := ParsePhase(string(phase))
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.delays == nil {
		s.delays = map[string]Delay{}
	}
	if d <= 0 {
		delete(s.delays, op)
		return nil
	}
	s.delays[op] = Delay{Duration: d, Phase: phase}
	return nil
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

// Check is called once per call of op: it returns the delay to apply (zero Duration for
// none) and the error to answer with, if any, consuming one count of a matching failure.
func (s *Set) Check(op string) (Delay, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.delays[op]
	if !ok {
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
	st := State{Failures: []Failure{}, DelaysMillis: map[string]int64{}, DelayPhases: map[string]Phase{}, WithholdAcks: s.withhold}
	for _, f := range s.failures {
		st.Failures = append(st.Failures, *f)
	}
	for op, d := range s.delays {
		st.DelaysMillis[op] = d.Duration.Milliseconds()
		st.DelayPhases[op] = d.Phase
	}
	return st
}
