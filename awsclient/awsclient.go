// Package awsclient is how every part of the agent that calls AWS (the ECS API from
// the session and the reporter) builds its HTTP client, so that they all present the
// real agent's User-Agent, the same timeouts and the same TLS rules (verified unless
// -k), in one place.
package awsclient

import (
	"crypto/tls"
	"net"
	"net/http"
	"time"
)

// UserAgent is the header the real agent sends on every AWS call
// ("Amazon ECS Agent - v1.105.1 (…) (linux; LINUX) (+http://aws.amazon.com/ecs/)"); the
// control plane reads the agent's version from it.
func UserAgent(agentVersion string) string {
	return agentVersion + " (linux; LINUX) (+http://aws.amazon.com/ecs/)"
}

// Round-trip bounds of the real agent's clients: 30 s to dial, 10 s for the TLS
// handshake, 42 s for the whole round trip.
const (
	DialTimeout      = 30 * time.Second
	TLSTimeout       = 10 * time.Second
	RoundTripTimeout = 42 * time.Second
)

// TLSConfig is the TLS setting of every AWS connection, the ACS websocket included:
// TLS 1.2 or later, certificates verified unless skipVerify (the -k flag).
func TLSConfig(skipVerify bool) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: skipVerify} //nolint:gosec // -k asks for it
}

// HTTPClient returns the client for AWS calls: proxies from the environment, the
// timeouts above, TLS per TLSConfig, and userAgent replacing the SDK's User-Agent.
func HTTPClient(userAgent string, skipVerify bool) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = TLSTimeout
	tr.TLSClientConfig = TLSConfig(skipVerify)
	tr.Proxy = http.ProxyFromEnvironment
	var rt http.RoundTripper = tr
	if userAgent != "" {
		rt = userAgentTransport{next: tr, value: userAgent}
	}
	return &http.Client{Transport: rt, Timeout: RoundTripTimeout}
}

// userAgentTransport overwrites the User-Agent header after the SDK has signed the
// request (SigV4 does not sign it), as the real agent's transport does.
type userAgentTransport struct {
	next  http.RoundTripper
	value string
}

func (u userAgentTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.value)
	return u.next.RoundTrip(r)
}

// Doer is an HTTP client as the AWS SDK takes one.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// WithUserAgent wraps a client the SDK built itself (for a configuration loaded with
// the SDK's own chain, which honours AWS_CA_BUNDLE only on its own client) so that
// it presents userAgent as HTTPClient's does.
func WithUserAgent(c Doer, userAgent string) Doer {
	if userAgent == "" {
		return c
	}
	return userAgentDoer{next: c, value: userAgent}
}

type userAgentDoer struct {
	next  Doer
	value string
}

func (u userAgentDoer) Do(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.value)
	return u.next.Do(r)
}
