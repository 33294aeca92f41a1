package controlplane

import (
	"time"

	"github.com/ecs-agent/ecs-agent/acs"
)

// manifestsRemembered is how many recent manifest messageIds a session keeps to recognise
// their acks; the agent acks a manifest at once, so the last few are plenty.
const manifestsRemembered = 4

// run is the session's only writer. It delivers owed tasks one payload at a time, sends
// a manifest on connect and every ManifestInterval, answers stop verifications and sends
// heartbeats, until the socket fails or close is called.
func (a *acsSession) run() {
	go a.readLoop()
	cfg := a.srv.cfg
	heartbeat := time.NewTicker(cfg.HeartbeatInterval)
	defer heartbeat.Stop()
	manifest := time.NewTicker(cfg.ManifestInterval)
	defer manifest.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	refresh := time.NewTicker(refreshCheckInterval(cfg.CredentialsDuration))
	defer refresh.Stop()
	resendCreds := time.NewTicker(cfg.PayloadRetryInterval)
	defer resendCreds.Stop()

	// Owed payload first, then the manifest: its timeline then exceeds that payload's
	// seqNum, and it lists the tasks just sent. Then the credentials of the tasks the
	// agent already holds, all of them if it asked.
	if !a.sendOwed(retry) || !a.sendManifest() || !a.refreshCredentials(true) {
		return
	}
	for {
		ok := true
		select {
		case <-a.done:
			return
		case <-a.kick:
			ok = a.sendOwed(retry)
		case id := <-a.acks:
			ok = a.acknowledged(id, retry)
		case <-retry.C:
			ok = a.retryPayload(retry)
		case v := <-a.verifications:
			ok = a.answerStopVerification(v)
		case ack := <-a.credAcks:
			a.credentialsAcknowledged(ack)
		case <-refresh.C:
			ok = a.refreshCredentials(false)
		case <-resendCreds.C:
			ok = a.resendRefreshes()
		case <-manifest.C:
			ok = a.sendManifest()
		case <-heartbeat.C:
			ok = a.write(acs.TypeHeartbeatMessage, acs.HeartbeatMessage{Healthy: true, MessageID: newHex()})
		}
		if !ok {
			return
		}
	}
}

// sendOwed sends the owed tasks unless a payload is already in flight.
func (a *acsSession) sendOwed(retry *time.Timer) bool {
	if a.inflight != nil {
		return true
	}
	return a.sendPayload(a.srv.store.Owed(a.instanceArn), retry)
}

// sendPayload puts tasks in flight in a new message (new messageId, the instance's next
// seqNum) and arms the retry timer; no tasks means nothing in flight. Role credentials
// are minted for the message here, outside the store's lock; a task whose minting fails
// waits for the next retry, which arms the timer even with nothing in flight.
func (a *acsSession) sendPayload(owed []acs.Task, retry *time.Timer) bool {
	a.inflight = nil
	retry.Stop()
	if len(owed) == 0 {
		return true
	}
	id := newHex()
	owed, deferred := a.withCredentials(owed, id)
	if deferred > 0 {
		retry.Reset(a.srv.cfg.PayloadRetryInterval)
	}
	if len(owed) == 0 {
		return true
	}
	seq, err := a.srv.store.MarkSent(a.instanceArn, owed)
	if err != nil {
		a.log.Error().Err(err).Msg("recording a payload")
	}
	a.inflight = &acs.PayloadMessage{
		ClusterArn:           a.clusterArn,
		ContainerInstanceArn: a.instanceArn,
		MessageID:            id,
		Tasks:                owed,
		SeqNum:               seq,
		GeneratedAt:          time.Now().UnixMilli(),
	}
	retry.Reset(a.srv.cfg.PayloadRetryInterval)
	return a.write(acs.TypePayloadMessage, a.inflight)
}

// acknowledged handles an AckRequest. Only the in-flight payload's messageId delivers
// its tasks; a manifest's is expected and harmless; any other (a replaced payload's late
// ack, a stale message of an earlier session) changes nothing.
func (a *acsSession) acknowledged(id string, retry *time.Timer) bool {
	switch {
	case a.inflight != nil && id == a.inflight.MessageID:
		if err := a.srv.store.MarkDelivered(a.inflight.Tasks); err != nil {
			a.log.Error().Err(err).Msg("recording an ack")
		}
		a.log.Debug().Str("message_id", id).Int("tasks", len(a.inflight.Tasks)).Msg("payload acknowledged")
		a.inflight = nil
		retry.Stop()
		return a.sendOwed(retry)
	case a.isManifest(id):
		a.log.Debug().Str("message_id", id).Msg("manifest acknowledged")
	default:
		a.log.Debug().Str("message_id", id).Msg("ignoring an ack of no message in flight (replaced or stale)")
	}
	return true
}

// retryPayload runs when the in-flight payload has waited PayloadRetryInterval. The owed
// set is computed afresh: unchanged, the same message goes again; changed (a task
// settled, for instance reported STOPPED by an agent that could not load it and so never
// acks, or a new task was placed), the message is replaced by one carrying what is owed
// now. Without the replacement, one task the agent refuses would stop delivery to the
// instance for good.
func (a *acsSession) retryPayload(retry *time.Timer) bool {
	if a.inflight == nil {
		return a.sendOwed(retry) // tasks deferred by a failed minting
	}
	owed := a.srv.store.Owed(a.instanceArn)
	if sameDesired(owed, a.inflight.Tasks) {
		a.log.Debug().Str("message_id", a.inflight.MessageID).Msg("re-sending unacknowledged payload")
		retry.Reset(a.srv.cfg.PayloadRetryInterval)
		return a.write(acs.TypePayloadMessage, a.inflight)
	}
	a.log.Info().Str("message_id", a.inflight.MessageID).Int("tasks_before", len(a.inflight.Tasks)).
		Int("tasks_now", len(owed)).Msg("owed tasks changed while unacknowledged: replacing the payload")
	return a.sendPayload(owed, retry)
}

// sameDesired reports whether two task lists ask for the same desired statuses of the
// same tasks.
func sameDesired(a, b []acs.Task) bool {
	if len(a) != len(b) {
		return false
	}
	want := make(map[string]string, len(a))
	for _, t := range a {
		want[t.Arn] = t.DesiredStatus
	}
	for _, t := range b {
		if d, ok := want[t.Arn]; !ok || d != t.DesiredStatus {
			return false
		}
	}
	return true
}

// sendManifest sends the instance's task manifest (PROTOCOL.md §2.6).
func (a *acsSession) sendManifest() bool {
	tasks, timeline, err := a.srv.store.Manifest(a.instanceArn)
	if err != nil {
		a.log.Error().Err(err).Msg("recording a manifest")
	}
	m := acs.TaskManifestMessage{
		ClusterArn:           a.clusterArn,
		ContainerInstanceArn: a.instanceArn,
		MessageID:            newHex(),
		Tasks:                tasks,
		GeneratedAt:          time.Now().UnixMilli(),
		Timeline:             timeline,
	}
	a.manifests = append(a.manifests, m.MessageID)
	if len(a.manifests) > manifestsRemembered {
		a.manifests = a.manifests[1:]
	}
	a.log.Debug().Str("message_id", m.MessageID).Int64("timeline", timeline).Int("tasks", len(tasks)).Msg("sending task manifest")
	return a.write(acs.TypeTaskManifestMessage, m)
}

func (a *acsSession) isManifest(id string) bool {
	for _, m := range a.manifests {
		if m == id {
			return true
		}
	}
	return false
}

// answerStopVerification tells the agent which of its stop candidates to stop: those the
// control plane does not want running on this instance (state.Store.StopVerdicts).
func (a *acsSession) answerStopVerification(v acs.TaskStopVerificationMessage) bool {
	stop := a.srv.store.StopVerdicts(a.instanceArn, v.StopCandidates)
	arns := make([]string, 0, len(stop))
	for _, t := range stop {
		arns = append(arns, t.TaskArn)
	}
	a.log.Info().Str("message_id", v.MessageID).Int("candidates", len(v.StopCandidates)).
		Strs("stop_tasks", arns).Msg("stop verification: confirming the tasks to stop")
	return a.write(acs.TypeTaskStopVerificationAck, acs.TaskStopVerificationAck{
		MessageID:   v.MessageID,
		GeneratedAt: time.Now().UnixMilli(),
		StopTasks:   stop,
	})
}
