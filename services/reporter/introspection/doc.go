// Package introspection serves the agent's introspection API (PROTOCOL.md §5):
// /v1/metadata, /v1/tasks (with ?taskarn= and ?dockerid=) and /license, with the
// real agent's JSON shapes, so tools written for it keep working.
//
// It owns no state. The instance's registration and the task records are written to
// key-value buckets by the session and the scheduler; State follows both buckets
// with watchers and keeps the latest values in memory, so a request never waits on
// the bus. The HTTP handlers read State through the small Source interface.
package introspection
