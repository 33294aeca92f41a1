// Package scheduler is the agent's task engine as a bus service: it owns every
// task's record, the host's resource ledger, dependency ordering and cleanup, and
// drives containers through dockerexec. It speaks to the bus only.
//
//	ECS_DESIRED ──DesiredTask──▶ ┌───────────┐ ──pull/create/start/stop──▶ dockerexec
//	ECS_EVENTS ─ContainerEvent─▶ │ scheduler │ ◀──────── replies ─────────
//	                             └─────┬─────┘
//	          ecs_tasks (TaskRecord) ◀─┤├─▶ ECS_OUTBOX (TaskStateChange, in order per task)
//	          ecs_ledger (grants)    ◀─┘
//
// One goroutine (a runner) owns each task: it alone reads and writes the task's
// record, feeding inputs (desired status, Docker events, step outcomes, admission)
// to the pure engine in package task and running the Docker steps it asks for in
// goroutines of their own. A message is acknowledged only once its effect and the
// reports it causes are stored, and each report carries a message ID
// (<taskArn>/<seq>) derived from the stored record, so a scheduler killed at any
// moment and started again repeats at most what it had not finished, and JetStream
// drops the repeats.
package scheduler
