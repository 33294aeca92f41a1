package bus

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// Code is a stable error code carried by request/reply endpoints in the
// Nats-Service-Error-Code header. Codes are never renumbered.
type Code int

// The error codes, one table for every endpoint.
const (
	CodeBadRequest  Code = 400 // the request is malformed; not retryable
	CodeNotFound    Code = 404 // the container or image does not exist; not retryable
	CodeConflict    Code = 409 // the operation conflicts with the object's state
	CodeInternal    Code = 500 // unexpected failure; retryable
	CodeUnavailable Code = 503 // the engine does not answer; retryable
	CodeTimeout     Code = 504 // the engine took too long; retryable
	// Domain failures, each mapped to the ECS reason name a user sees.
	CodePullFailed   Code = 601 // CannotPullContainerError; not retryable
	CodeCreateFailed Code = 602 // CannotCreateContainerError; not retryable
	CodeStartFailed  Code = 603 // CannotStartContainerError; not retryable
	CodeStopFailed   Code = 604 // CannotStopContainerError; retryable
	// CodeResourceInit is a task resource that could not be prepared (its secrets,
	// its registry credentials): ResourceInitializationError; not retryable.
	CodeResourceInit Code = 605
)

var codeInfo = map[Code]struct {
	name      string
	retryable bool
}{
	CodeBadRequest:   {"BadRequest", false},
	CodeNotFound:     {"NotFound", false},
	CodeConflict:     {"Conflict", false},
	CodeInternal:     {"Internal", true},
	CodeUnavailable:  {"Unavailable", true},
	CodeTimeout:      {"Timeout", true},
	CodePullFailed:   {"CannotPullContainerError", false},
	CodeCreateFailed: {"CannotCreateContainerError", false},
	CodeStartFailed:  {"CannotStartContainerError", false},
	CodeStopFailed:   {"CannotStopContainerError", true},
	CodeResourceInit: {"ResourceInitializationError", false},
}

// Name is the code's stable name; for domain codes it is the ECS error name.
func (c Code) Name() string {
	if i, ok := codeInfo[c]; ok {
		return i.name
	}
	return "Code" + strconv.Itoa(int(c))
}

// Retryable reports whether a caller may try the same request again.
func (c Code) Retryable() bool { return codeInfo[c].retryable }

// Error is an error returned by an endpoint, decoded from reply headers.
type Error struct {
	Code        Code
	Description string
}

func (e *Error) Error() string { return e.Code.Name() + ": " + e.Description }

// Is makes errors.Is(err, &Error{Code: c}) match on the code alone.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) {
		return t.Code == e.Code
	}
	return false
}

// Errorf builds an *Error.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of err, CodeInternal for an error that carries none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// IsRetryable reports whether err is worth retrying: a retryable code, or a
// transport failure (no responders, a responder gone silent, connection closed).
func IsRetryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Code.Retryable()
	}
	return err != nil
}

// RespondError answers req with err, carrying its code (CodeInternal if none).
func RespondError(req micro.Request, err error) {
	code := CodeOf(err)
	_ = req.Error(strconv.Itoa(int(code)), err.Error(), nil)
}

// ErrorFromReply decodes an endpoint error from a reply, or returns nil.
func ErrorFromReply(msg *nats.Msg) error {
	if msg.Header == nil {
		return nil
	}
	codeStr := msg.Header.Get(micro.ErrorCodeHeader)
	if codeStr == "" {
		return nil
	}
	n, err := strconv.Atoi(codeStr)
	if err != nil {
		n = int(CodeInternal)
	}
	return &Error{Code: Code(n), Description: msg.Header.Get(micro.ErrorHeader)}
}
