// Package reporter is the agent's voice towards the control plane and its window for
// local tools:
//
//   - the outbox: every task state change the scheduler stores in ECS_OUTBOX is
//     submitted with SubmitTaskStateChange, in order per task, and acked only once
//     the control plane accepted it (package outbox, with package ecsapi at the
//     AWS edge);
//   - the introspection API on 127.0.0.1:51678 (package introspection), answered
//     from the registration and task records that the session and the scheduler
//     keep in key-value buckets;
//   - the credentials and task metadata endpoints (v2 credentials, v3 and v4 task
//     metadata and stats) on 127.0.0.1:51679 (package taskserver), answered from the
//     same task records, the sealed credentials bucket and dockerexec's stats;
//   - a Prometheus /metrics endpoint on 127.0.0.1:51680 (package metrics).
//
// Reporter runs as its own process (cmd/ecs-reporter) or inside the all-in-one
// binary with an in-process bus connection; New and Run are the same either way.
//
//	New ──▶ Run ──▶ set-up (streams, consumer, buckets; retried until the bus answers)
//	                  ├─▶ listeners bound ──▶ Ready() closed
//	                  ├─▶ outbox delivery ─┐
//	                  ├─▶ bucket watchers ─┼─ until ctx ends, then servers shut down
//	                  └─▶ HTTP servers ────┘
package reporter
