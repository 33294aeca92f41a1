package session

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/logger"
	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/services/session/payload"
	"github.com/rs/zerolog"
)

// Message types the session recognises beyond those acs declares.
const (
	typeStageUpdateMessage   = "StageUpdateMessage"
	typePerformUpdateMessage = "PerformUpdateMessage"
	updatesDisabledReason    = "Updates are disabled"
	unrecognisedTaskReason   = "UnrecogniedTaskError: Error loading task - " // sic, as the real agent sends it
	maxReasonBytes           = 1024
)

// taskManifest is the part of a TaskManifestMessage the session uses.
type taskManifest struct {
	MessageID            string `json:"messageId"`
	ClusterArn           string `json:"clusterArn"`
	ContainerInstanceArn string `json:"containerInstanceArn"`
	Timeline             int64  `json:"timeline"`
}

// updateMessage is the part of Stage/PerformUpdateMessage needed to refuse it.
type updateMessage struct {
	MessageID            string `json:"messageId"`
	ClusterArn           string `json:"clusterArn"`
	ContainerInstanceArn string `json:"containerInstanceArn"`
}

// inbound is work for the payload worker: exactly one field is set.
type inbound struct {
	payload  *acs.PayloadMessage
	manifest *taskManifest
}

// handleFrame handles one frame on the reader goroutine and reports whether it was
// a recognised message. Quick answers (heartbeats, refusals) are written here;
// anything that touches the bus goes to the worker, in order, so the reader keeps
// reading (and heartbeats keep being answered) while the bus is slow.
func (s *Service) handleFrame(ctx context.Context, c *acsConn, frame []byte, work chan<- inbound) bool {
	env, err := acs.Decode(frame)
	if err != nil {
		s.log.Warn().Err(err).Int("bytes", len(frame)).Msg("ignoring an undecodable ACS frame")
		return false
	}
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
		return enqueue(ctx, work, inbound{payload: &m})

	case acs.TypeTaskManifestMessage:
		var m taskManifest
		if !decode(log, env, &m) {
			return false
		}
		if m.MessageID == "" || m.ClusterArn == "" || m.ContainerInstanceArn == "" {
			log.Error().Msg("dropping a TaskManifestMessage without messageId, clusterArn or containerInstanceArn")
			return true
		}
		return enqueue(ctx, work, inbound{manifest: &m})

	case typeStageUpdateMessage, typePerformUpdateMessage:
		var m updateMessage
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
		// Task roles are not advertised as a capability, so none should come; the
		// message is not logged as it carries credentials.
		log.Warn().Msg("ignoring task role credentials: task IAM roles are not supported")
		return true

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
func (s *Service) worker(ctx context.Context, c *acsConn, work <-chan inbound) {
	for in := range work {
		if ctx.Err() != nil {
			continue
		}
		switch {
		case in.payload != nil:
			s.handlePayload(ctx, c, in.payload)
		case in.manifest != nil:
			s.handleManifest(c, in.manifest)
		}
	}
}

// handlePayload stores every task of a payload on the desired stream, waiting for
// each PubAck, and acks the payload only when all of them are stored. A task that
// cannot be translated costs the ack (so the control plane knows), but the other
// tasks are still stored, as the real agent hands them to its engine.
func (s *Service) handlePayload(ctx context.Context, c *acsConn, m *acs.PayloadMessage) {
	log := s.log.With().Str(logger.FieldMessageID, m.MessageID).Logger()
	specs := make([]bus.TaskSpec, 0, len(m.Tasks))
	failed := 0
	for _, t := range m.Tasks {
		spec, err := payload.Task(t)
		if err != nil {
			failed++
			log.Error().Err(err).Str(logger.FieldTaskARN, t.Arn).Msg("cannot load task")
			s.reportUnrecognised(ctx, log, t.Arn, err)
			continue
		}
		specs = append(specs, spec)
	}
	// Stops first, as the real agent hands them to its engine before new tasks.
	sort.SliceStable(specs, func(i, j int) bool {
		return specs[i].DesiredStatus == bus.StatusStopped && specs[j].DesiredStatus != bus.StatusStopped
	})
	for _, spec := range specs {
		dt := bus.DesiredTask{
			Type:       bus.TypeDesiredTask,
			Cluster:    s.cfg.Cluster,
			Task:       spec,
			MessageID:  m.MessageID,
			SeqNum:     m.SeqNum,
			ReceivedAt: s.now().UTC(),
		}
		id := spec.Arn + "/" + string(spec.DesiredStatus)
		if _, err := bus.Publish(ctx, s.js, bus.DesiredSubject(spec.Arn), id, dt); err != nil {
			log.Error().Err(err).Str(logger.FieldTaskARN, spec.Arn).Msg("storing a desired task failed; the payload is not acknowledged")
			return
		}
		log.Debug().Str(logger.FieldTaskARN, spec.Arn).Str("desired_status", string(spec.DesiredStatus)).Msg("desired task stored")
	}
	if failed > 0 {
		log.Error().Int("failed_tasks", failed).Int("tasks", len(m.Tasks)).Msg("payload not acknowledged: some tasks could not be loaded")
		return
	}
	if m.SeqNum > s.latestSeq {
		s.latestSeq = m.SeqNum
	}
	if err := c.send(acs.TypeAckRequest, acs.AckRequest{
		Cluster: m.ClusterArn, ContainerInstance: m.ContainerInstanceArn, MessageID: m.MessageID,
	}); err != nil {
		log.Warn().Err(err).Msg("acknowledging a payload")
		return
	}
	log.Info().Int("tasks", len(m.Tasks)).Msg("payload stored and acknowledged")
}

// reportUnrecognised puts the STOPPED report of a task that cannot be loaded in the
// outbox, with the reason the real agent gives. The scheduler never hears of such a
// task, so this is the task's first and only report (Seq 1).
func (s *Service) reportUnrecognised(ctx context.Context, log zerolog.Logger, arn string, cause error) {
	if arn == "" {
		return
	}
	reason := unrecognisedTaskReason + cause.Error()
	if len(reason) > maxReasonBytes {
		reason = reason[:maxReasonBytes]
	}
	sc := bus.TaskStateChange{
		Type: bus.TypeTaskStateChange, Cluster: s.cfg.Cluster, TaskArn: arn,
		Status: string(bus.StatusStopped), Reason: reason, Seq: 1,
	}
	if _, err := bus.Publish(ctx, s.js, bus.OutboxSubject(arn), fmt.Sprintf("%s/%d", arn, sc.Seq), sc); err != nil {
		log.Error().Err(err).Str(logger.FieldTaskARN, arn).Msg("reporting an unloadable task as stopped")
	}
}

// handleManifest acks a manifest newer than every payload and manifest seen; an
// older one is dropped without an ack (PROTOCOL.md §2.6). Stop verification is not
// done: the scheduler, which owns the task records, stops tasks on the control
// plane's explicit STOPPED payloads only.
func (s *Service) handleManifest(c *acsConn, m *taskManifest) {
	log := s.log.With().Str(logger.FieldMessageID, m.MessageID).Logger()
	if m.Timeline <= s.latestSeq {
		log.Info().Int64("timeline", m.Timeline).Int64("latest", s.latestSeq).Msg("dropping an old task manifest")
		return
	}
	s.latestSeq = m.Timeline
	if err := c.send(acs.TypeAckRequest, acs.AckRequest{
		Cluster: m.ClusterArn, ContainerInstance: m.ContainerInstanceArn, MessageID: m.MessageID,
	}); err != nil {
		log.Warn().Err(err).Msg("acknowledging a task manifest")
	}
}
