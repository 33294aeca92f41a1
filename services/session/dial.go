package session

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/awsclient"
	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/gorilla/websocket"
)

// emptySHA256 is the hex SHA-256 of an empty body: the upgrade GET has none.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// acsURL builds the websocket URL of PROTOCOL.md §2.1 from a DiscoverPollEndpoint
// answer. It returns the ws(s) URL to dial and the http(s) URL that is signed; they
// differ only in the scheme.
func (s *Service) acsURL(endpoint string, reg bus.Registration, sendCredentials bool) (wsURL, httpURL string, err error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", "", fmt.Errorf("ACS endpoint %q: %w", endpoint, err)
	}
	var wsScheme string
	switch u.Scheme {
	case "http":
		wsScheme = "ws"
	case "https":
		wsScheme = "wss"
	default:
		return "", "", fmt.Errorf("ACS endpoint %q: scheme must be http or https", endpoint)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.Path += "ws"
	q := url.Values{}
	q.Set("agentHash", s.cfg.AgentHash)
	q.Set("agentVersion", s.cfg.AgentVersion)
	q.Set("clusterArn", reg.Cluster)
	q.Set("containerInstanceArn", reg.ContainerInstanceArn)
	if v := s.engineVersion(); v != "" {
		q.Set("dockerVersion", "DockerVersion: "+v)
	}
	q.Set("protocolVersion", "2")
	q.Set("sendCredentials", fmt.Sprint(sendCredentials))
	q.Set("seqNum", "1")
	u.RawQuery = q.Encode()
	httpURL = u.String()
	u.Scheme = wsScheme
	return u.String(), httpURL, nil
}

// dial opens the ACS websocket. The upgrade GET is SigV4-signed for service "ecs"
// (not "ecsacs") with an empty body, and the signature headers travel with it.
func (s *Service) dial(ctx context.Context, endpoint string, reg bus.Registration, sendCredentials bool) (*websocket.Conn, error) {
	s.learnDockerVersion(ctx)
	wsURL, httpURL, err := s.acsURL(endpoint, reg, sendCredentials)
	if err != nil {
		return nil, err
	}
	req, err := s.signUpgrade(ctx, httpURL)
	if err != nil {
		return nil, err
	}
	hdr := http.Header{}
	for _, k := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token"} {
		if v := req.Header.Get(k); v != "" {
			hdr.Set(k, v)
		}
	}
	hdr.Set("User-Agent", awsclient.UserAgent(s.cfg.AgentVersionString))
	dctx, cancel := context.WithTimeout(ctx, s.cfg.Timers.HandshakeTimeout)
	defer cancel()
	conn, resp, err := s.dialer.DialContext(dctx, wsURL, hdr)
	if err != nil {
		if resp != nil {
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
			if text := handshakeError(body); text != "" {
				if strings.Contains(text, acs.TypeInactiveInstanceException) {
					return nil, fmt.Errorf("%w: ACS refused the connection: %s", ErrInactiveInstance, text)
				}
				return nil, fmt.Errorf("ACS refused the connection (HTTP %d): %s", resp.StatusCode, text)
			}
			return nil, fmt.Errorf("ACS refused the connection (HTTP %d): %w", resp.StatusCode, err)
		}
		where := wsURL
		if u, perr := url.Parse(wsURL); perr == nil {
			where = u.Scheme + "://" + u.Host + u.Path
		}
		return nil, fmt.Errorf("connecting to ACS at %s (the endpoint DiscoverPollEndpoint gave; registration succeeded): %w", where, err)
	}
	return conn, nil
}

// signUpgrade returns the upgrade GET of httpURL, signed.
func (s *Service) signUpgrade(ctx context.Context, httpURL string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, httpURL, nil)
	if err != nil {
		return nil, fmt.Errorf("building the ACS request: %w", err)
	}
	creds, err := s.creds.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("retrieving credentials: %w", err)
	}
	if err := s.signer.SignHTTP(ctx, creds, req, emptySHA256, "ecs", s.cfg.Region, s.now()); err != nil {
		return nil, fmt.Errorf("signing the ACS request: %w", err)
	}
	return req, nil
}

// knownErrors are the error types a refused upgrade may name.
var knownErrors = []string{
	acs.TypeServerException, acs.TypeBadRequestException, acs.TypeInvalidClusterException,
	acs.TypeInvalidInstanceException, acs.TypeAccessDeniedException, acs.TypeInactiveInstanceException,
}

// handshakeError decodes a refused upgrade's body, framed
// ({"type":"T","message":{"message":"m"}}) or not ({"T":"m"}), into "T: m"; it
// returns "" for a body that names no known error.
func handshakeError(body []byte) string {
	var framed struct {
		Type    string               `json:"type"`
		Message acs.ExceptionMessage `json:"message"`
	}
	if json.Unmarshal(body, &framed) == nil && isKnownError(framed.Type) {
		return framed.Type + ": " + framed.Message.Message
	}
	var bare map[string]json.RawMessage
	if json.Unmarshal(body, &bare) == nil {
		for _, t := range knownErrors {
			raw, ok := bare[t]
			if !ok {
				continue
			}
			var msg string
			if json.Unmarshal(raw, &msg) != nil {
				msg = string(raw)
			}
			return t + ": " + msg
		}
	}
	return ""
}

func isKnownError(t string) bool {
	for _, k := range knownErrors {
		if t == k {
			return true
		}
	}
	return false
}

// engineVersion is the Docker version to report: configured, or learnt from dockerexec.
func (s *Service) engineVersion() string {
	if s.cfg.DockerVersion != "" {
		return s.cfg.DockerVersion
	}
	return s.dockerVersion
}

// learnDockerVersion asks dockerexec for the engine's version until it is known. The
// session does not talk to Docker itself, and may start before dockerexec: the first
// connection waits a few seconds for it, later ones ask once, and a connection goes
// ahead without the version rather than wait longer.
func (s *Service) learnDockerVersion(ctx context.Context) {
	if s.engineVersion() != "" || s.nc == nil {
		return
	}
	wait := time.Duration(0)
	if !s.askedDockerVersion {
		wait = s.cfg.Timers.DockerVersionWait
	}
	s.askedDockerVersion = true
	deadline := time.Now().Add(wait)
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		v, err := bus.DockerEngineVersion(actx, s.nc)
		cancel()
		if err == nil {
			s.dockerVersion = v
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.log.Debug().Err(err).Msg("Docker version not known yet; connecting without it")
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
}
