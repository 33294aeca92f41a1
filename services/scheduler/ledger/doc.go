// Package ledger accounts for the host's resources the scheduler hands to tasks: CPU
// shares, memory and host ports. It exists so that no two tasks are ever given the
// same host port and no task starts on a host that cannot hold it, across restarts
// of the scheduler: every grant is stored (Store, one key per task) before the task
// may use it, and a restarted scheduler restores the grants before it admits
// anything new.
//
// Admission is first come, first served: a task that does not fit now waits in a
// FIFO queue (and holds back the tasks behind it) until a release makes room; a task
// that can never fit on this host (more CPU or memory than the host has, a reserved
// or duplicated static port, more dynamic ports than the range holds) is refused
// with a reason a user can act on.
//
// Ledger itself does no I/O and is not safe for concurrent use; its owner
// serialises calls and persists what they return.
package ledger
