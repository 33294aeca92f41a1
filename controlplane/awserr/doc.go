// Package awserr is the one error type of the control plane: an AWS JSON 1.1 error with
// its code (the `__type` the SDKs switch on), its message and its HTTP status. Domain
// packages return these so the HTTP edge only has to write them out; anything else
// reaching the edge is reported as a ServerException.
package awserr
