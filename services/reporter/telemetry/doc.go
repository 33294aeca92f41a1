// Package telemetry is the agent's TCS client (PROTOCOL.md §3): it holds the
// telemetry websocket of DiscoverPollEndpoint's telemetryEndpoint (which the session
// stores in the registration) and publishes on it what the real agent publishes, at
// its cadence:
//
//	every 20 s   PublishMetricsRequest: each task's containers' CPU and memory over
//	             the window, from the stats samples dockerexec streams while this
//	             client asks for them (idle when there are none); split in requests
//	             of 10 tasks, the last one fin
//	every 20 s   PublishHealthRequest: the health of every running container with a
//	and on change a Docker health check, from the scheduler's task records
//	every 20 s   PublishInstanceStatusRequest (CONTAINER_RUNTIME: OK while dockerexec
//	when changed, gets an answer from Docker, IMPAIRED otherwise)
//	else 1 min
//
// The socket is recycled when no HeartbeatMessage arrives for 1 min + rand(1 min),
// after 30 min + rand(5 min), or on StopTelemetrySessionMessage; reconnects back off
// from 1 s to 1 min. ECS_DISABLE_METRICS stops the metrics (and the stats streams
// behind them), ECS_DISABLE_DOCKER_HEALTH_CHECK the health; the socket and the
// instance status stay, as with the real agent. Telemetry never affects task
// management: every failure here is logged and retried.
//
// Each request frame is sent as the real agent sends it: the SigV4-signed HTTP
// headers of a GET of the socket's URL with the frame as its body, a blank line,
// then the JSON envelope.
package telemetry
