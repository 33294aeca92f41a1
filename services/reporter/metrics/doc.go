// Package metrics counts what happens to state changes, for Prometheus: reports
// submitted, failed and dropped, the delivery latency, and what waits in the outbox
// (how many, and the age of the oldest). The metrics are registered with the
// Prometheus client library on the registry the reporter serves.
package metrics
