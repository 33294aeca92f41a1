package session

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/logger"
	"github.com/ecs-agent/ecs-agent/services/session/payload"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// The real agent's answers.
const (
	updatesDisabledReason  = "Updates are disabled"
	unrecognisedTaskReason = "UnrecogniedTaskError: Error loading task - " // sic, as the real agent sends it
)

// sender writes one frame to the control plane; *acsConn is the real one. It is
// called from the reader goroutine and from the worker, and must be safe for both.
type sender interface {
	send(typ string, msg any) error
}

var _ sender = (*acsConn)(nil)

// inbound is work for the payload worker: exactly one field is set.
type inbound struct {
	payload  *acs.PayloadMessage
	manifest *acs.TaskManifestMessage
	verified *acs.TaskStopVerificationAck
	// credentials never appear in a log line.
	credentials *acs.IAMRoleCredentialsMessage
}

// handleFrame handles one frame on the reader goroutine and reports whether it was
// a recognised message. Quick answers (heartbeats, refusals) are written here;
// anything that touches the bus goes to the worker, in order, so the reader keeps
// reading (and heartbeats keep being answered) while the bus is slow.
func (s *Service) handleFrame(ctx context.Context, c sender, frame []byte, work chan<- inbound) bool {
	env, err := acs.Decode(frame)
	if err != nil {
		s.log.Warn().Err(err).Int("bytes", len(frame)).Msg("ignoring an undecodable ACS frame")
		return false
	}
	s.m.message(env.Type)
	log := s.log.With().Str("acs_type", env.Type).Logger()
	switch env.Type {
	case acs.TypeHeartbeatMessage:
		var m acs.HeartbeatMessage
		if !decode(log, env, &m) {
			return false
		}
		if err := c.send(acs.TypeHeartbeatAckRequest, acs.HeartbeatAckRequest{MessageID: m.MessageID}); err != nil {
			log.Warn().Err(err).Msg("answering a heartbeat")
		}
		return true

	case acs.TypePayloadMessage:
		var m acs.PayloadMessage
		if !decode(log, env, &m) {
			return false
		}
		if m.MessageID == "" || m.ClusterArn == "" || m.ContainerInstanceArn == "" {
			log.Error().Str(logger.FieldMessageID, m.MessageID).
				Msg("dropping a PayloadMessage without messageId, clusterArn or containerInstanceArn")
			return true
		}
		for _, t := range m.Tasks {
			log.Debug().Str(logger.FieldMessageID, m.MessageID).Str(logger.FieldTaskARN, t.Arn).Msg("task received")
		}
		return enqueue(ctx, work, inbound{payload: &m})

	case acs.TypeTaskManifestMessage:
		var m acs.TaskManifestMessage
		if !decode(log, env, &m) {
			return false
		}
		if m.MessageID == "" || m.ClusterArn == "" || m.ContainerInstanceArn == "" {
			log.Error().Msg("dropping a TaskManifestMessage without messageId, clusterArn or containerInstanceArn")
			return true
		}
		return enqueue(ctx, work, inbound{manifest: &m})

	case acs.TypeTaskStopVerificationAck:
		var m acs.TaskStopVerificationAck
		if !decode(log, env, &m) {
			return false
		}
		return enqueue(ctx, work, inbound{verified: &m})

	case acs.TypeStageUpdateMessage, acs.TypePerformUpdateMessage:
		var m acs.UpdateMessage
		if !decode(log, env, &m) {
			return false
		}
		// This agent does not update itself; it answers as the real one does with
		// ECS_UPDATES_ENABLED=false.
		if err := c.send(acs.TypeNackRequest, acs.NackRequest{
			Cluster: m.ClusterArn, ContainerInstance: m.ContainerInstanceArn,
			MessageID: m.MessageID, Reason: updatesDisabledReason,
		}); err != nil {
			log.Warn().Err(err).Msg("refusing an update")
		}
		return true

	case acs.TypeIAMRoleCredentialsMsg:
		// Never logged: it carries credentials.
		var m acs.IAMRoleCredentialsMessage
		if !decode(log, env, &m) {
			return false
		}
		return enqueue(ctx, work, inbound{credentials: &m})

	case acs.TypeCloseMessage, acs.TypeErrorMessage,
		acs.TypeInactiveInstanceException, acs.TypeServerException, acs.TypeBadRequestException,
		acs.TypeInvalidClusterException, acs.TypeInvalidInstanceException, acs.TypeAccessDeniedException:
		var m acs.ErrorMessage
		_ = json.Unmarshal(env.Message, &m)
		log.Warn().Str("text", m.Message).Msg("message from ACS")
		return true
	}
	log.Warn().Msg("ignoring an ACS message of unknown type")
	return false
}

func decode(log zerolog.Logger, env acs.Envelope, v any) bool {
	if err := json.Unmarshal(env.Message, v); err != nil {
		log.Error().Err(err).Msg("ignoring an ACS message that does not decode")
		return false
	}
	return true
}

func enqueue(ctx context.Context, work chan<- inbound, in inbound) bool {
	select {
	case work <- in:
	case <-ctx.Done():
	}
	return true
}

// worker stores payloads and answers manifests, in arrival order, until work is
// closed. A ctx that ends abandons what is left: unacked messages come again.
func (s *Service) worker(ctx context.Context, c sender, work <-chan inbound) {
	for in := range work {
		if ctx.Err() != nil {
			continue
		}
		switch {
		case in.payload != nil:
			s.handlePayload(ctx, c, in.payload)
		case in.manifest != nil:
			s.handleManifest(ctx, c, in.manifest)
		case in.verified != nil:
			s.handleStopVerified(ctx, in.verified)
		case in.credentials != nil:
			s.handleCredentials(ctx, c, in.credentials)
		}
	}
}

// handlePayload stores every task of a payload on the desired stream, waiting for
// each PubAck, and acks the payload only when all of them are stored. A task that
// cannot be translated costs the ack (so the control plane knows), and is stored as
// such (DesiredTask.LoadError) for the scheduler, the outbox's one writer, to report
// STOPPED; the other tasks are still stored, as the real agent hands them to its
// engine.
func (s *Service) handlePayload(ctx context.Context, c sender, m *acs.PayloadMessage) {
	log := s.log.With().Str(logger.FieldMessageID, m.MessageID).Logger()
	desired := make([]bus.DesiredTask, 0, len(m.Tasks))
	var creds []bus.RoleCredentials
	failed := 0
	for _, t := range m.Tasks {
		dt := bus.DesiredTask{
			Type: bus.TypeDesiredTask, Cluster: s.cfg.Cluster,
			MessageID: m.MessageID, SeqNum: m.SeqNum, ReceivedAt: s.now().UTC(),
		}
		spec, err := payload.Task(t)
		if err == nil {
			var rcs []bus.RoleCredentials
			if rcs, err = payloadCredentials(t); err == nil {
				creds = append(creds, rcs...)
			}
		}
		if err != nil {
			failed++
			log.Error().Err(err).Str(logger.FieldTaskARN, t.Arn).Msg("cannot load task")
			if t.Arn == "" {
				continue // nothing to report it under
			}
			spec = bus.TaskSpec{Arn: t.Arn, ClusterArn: t.TaskClusterArn, Family: t.Family, Version: t.Version,
				DesiredStatus: bus.StatusStopped}
			dt.LoadError = unrecognisedTaskReason + err.Error()
		}
		dt.Task = spec
		desired = append(desired, dt)
	}
	// Stops first, as the real agent hands them to its engine before new tasks.
	sort.SliceStable(desired, func(i, j int) bool {
		return desired[i].Task.DesiredStatus == bus.StatusStopped && desired[j].Task.DesiredStatus != bus.StatusStopped
	})
	// Credentials first: a task's containers may need them as soon as it is stored.
	for _, rc := range creds {
		if err := s.storeCredentials(ctx, rc); err != nil {
			log.Error().Err(err).Str(logger.FieldTaskARN, rc.TaskArn).Str("credentials_id", rc.CredentialsID).
				Msg("storing role credentials failed; the payload is not acknowledged")
			return
		}
	}
	for _, dt := range desired {
		if err := s.storeDesired(ctx, dt); err != nil {
			log.Error().Err(err).Str(logger.FieldTaskARN, dt.Task.Arn).Msg("storing a desired task failed; the payload is not acknowledged")
			return
		}
		log.Debug().Str(logger.FieldTaskARN, dt.Task.Arn).Str("desired_status", string(dt.Task.DesiredStatus)).Msg("desired task stored")
	}
	if failed > 0 {
		log.Error().Int("failed_tasks", failed).Int("tasks", len(m.Tasks)).Msg("payload not acknowledged: some tasks could not be loaded")
		return
	}
	if m.SeqNum > s.latestSeq {
		s.latestSeq = m.SeqNum
	}
	for _, rc := range creds {
		if err := s.ackCredentials(c, m.MessageID, rc); err != nil {
			log.Warn().Err(err).Msg("acknowledging role credentials")
			return
		}
	}
	if err := c.send(acs.TypeAckRequest, acs.AckRequest{
		Cluster: m.ClusterArn, ContainerInstance: m.ContainerInstanceArn, MessageID: m.MessageID,
	}); err != nil {
		log.Warn().Err(err).Msg("acknowledging a payload")
		return
	}
	log.Info().Int("tasks", len(m.Tasks)).Msg("payload stored and acknowledged")
}

// storeDesired publishes one desired task and waits until JetStream stored it. The
// message ID (task ARN and desired status) makes a payload sent again, and a stop
// both a payload and a stop verification asked for, one message.
func (s *Service) storeDesired(ctx context.Context, dt bus.DesiredTask) error {
	id := dt.Task.Arn + "/" + string(dt.Task.DesiredStatus)
	if dt.LoadError != "" {
		id = dt.Task.Arn + "/unloadable"
	}
	_, err := bus.Publish(ctx, s.js, bus.DesiredSubject(dt.Task.Arn), id, dt)
	return err
}

// handleManifest acks a manifest newer than every payload and manifest seen (an
// older one is dropped without an ack, PROTOCOL.md §2.6), then asks the control plane
// to confirm the stop of every task the agent runs that the manifest does not list as
// RUNNING: after a lost store the agent adopts the containers it finds, and the
// control plane says which of those tasks it still wants.
func (s *Service) handleManifest(ctx context.Context, c sender, m *acs.TaskManifestMessage) {
	log := s.log.With().Str(logger.FieldMessageID, m.MessageID).Logger()
	if m.Timeline <= s.latestSeq {
		log.Info().Int64("timeline", m.Timeline).Int64("latest", s.latestSeq).Msg("dropping an old task manifest")
		return
	}
	s.latestSeq = m.Timeline
	s.manifestID = m.MessageID
	if err := c.send(acs.TypeAckRequest, acs.AckRequest{
		Cluster: m.ClusterArn, ContainerInstance: m.ContainerInstanceArn, MessageID: m.MessageID,
	}); err != nil {
		log.Warn().Err(err).Msg("acknowledging a task manifest")
		return
	}
	wanted := map[string]bool{}
	for _, t := range m.Tasks {
		if t.DesiredStatus == string(bus.StatusRunning) {
			wanted[t.TaskArn] = true
		}
	}
	running, err := s.runningTasks(ctx)
	if err != nil {
		log.Warn().Err(err).Msg("reading the task records for stop verification; skipped until the next manifest")
		return
	}
	var candidates []acs.TaskIdentifier
	for _, arn := range running {
		if !wanted[arn] {
			candidates = append(candidates, acs.TaskIdentifier{TaskArn: arn, TaskClusterArn: m.ClusterArn, DesiredStatus: string(bus.StatusStopped)})
		}
	}
	log.Debug().Int("manifest_tasks", len(m.Tasks)).Int("running", len(running)).Int("stop_candidates", len(candidates)).Msg("task manifest accepted")
	if len(candidates) == 0 {
		return
	}
	if err := c.send(acs.TypeTaskStopVerificationMsg, acs.TaskStopVerificationMessage{
		MessageID: m.MessageID, StopCandidates: candidates,
	}); err != nil {
		log.Warn().Err(err).Msg("asking for stop verification")
		return
	}
	log.Info().Int("stop_candidates", len(candidates)).Msg("tasks running here are not in the manifest; asked the control plane to confirm their stop")
}

// handleStopVerified stops the tasks the control plane confirmed, if the ack answers
// the last manifest accepted.
func (s *Service) handleStopVerified(ctx context.Context, m *acs.TaskStopVerificationAck) {
	log := s.log.With().Str(logger.FieldMessageID, m.MessageID).Logger()
	if m.MessageID == "" || m.MessageID != s.manifestID {
		log.Info().Str("manifest", s.manifestID).Msg("ignoring a stop verification of another manifest")
		return
	}
	s.manifestID = ""
	for _, t := range m.StopTasks {
		if t.TaskArn == "" {
			continue
		}
		dt := bus.DesiredTask{
			Type: bus.TypeDesiredTask, Cluster: s.cfg.Cluster, MessageID: m.MessageID, ReceivedAt: s.now().UTC(),
			Task: bus.TaskSpec{Arn: t.TaskArn, ClusterArn: t.TaskClusterArn, DesiredStatus: bus.StatusStopped},
		}
		if err := s.storeDesired(ctx, dt); err != nil {
			log.Error().Err(err).Str(logger.FieldTaskARN, t.TaskArn).Msg("storing a verified stop failed; the next manifest asks again")
			return
		}
		log.Info().Str(logger.FieldTaskARN, t.TaskArn).Msg("the control plane confirmed the stop of a task it no longer wants")
	}
}

// runningTasks lists the tasks whose record wants them RUNNING.
func (s *Service) runningTasks(ctx context.Context) ([]string, error) {
	recs, err := s.taskRecords(ctx)
	if err != nil {
		return nil, err
	}
	var arns []string
	for _, r := range recs {
		if r.DesiredStatus == bus.StatusRunning && r.Spec.Arn != "" {
			arns = append(arns, r.Spec.Arn)
		}
	}
	return arns, nil
}

// taskRecords reads the scheduler's task records in one pass.
func (s *Service) taskRecords(ctx context.Context) ([]bus.TaskRecord, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	w, err := s.tasks.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	defer func() { _ = w.Stop() }()
	var recs []bus.TaskRecord
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("the task records' watcher stopped")
			}
			if e == nil {
				return recs, nil // the end of the current values
			}
			var rec bus.TaskRecord
			if err := json.Unmarshal(e.Value(), &rec); err == nil {
				recs = append(recs, rec)
			}
		}
	}
}
