// Package sigv4 verifies AWS Signature Version 4 on incoming requests: it recomputes the
// signature from the request and the secret of the access key named in the
// Authorization header and compares. Any region is accepted; the service must be "ecs".
// The ACS websocket upgrade is signed the same way (a GET with an empty body).
package sigv4
