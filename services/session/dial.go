package session

import (
	"context"
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

// acsURL builds the websocket URL of PROTOCOL.md §2.1 from a DiscoverPollEndpoint
// answer. It returns the ws(s) URL to dial and the http(s) URL that is signed; they
// differ only in the scheme.
func (s *Service) acsURL(endpoint string, reg bus.Registration, sendCredentials bool) (wsURL, httpURL string, err error) {
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
	wsURL, httpURL, err = awsclient.WebsocketURL(endpoint, q)
	if err != nil {
		return "", "", fmt.Errorf("ACS %w", err)
	}
	return wsURL, httpURL, nil
}

// dial opens the ACS websocket. The upgrade GET is SigV4-signed for service "ecs"
// (not "ecsacs") with an empty body, and the signature headers travel with it.
func (s *Service) dial(ctx context.Context, endpoint string, reg bus.Registration, sendCredentials bool) (*websocket.Conn, error) {
	s.learnDockerVersion(ctx)
	wsURL, httpURL, err := s.acsURL(endpoint, reg, sendCredentials)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, s.cfg.Timers.HandshakeTimeout)
	defer cancel()
	conn, resp, err := awsclient.DialSigned(dctx, s.dialer, s.upgradeSigner(), wsURL, httpURL, awsclient.UserAgent(s.cfg.AgentVersionString))
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

func (s *Service) upgradeSigner() awsclient.Signer {
	return awsclient.Signer{Signer: s.signer, Credentials: s.creds, Region: s.cfg.Region, Now: s.now}
}

// signUpgrade returns the upgrade GET of httpURL, signed.
func (s *Service) signUpgrade(ctx context.Context, httpURL string) (*http.Request, error) {
	req, err := s.upgradeSigner().SignUpgrade(ctx, httpURL)
	if err != nil {
		return nil, fmt.Errorf("ACS upgrade: %w", err)
	}
	return req, nil
}

// handshakeError decodes a refused upgrade's body into "Type: message" ("" when it
// names no known error).
func handshakeError(body []byte) string { return acs.RefusalText(body) }

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
