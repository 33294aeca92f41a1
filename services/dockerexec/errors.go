package dockerexec

import (
	"context"
	"errors"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"

	"github.com/ecs-agent/ecs-agent/bus"
)

// engineError turns an error of a Docker call into a bus error. Failures of the
// engine itself (it does not answer, it is too slow) get the retryable transport
// codes whatever the operation; a missing object gets CodeNotFound when notFound is
// set; everything else gets the operation's domain code, with the engine's message
// so that the reason a user sees says what Docker said.
func engineError(err error, domain bus.Code, notFound bool, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return bus.Errorf(bus.CodeTimeout, "%s: the Docker engine did not answer in time: %s", what, oneLine(err))
	case errors.Is(err, context.Canceled):
		return bus.Errorf(bus.CodeUnavailable, "%s: dockerexec is shutting down", what)
	case client.IsErrConnectionFailed(err) || cerrdefs.IsUnavailable(err):
		return bus.Errorf(bus.CodeUnavailable, "%s: the Docker engine does not answer: %s", what, oneLine(err))
	case notFound && cerrdefs.IsNotFound(err):
		return bus.Errorf(bus.CodeNotFound, "%s: %s", what, oneLine(err))
	}
	return bus.Errorf(domain, "%s: %s", what, oneLine(err))
}

// oneLine flattens an error message for a NATS header, which cannot carry line
// breaks, and strips the client's "Error response from daemon: " prefix, which says
// nothing to the user reading the reason.
func oneLine(err error) string {
	s := err.Error()
	s = strings.ReplaceAll(s, "Error response from daemon: ", "")
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	return strings.TrimSpace(s)
}

// badRequest is a malformed request; the caller must not retry it unchanged.
func badRequest(format string, args ...any) error {
	return bus.Errorf(bus.CodeBadRequest, format, args...)
}
