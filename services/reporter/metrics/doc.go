// Package metrics counts what happens to state changes and serves the counts in the
// Prometheus text format (version 0.0.4), without a client library: the reporter
// exposes five numbers and needs nothing more.
package metrics
