// Package e2e runs the whole agent against the local control plane and the real Docker
// engine: the binaries from ./out (make gobuild), driven the way an operator would, with
// the ECS API. Tests skip with the reason when the binaries or a Docker engine are
// missing.
package e2e
