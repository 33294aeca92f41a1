// Package taskserver serves what the real agent serves its tasks' containers on
// 127.0.0.1:51679 (reached by them as 169.254.170.2:80 through the iptables rules of
// ecs-init): the task role's credentials and the task metadata endpoint.
//
//	GET /v2/credentials/<credentialsId>, /v1/credentials?id=<credentialsId>
//	GET /v4/<endpointId>                 the container
//	GET /v4/<endpointId>/task            the task, with its containers
//	GET /v4/<endpointId>/taskWithTags    the same (no tags are known, see below)
//	GET /v4/<endpointId>/stats           the container's Docker stats
//	GET /v4/<endpointId>/task/stats      every container's, by Docker ID
//	and the same under /v3/ in v3's shapes
//
// The answers have the real agent's field names, omissions and error strings
// (its agent/handlers/v2..v4 and ecs-agent/tmds packages), so that the SDKs'
// container credential providers and the tools that read task metadata work unchanged.
//
// Where things come from:
//   - the task records (the scheduler's, bucket ecs_tasks): a task is found by any of
//     its containers' EndpointID, or by its Spec.TaskCredentialsID; the reporter's
//     watcher keeps the index (introspection.State), so a request does not wait on
//     the bus;
//   - the credentials (the session's, bucket ecs_credentials, sealed): read and opened
//     per request. Only a task role's (TaskApplication) are served: an execution
//     role's are the agent's own and are answered as not found. Credential values
//     are never logged;
//   - the stats: one sample from dockerexec per request (bus.SubjectDockerStats),
//     served as the engine's JSON.
//
// What differs from the real agent, for want of the data: container IP addresses are
// not known (Networks carry only the network mode); ContainerARN, ClockDrift, VPCID
// and the awsvpc network interface properties are not sent; taskWithTags sends no
// TaskTags or ContainerInstanceTags, as the real agent does when it cannot read them,
// since the control plane's tags are not fetched. Throttling (ECS_TASK_METADATA_RPS_LIMIT)
// is per task rather than per client address.
//
// Handlers run on the HTTP server's goroutines; they block only on the bus (a
// credentials read, a stats request), bounded by the request's context.
package taskserver
