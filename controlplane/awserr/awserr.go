package awserr

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes used by the control plane, as named in the ECS model.
const (
	CodeClient                        = "ClientException"
	CodeServer                        = "ServerException"
	CodeInvalidParameter              = "InvalidParameterException"
	CodeClusterNotFound               = "ClusterNotFoundException"
	CodeClusterContainsInstances      = "ClusterContainsContainerInstancesException"
	CodeClusterContainsTasks          = "ClusterContainsTasksException"
	CodeInvalidSignature              = "InvalidSignatureException"
	CodeUnrecognizedClient            = "UnrecognizedClientException"
	CodeMissingAuthenticationToken    = "MissingAuthenticationTokenException"
	CodeUnknownOperation              = "UnknownOperationException"
	CodeSerialization                 = "SerializationException"
	CodeThrottling                    = "ThrottlingException"
	CodeInactiveInstance              = "InactiveInstanceException"
	CodeResourceNotFound              = "ResourceNotFoundException"
	MessageClusterNotFound            = "Cluster not found."
	MessageInvalidSignature           = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	MessageUnrecognizedClient         = "The security token included in the request is invalid."
	MessageMissingAuthenticationToken = "Missing Authentication Token"
)

// Error is an AWS-shaped API error.
type Error struct {
	Code    string
	Message string
	Status  int
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// New builds an error with an explicit status.
func New(code string, status int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: status}
}

// Client is a ClientException (HTTP 400).
func Client(format string, args ...any) *Error {
	return New(CodeClient, http.StatusBadRequest, format, args...)
}

// InvalidParameter is an InvalidParameterException (HTTP 400).
func InvalidParameter(format string, args ...any) *Error {
	return New(CodeInvalidParameter, http.StatusBadRequest, format, args...)
}

// ClusterNotFound is the error of operations whose model lists ClusterNotFoundException.
func ClusterNotFound() *Error {
	return New(CodeClusterNotFound, http.StatusBadRequest, MessageClusterNotFound)
}

// ClusterNotFoundClient is the same condition for operations that only model
// ClientException (RegisterContainerInstance, DiscoverPollEndpoint, Submit*): the agent
// recognises it by the message text alone.
func ClusterNotFoundClient() *Error {
	return Client(MessageClusterNotFound)
}

// Server is a ServerException (HTTP 500).
func Server(format string, args ...any) *Error {
	return New(CodeServer, http.StatusInternalServerError, format, args...)
}

// As extracts an *Error from err, turning any other error into a ServerException so a
// caller at the edge always has something to write.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Server("%s", err.Error())
}

// IsCode reports whether err is an *Error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
