// Package state is the control plane's memory: clusters, task definitions, container
// instances and tasks, with the rules of the ECS API applied to them (placement and
// resource accounting, status progression from agent reports, stop requests) and an
// optional snapshot file so a restart keeps everything.
//
// One Store owns all records behind one mutex; methods return copies, so callers never
// share a record with the store. Methods that change anything write the snapshot before
// returning (atomically: a temporary file renamed over the old one).
//
// Task lifecycle as the store sees it:
//
//	RunTask/StartTask ──▶ PROVISIONING/PENDING (resources held, desired RUNNING)
//	     │  agent reports PENDING/RUNNING
//	     ▼
//	  RUNNING ──StopTask──▶ desired STOPPED (stop payload owed to the agent)
//	     │  agent reports STOPPED (or an essential container STOPPED)
//	     ▼
//	  STOPPED (resources released)
//
// Delivery: each task remembers the desired status the agent has acknowledged; a task
// whose desired status differs from it is owed to the agent in the next payload.
package state
