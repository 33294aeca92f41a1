package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/backoff"
	"github.com/gorilla/websocket"
)

// maxFrameBytes bounds one inbound frame. A larger one ends the connection with a
// clear error instead of exhausting memory.
const maxFrameBytes = 8 << 20

// Close codes after which the real agent reconnects at once (PROTOCOL.md §2.8).
var normalCloseCodes = []int{
	websocket.CloseNormalClosure, websocket.CloseGoingAway,
	websocket.CloseAbnormalClosure, websocket.CloseInternalServerErr,
}

// outcome is how one connection ended.
type outcome struct {
	err       error
	connected time.Duration // how long the socket was up; 0 if it never was
	normal    bool          // reconnect at once
}

// runACS keeps an ACS connection until ctx ends.
//
//	connect ──ok──▶ serve ──close 1000/1001/1006/1011, max age──▶ connect at once
//	   │              └──other failure──▶ backoff (reset after BackoffResetAfter up)
//	   └──InactiveInstanceException──▶ wait InactiveInstanceWait
func (s *Service) runACS(ctx context.Context, reg bus.Registration) {
	t := s.cfg.Timers
	bo := backoff.Backoff{Min: t.ReconnectBackoffMin, Max: t.ReconnectBackoffMax, Factor: 1.5, Jitter: 0.2}.Start()
	for ctx.Err() == nil {
		o := s.connectOnce(ctx, reg)
		if ctx.Err() != nil {
			return
		}
		if o.connected >= t.BackoffResetAfter {
			bo.Reset()
		}
		var wait time.Duration
		switch {
		case errors.Is(o.err, ErrInactiveInstance):
			bo.Reset()
			wait = t.InactiveInstanceWait
			s.log.Error().Err(o.err).Dur("retry_in", wait).
				Msg("the control plane says this instance is deregistered; running tasks are kept")
		case o.normal:
			bo.Reset()
			s.log.Info().AnErr("reason", o.err).Msg("ACS connection closed; reconnecting")
			continue
		default:
			wait = bo.Next()
			s.m.failure()
			s.log.Warn().Err(o.err).Dur("retry_in", wait).Msg("ACS connection failed")
		}
		if sleep(ctx, wait) != nil {
			return
		}
	}
}

// acsConn is one open websocket. Writes come from the reader (heartbeat acks) and
// the payload worker (acks), so they are serialised by mu.
type acsConn struct {
	ws       *websocket.Conn
	deadline time.Duration
	mu       sync.Mutex
}

func (c *acsConn) send(typ string, msg any) error {
	frame, err := acs.Encode(typ, msg)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.deadline))
	if err := c.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
		return fmt.Errorf("writing %s: %w", typ, err)
	}
	return nil
}

func (c *acsConn) close(code int, text string) {
	c.mu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	c.mu.Unlock()
	_ = c.ws.Close()
}

// connectOnce discovers the endpoint, connects, and serves the connection until it
// ends. Called from Run's goroutine.
func (s *Service) connectOnce(ctx context.Context, reg bus.Registration) outcome {
	endpoint, err := s.pollEndpoint(ctx, reg.ContainerInstanceArn)
	if err != nil {
		return outcome{err: err}
	}
	askCredentials := s.needCredentials.Swap(false)
	ws, err := s.dial(ctx, endpoint, reg, askCredentials)
	if err != nil {
		if askCredentials {
			s.needCredentials.Store(true) // not asked yet
		}
		return outcome{err: err}
	}
	start := s.now()
	s.log.Info().Str("endpoint", endpoint).Msg("ACS connected")
	defer s.m.up(s.everConnected.Swap(true))()
	ws.SetReadLimit(maxFrameBytes)
	c := &acsConn{ws: ws, deadline: s.cfg.Timers.ReadDeadline}

	cctx, cancel := context.WithCancel(ctx)
	work := make(chan inbound, 16)
	activity := make(chan struct{}, 1)
	readDone := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() { s.worker(cctx, c, work) })
	go func() {
		readDone <- s.readLoop(cctx, c, activity, work)
		close(work)
	}()

	t := s.cfg.Timers
	inactivity := time.NewTimer(backoff.AddJitter(t.Inactivity, t.InactivityJitter))
	defer inactivity.Stop()
	maxAge := time.NewTimer(backoff.AddJitter(t.MaxConnAge, t.MaxConnAgeJitter))
	defer maxAge.Stop()
	var (
		o        outcome
		closeMsg string
		code     = websocket.CloseNormalClosure
	)
wait:
	for {
		select {
		case <-ctx.Done():
			o, code, closeMsg = outcome{err: ctx.Err()}, websocket.CloseGoingAway, "agent stopping"
			break wait
		case <-activity:
			inactivity.Reset(backoff.AddJitter(t.Inactivity, t.InactivityJitter))
		case <-inactivity.C:
			o = outcome{err: errors.New("no message from ACS within the inactivity timeout")}
			closeMsg = "InactivityTimeout: no message received"
			break wait
		case <-s.kick:
			o = outcome{err: errors.New("the agent asked for a new connection"), normal: true}
			closeMsg = "reconnecting"
			break wait
		case <-maxAge.C:
			o = outcome{err: errors.New("connection reached its maximum age"), normal: true}
			closeMsg = "ConnectionExpired: Reconnect to continue"
			break wait
		case err := <-readDone:
			readDone <- err // for the cleanup below
			o = classifyReadError(err)
			break wait
		}
	}
	// Stop the worker first (a payload half stored is simply not acked, and the
	// control plane sends it again), then the socket, then wait for both goroutines.
	cancel()
	if closeMsg != "" {
		c.close(code, closeMsg)
	} else {
		_ = ws.Close()
	}
	<-readDone
	wg.Wait()
	o.connected = s.now().Sub(start)
	return o
}

func classifyReadError(err error) outcome {
	o := outcome{err: fmt.Errorf("reading from ACS: %w", err)}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		o.normal = websocket.IsCloseError(err, normalCloseCodes...)
		if !o.normal && strings.Contains(ce.Text, acs.TypeInactiveInstanceException) {
			o.err = fmt.Errorf("%w: ACS closed the connection: %s", ErrInactiveInstance, ce.Text)
		}
	}
	return o
}

// readLoop reads frames until the socket fails. Recognised messages are signalled
// on activity (which keeps the connection from being closed as inactive).
func (s *Service) readLoop(ctx context.Context, c *acsConn, activity chan<- struct{}, work chan<- inbound) error {
	for {
		_ = c.ws.SetReadDeadline(time.Now().Add(c.deadline))
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				s.log.Error().Int("limit_bytes", maxFrameBytes).Msg("ACS frame too large; closing the connection")
			}
			return err
		}
		if mt == websocket.BinaryMessage {
			s.log.Error().Msg("ACS sent a binary frame; processing it anyway")
		}
		if s.handleFrame(ctx, c, data, work) {
			select {
			case activity <- struct{}{}:
			default:
			}
		}
	}
}
