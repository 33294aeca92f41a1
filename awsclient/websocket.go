package awsclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/gorilla/websocket"
)

// The agent's websockets (ACS in the session, TCS in the reporter) are opened the
// same way (PROTOCOL.md §2.1, §2.2, §3): the http(s) endpoint gets a "ws" path and
// a query, the upgrade GET is SigV4-signed for service "ecs" with an empty body, and
// the signature headers travel with the upgrade.

// SigningName is the SigV4 service name of both websockets ("ecs", not "ecsacs").
const SigningName = "ecs"

// EmptySHA256 is the hex SHA-256 of an empty body: the upgrade GET has none.
const EmptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// WebsocketURL builds a websocket URL from an endpoint: a trailing '/' ensured, "ws"
// appended, q encoded (keys sorted, as url.Values.Encode does). It returns the ws(s)
// URL to dial and the http(s) URL that is signed; they differ only in the scheme.
func WebsocketURL(endpoint string, q url.Values) (wsURL, httpURL string, err error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", "", fmt.Errorf("endpoint %q: %w", endpoint, err)
	}
	var wsScheme string
	switch u.Scheme {
	case "http":
		wsScheme = "ws"
	case "https":
		wsScheme = "wss"
	default:
		return "", "", fmt.Errorf("endpoint %q: scheme must be http or https", endpoint)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.Path += "ws"
	u.RawQuery = q.Encode()
	httpURL = u.String()
	u.Scheme = wsScheme
	return u.String(), httpURL, nil
}

// Signer signs the agent's websocket requests with its credentials.
type Signer struct {
	Signer      *v4.Signer
	Credentials aws.CredentialsProvider
	Region      string
	// Now is the signing clock; nil means time.Now.
	Now func() time.Time
}

// Sign signs req, whose body is body (nil for none), for SigningName.
func (s Signer) Sign(ctx context.Context, req *http.Request, body []byte) error {
	creds, err := s.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("retrieving credentials: %w", err)
	}
	hash := EmptySHA256
	if len(body) > 0 {
		sum := sha256.Sum256(body)
		hash = hex.EncodeToString(sum[:])
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if err := s.Signer.SignHTTP(ctx, creds, req, hash, SigningName, s.Region, now()); err != nil {
		return fmt.Errorf("signing the request: %w", err)
	}
	return nil
}

// SignUpgrade returns the upgrade GET of httpURL, signed.
func (s Signer) SignUpgrade(ctx context.Context, httpURL string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, httpURL, nil)
	if err != nil {
		return nil, fmt.Errorf("building the upgrade request: %w", err)
	}
	if err := s.Sign(ctx, req, nil); err != nil {
		return nil, err
	}
	return req, nil
}

// WebsocketDialer is the dialer of the agent's websockets: the real agent's 4 KiB
// read and 32 KiB write buffers, TLS per TLSConfig, proxies from the environment.
func WebsocketDialer(handshakeTimeout time.Duration, skipVerify bool) *websocket.Dialer {
	return &websocket.Dialer{
		HandshakeTimeout: handshakeTimeout,
		TLSClientConfig:  TLSConfig(skipVerify),
		ReadBufferSize:   4 << 10,
		WriteBufferSize:  32 << 10,
		Proxy:            http.ProxyFromEnvironment,
	}
}

// DialSigned signs the upgrade of httpURL and dials wsURL with the signature headers
// and userAgent. A refused upgrade returns the response (body unread, for the
// caller to decode and close) with the error.
func DialSigned(ctx context.Context, d *websocket.Dialer, s Signer, wsURL, httpURL, userAgent string) (*websocket.Conn, *http.Response, error) {
	req, err := s.SignUpgrade(ctx, httpURL)
	if err != nil {
		return nil, nil, err
	}
	hdr := http.Header{}
	for _, k := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token"} {
		if v := req.Header.Get(k); v != "" {
			hdr.Set(k, v)
		}
	}
	if userAgent != "" {
		hdr.Set("User-Agent", userAgent)
	}
	return d.DialContext(ctx, wsURL, hdr)
}
