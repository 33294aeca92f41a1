// Package bus is the one contract between the agent's processes.
//
// Everything two services exchange is declared here and nowhere else:
//
//   - the subjects (subjects.go), versioned under "ecs.v1", each as a constant for
//     subscribing and a builder for publishing;
//
//   - the message types (messages.go, docker.go), JSON with a "type" field, carrying the
//     agent's own types and never AWS SDK or Docker SDK types;
//
//   - the JetStream streams and key-value buckets (streams.go) that hold durable state;
//
//   - the stable error codes of request/reply endpoints (errors.go), and the liveness
//     of a request (rpc.go: progress while working, a silent responder given up);
//
//   - the bus users, one per service, and what each may publish and subscribe
//     (auth.go), with their passwords (credentials.go);
//
//   - the embedded NATS server (server.go) and how a service connects to it (dial.go).
//
//     session ──DesiredTask──▶ ECS_DESIRED ──▶ scheduler ──commands (micro)──▶ dockerexec
//     ▲    │                          │
//     ECS_EVENTS ◀─ContainerEvent─┘ (Docker events) ◀───────┘
//     │
//     ECS_OUTBOX ◀─TaskStateChange
//     │
//     ▼
//     reporter ──▶ SubmitTaskStateChange
//
// A service imports this module and never another service.
package bus
