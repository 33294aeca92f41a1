// Package creds mints the temporary credentials of task roles and keeps the book of
// what was issued to agents.
//
// The control plane hands each task's task role and execution role credentials to the
// agent, in the task's payload and then in IAMRoleCredentialsMessages before they
// expire. A Minter makes them: Local invents well-formed keys (nothing checks them),
// STS asks an STS endpoint (such as moto_server) to AssumeRole, so that the keys work
// against that endpoint's other services. The Book records every issue of a role's
// credentials and its ack, never the keys themselves, for the admin API.
//
// Keys live only in Credentials values on their way to the agent: never log one, never
// persist one.
package creds
