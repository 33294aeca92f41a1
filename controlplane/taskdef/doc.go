// Package taskdef holds the task-definition shapes of the ECS API (the subset the control
// plane understands), their validation at registration, the resources a task of a
// definition holds on an instance, and the translation of a definition plus RunTask
// overrides into the ACS Task the agent receives (PROTOCOL.md §2.7).
//
// The container shape of ACS has no field for most task-definition features (working
// directory, labels, health check, ulimits, log configuration…); real ECS serialises them
// into Docker Engine API JSON strings (dockerConfig.config and dockerConfig.hostConfig),
// and so does this package, so the agent sees what it would see from the service.
package taskdef
