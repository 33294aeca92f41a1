// Package metrics is what every agent process shares to export Prometheus metrics:
// a registry with the Go runtime and process collectors, the /metrics handler served
// on 127.0.0.1, and the collectors of the bus itself (the round-trip time of a
// connection, the pending messages of every JetStream consumer).
//
// Each service registers its own metrics on the prometheus.Registerer it is given;
// a process run alone serves its own registry on its own port, the all-in-one agent
// gives every service the same registry and serves it once.
package metrics
