// Package dockerexec is the agent's only door to the Docker engine.
//
// It exists so that one process, and one process only, holds the Docker socket: the
// scheduler decides what should happen to a task's containers and asks dockerexec to
// do it over the bus; dockerexec turns each request into Docker calls and turns the
// engine's container events into bus events. It keeps nothing durable — Docker is its
// truth — so it can be killed and restarted at any moment, and several instances may
// serve the same bus (the endpoints share a queue group).
//
// Two halves, both started by Service.Run:
//
//	scheduler ──request──▶ micro service "ecs-dockerexec" ──▶ Docker engine
//	          ◀──reply────  (pull, create, start, stop,       (DOCKER_HOST)
//	                          remove, inspect, list)                │
//	                                                                │ /events
//	scheduler ◀── ECS_EVENTS ◀── event watcher ◀────────────────────┘
//	              (JetStream, ID <dockerID>/<action>/<timeNano>)
//
// Every command is idempotent, keyed by task ARN and container name through the
// labels written at create time: a second create returns the first container, a stop
// of a stopped container and a remove of a missing one succeed. Failures travel as
// bus error codes (bus/errors.go); the domain codes carry descriptions that read like
// the real agent's reasons (CannotPullContainerError: …).
//
// The Docker calls are made through the small Docker interface declared here;
// *client.Client satisfies it, and package dockerfake holds an in-memory engine for
// tests.
package dockerexec
