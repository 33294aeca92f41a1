// Package ecsapi is the reporter's edge to the ECS JSON API: it turns a bus
// TaskStateChange into a SubmitTaskStateChange call made with the AWS SDK, and turns
// the SDK's errors into the two outcomes the outbox cares about: retry later, or drop
// the report because the control plane will never accept it.
//
// AWS shapes stop here; nothing outside this package sees an SDK type.
package ecsapi
