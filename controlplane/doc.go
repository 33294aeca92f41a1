// Package controlplane is a local Amazon ECS control plane: the ECS JSON 1.1 API that the
// container agent and operators call, the ACS websocket that delivers tasks to agents,
// and a TCS endpoint that accepts telemetry and discards it. One Server is one
// http.Handler serving all of them on a single listener:
//
//	POST /           ECS JSON 1.1 API (X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Op>)
//	GET  /ws         ACS (query key containerInstanceArn) or TCS (query key containerInstance)
//	     /admin/…    fault injection for tests (see README.md)
//
// Requests are SigV4-verified against configured credentials unless AllowUnsigned is
// set. State lives in a state.Store, optionally snapshotted to a file.
//
// Concurrency: each HTTP request runs on its own goroutine and talks to the store, which
// serialises everything behind its own lock. Each ACS socket has one goroutine that does
// all its writes (payloads, heartbeats, re-sends) and one that reads acks. The server's
// session table has its own mutex, never held while calling the store.
package controlplane
