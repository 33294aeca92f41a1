package controlplane

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
	"github.com/ecs-agent/ecs-agent/controlplane/state"
)

const (
	maxFrame     = 1 << 20
	writeTimeout = 10 * time.Second
	// closeInactive is the close code sent to a deregistered instance: not one the agent
	// treats as normal, so it reads the reason and backs off.
	closeInactive = websocket.ClosePolicyViolation
)

// acsSession is one open ACS socket. Lifecycle (the writer, run, is in acs_delivery.go):
//
//	upgrade ─▶ run: deliver owed tasks, then a manifest
//	              │
//	              ├─ payload in flight ─▶ AckRequest with its messageId ─▶ next owed tasks
//	              │      └─ every PayloadRetryInterval: owed set unchanged ─▶ re-send it
//	              │                                      changed ─▶ replace it (new id, seqNum)
//	              ├─ every ManifestInterval: TaskManifestMessage
//	              ├─ TaskStopVerificationMessage ─▶ TaskStopVerificationAck
//	              ├─ on connect (sendCredentials=true) and when a third of their lifetime
//	              │  is left: IAMRoleCredentialsMessage per role, re-sent every
//	              │  PayloadRetryInterval until its IAMRoleCredentialsAckRequest
//	              └─ every HeartbeatInterval: HeartbeatMessage
//	any read error or close() ends run.
//
// Only run writes data frames (gorilla allows one writer); readLoop hands it what the
// agent sent over channels. close may be called from any goroutine.
type acsSession struct {
	srv         *Server
	ws          *websocket.Conn
	instanceArn string
	clusterArn  string
	log         zerolog.Logger

	kick          chan struct{}                        // capacity 1: "owed tasks may have changed"
	acks          chan string                          // messageIds of AckRequests
	verifications chan acs.TaskStopVerificationMessage // stop verifications to answer
	credAcks      chan acs.IAMRoleCredentialsAckRequest
	// sendCredentials is the agent's request (in the URL) for every role's credentials
	// on connect, which it makes when it starts and holds none.
	sendCredentials bool
	done            chan struct{}
	closeOnce       sync.Once

	// Owned by run.
	inflight  *acs.PayloadMessage // the payload awaiting its ack, if any
	manifests []string            // messageIds of the latest manifests, newest last
	// refreshes holds the unacknowledged IAMRoleCredentialsMessage of each role, by
	// credentials ID: a newer refresh of a role replaces its older one.
	refreshes map[string]acs.IAMRoleCredentialsMessage
}

func (s *Server) serveWebsocket(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !s.cfg.AllowUnsigned {
		if err := s.verifier.Verify(r, nil); err != nil {
			e := awserr.As(err)
			writeACSError(w, e.Status, e.Code, e.Message)
			return
		}
	}
	switch {
	case q.Get("containerInstanceArn") != "":
		s.serveACS(w, r, q.Get("containerInstanceArn"))
	case q.Get("containerInstance") != "":
		s.serveTCS(w, r, q.Get("cluster"), q.Get("containerInstance"))
	default:
		writeACSError(w, http.StatusBadRequest, acs.TypeBadRequestException, "containerInstanceArn is required")
	}
}

// writeACSError refuses an upgrade with the body the agent decodes:
// {"type":"<ErrorType>","message":{"message":"…"}}.
func writeACSError(w http.ResponseWriter, status int, typ, msg string) {
	raw, _ := json.Marshal(map[string]any{"type": typ, "message": acs.ExceptionMessage{Message: msg}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(raw)
}

func (s *Server) serveACS(w http.ResponseWriter, r *http.Request, instanceArn string) {
	inst, ok := s.store.Instance(instanceArn)
	switch {
	case !ok:
		writeACSError(w, http.StatusBadRequest, acs.TypeInvalidInstanceException, "Container instance "+instanceArn+" is not registered.")
		return
	case inst.Status == state.StatusInactive:
		writeACSError(w, http.StatusBadRequest, acs.TypeInactiveInstanceException, "Container instance "+instanceArn+" is inactive.")
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.log.Warn().Err(err).Str("container_instance", instanceArn).Msg("ACS upgrade failed")
		return
	}
	ws.SetReadLimit(maxFrame)
	a := &acsSession{
		srv:           s,
		ws:            ws,
		instanceArn:   instanceArn,
		clusterArn:    inst.ClusterArn,
		log:           s.log.With().Str("container_instance", instanceArn).Logger(),
		kick:          make(chan struct{}, 1),
		acks:          make(chan string, 16),
		verifications: make(chan acs.TaskStopVerificationMessage, 4),
		credAcks:      make(chan acs.IAMRoleCredentialsAckRequest, 16),
		done:          make(chan struct{}),
		refreshes:     map[string]acs.IAMRoleCredentialsMessage{},

		sendCredentials: r.URL.Query().Get("sendCredentials") == "true",
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ws.Close()
		return
	}
	old := s.sessions[instanceArn]
	s.sessions[instanceArn] = a
	s.mu.Unlock()
	if old != nil {
		old.close()
	}
	s.store.SetAgentConnected(instanceArn, true)
	q := r.URL.Query()
	if err := s.store.SetVersionInfo(instanceArn, state.VersionInfo{
		AgentVersion: q.Get("agentVersion"), AgentHash: q.Get("agentHash"), DockerVersion: q.Get("dockerVersion"),
	}); err != nil {
		a.log.Warn().Err(err).Msg("saving the agent's versions")
	}
	a.log.Info().Str("agent_version", q.Get("agentVersion")).Str("docker_version", q.Get("dockerVersion")).Msg("ACS connected")
	a.run()
	s.mu.Lock()
	current := s.sessions[instanceArn] == a
	if current {
		delete(s.sessions, instanceArn)
	}
	s.mu.Unlock()
	if current {
		s.store.SetAgentConnected(instanceArn, false)
	}
	a.log.Info().Msg("ACS disconnected")
}

func (a *acsSession) close() {
	a.closeOnce.Do(func() {
		close(a.done)
		a.ws.Close()
	})
}

// closeWith sends a close frame before closing, so the agent reads the reason.
func (a *acsSession) closeWith(code int, reason string) {
	_ = a.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	a.close()
}

func (a *acsSession) write(typ string, msg any) bool {
	frame, err := acs.Encode(typ, msg)
	if err != nil {
		a.log.Error().Err(err).Msg("encoding ACS frame")
		return true
	}
	_ = a.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := a.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
		a.log.Debug().Err(err).Msg("ACS write failed")
		a.close()
		return false
	}
	return true
}

// readLoop runs on its own goroutine and hands acks (of payloads and of credentials) and
// stop verifications to run; it
// blocks only on run taking them.
func (a *acsSession) readLoop() {
	defer a.close()
	for {
		_, frame, err := a.ws.ReadMessage()
		if err != nil {
			return
		}
		env, err := acs.Decode(frame)
		if err != nil {
			a.log.Warn().Err(err).Msg("ignoring undecodable ACS frame")
			continue
		}
		switch env.Type {
		case acs.TypeAckRequest:
			var ack acs.AckRequest
			if err := json.Unmarshal(env.Message, &ack); err != nil {
				continue
			}
			if a.srv.faults.AcksWithheld() {
				a.log.Debug().Str("message_id", ack.MessageID).Msg("withholding ack (fault)")
				continue
			}
			select {
			case a.acks <- ack.MessageID:
			case <-a.done:
				return
			}
		case acs.TypeTaskStopVerificationMsg:
			var v acs.TaskStopVerificationMessage
			if err := json.Unmarshal(env.Message, &v); err != nil || v.MessageID == "" {
				a.log.Warn().Str("type", env.Type).Msg("ignoring a stop verification without messageId")
				continue
			}
			select {
			case a.verifications <- v:
			case <-a.done:
				return
			}
		case acs.TypeIAMRoleCredentialsAck:
			var ack acs.IAMRoleCredentialsAckRequest
			if err := json.Unmarshal(env.Message, &ack); err != nil || ack.MessageID == "" || ack.CredentialsID == "" {
				a.log.Warn().Str("type", env.Type).Msg("ignoring a credentials ack without messageId or credentialsId")
				continue
			}
			select {
			case a.credAcks <- ack:
			case <-a.done:
				return
			}
		case acs.TypeHeartbeatAckRequest, acs.TypeNackRequest:
			a.log.Debug().Str("type", env.Type).Msg("ACS message")
		default:
			a.log.Debug().Str("type", env.Type).Msg("ignoring unknown ACS message")
		}
	}
}

// kick tells the instance's session, if any, that it may owe the agent tasks.
func (s *Server) kick(instanceArn string) {
	s.mu.Lock()
	a := s.sessions[instanceArn]
	s.mu.Unlock()
	if a == nil {
		return
	}
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// closeInactive closes a deregistered instance's socket with InactiveInstanceException.
func (s *Server) closeInactive(instanceArn string) {
	s.mu.Lock()
	a := s.sessions[instanceArn]
	s.mu.Unlock()
	if a != nil {
		a.closeWith(closeInactive, acs.TypeInactiveInstanceException+": Container instance deregistered")
	}
}

// DropACS closes an instance's ACS socket abruptly, as a network failure would, and
// reports whether one was open.
func (s *Server) DropACS(instanceArn string) bool {
	s.mu.Lock()
	a := s.sessions[instanceArn]
	s.mu.Unlock()
	if a == nil {
		return false
	}
	a.close()
	return true
}

// ConnectedInstances lists the instances with an open ACS socket.
func (s *Server) ConnectedInstances() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.sessions))
	for arn := range s.sessions {
		out = append(out, arn)
	}
	return out
}

func newHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
