// Package task is the scheduler's task engine as a pure state machine: it reads and
// updates a bus.TaskRecord and says which Docker step each container needs next, but
// it never calls Docker, the bus or the clock itself. Keeping it pure lets every rule
// of the engine (one-step progression, essential containers, dependency ordering,
// the known-status minimum, what to report) be table-tested without a bus, and lets
// the scheduler replay it after a restart from the stored record alone.
//
// A container's life, one step at a time (desired STOPPED may cut in anywhere):
//
//	NONE ──pull──▶ PULLED ──create──▶ CREATED ──start──▶ RUNNING ──stop/exit──▶ STOPPED
//	  │                │                                                        ▲
//	  └────────────────┴──── desired STOPPED before create: no Docker call ─────┘
//
// The caller (one goroutine per task) loops: Step → run the returned actions →
// feed each outcome back (Pulled, Created, Started, Stopped, Failed, ApplyEvent,
// ApplyState) → NextReport/MarkSent → store the record. None of the functions may be
// called concurrently on the same record.
package task
