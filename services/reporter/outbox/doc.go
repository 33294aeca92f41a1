// Package outbox delivers the scheduler's task state changes to the control plane.
//
// The scheduler publishes TaskStateChange messages, in order per task, to the
// ECS_OUTBOX work-queue stream. The outbox reads them through the durable consumer
// "reporter" and hands each one to a Submitter (the ECS API). A message is acked only
// after the control plane accepted it (or rejected it for good), so a report is never
// lost: a crash at any point leaves the message in the stream and it is delivered
// again, at least once.
//
// Lifecycle of one message:
//
//	stream ──fetch──▶ task FIFO ──worker──▶ Submit ──ok/rejected──▶ DoubleAck ──▶ removed
//	                     ▲                    │ error
//	                     │                    ▼
//	               InProgress every       backoff 1 s ×1.3 ≤ 30 s (+0–20 %), forever
//	               AckWait/3 while held
//
// Ordering. Messages arrive in stream order and are queued per task; at most Workers
// tasks (10) are delivered concurrently, one message at a time per task, and a
// task's next message is not submitted before the previous one's ack has been
// confirmed by the bus (DoubleAck), so a redelivery can never overtake a later
// report. When a generation starts with messages still pending from a previous
// process, the consumer is recreated: in a work-queue stream acked messages are
// gone, so the new consumer starts at the oldest unacked message and the reports are
// delivered again in their original order, without waiting for AckWait.
//
// Goroutines: one fetch loop per generation, Workers delivery goroutines, and one
// heartbeat goroutine. The queue's mutex guards all shared state; no call that
// blocks on the network is made while holding it.
package outbox
