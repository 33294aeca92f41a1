// Package session owns the container instance's identity and its connection to the
// control plane's Agent Communication Service (ACS).
//
// It is the only part of the agent that receives work: it registers the instance
// with the ECS API, stores the resulting Registration in the bus's instance bucket
// (so every other service learns the cluster and ARN from one place), and then keeps
// an ACS websocket open for as long as it runs. Each task delivered in a
// PayloadMessage is translated into a bus.DesiredTask and stored on the desired
// stream; the payload is acknowledged only once JetStream has stored every task of
// it, so a crash between the two costs a redelivery, never a task.
//
// Lifecycle of Run:
//
//	ensure streams and bucket (retried until the bus answers)
//	        │
//	RegisterContainerInstance ──"Cluster not found." (no ECS_CLUSTER)──▶ CreateCluster ─┐
//	        │◀──────────────────────────────────────────────────────────────────────────┘
//	store Registration (bucket ecs_instance, key "registration")
//	        │
//	┌──▶ DiscoverPollEndpoint (cached 12 h) ─▶ signed websocket upgrade ─▶ read frames
//	│                                                                         │
//	└──── backoff, at once, or 1 h (InactiveInstanceException) ◀── socket ends ┘
//
// Goroutines: Run's goroutine owns the connection loop; per connection one goroutine
// reads frames (and answers heartbeats itself) and one worker stores payloads in
// order and writes their acks. Writes to the socket are serialised by a mutex.
package session
