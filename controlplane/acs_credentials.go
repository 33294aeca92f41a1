package controlplane

import (
	"context"
	"time"

	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/controlplane/creds"
	"github.com/ecs-agent/ecs-agent/controlplane/state"
)

// Role credentials on an ACS session. Every function here runs on the session's writer
// (run). The keys exist only in the messages being sent: the store keeps the roles and
// their stable credentials IDs, the book (creds.Book) each issue and ack. Never log a key.
//
//	payload with desired RUNNING ─▶ keys minted into the task's roleCredentials and
//	                                executionRoleCredentials (issue "payload")
//	less than 1/3 of the lifetime left, or connect with sendCredentials=true
//	            ─▶ IAMRoleCredentialsMessage: new messageId, same credentialsId, new keys
//	               (issue "refresh"), re-sent every PayloadRetryInterval until acked
//	IAMRoleCredentialsAckRequest (messageId + credentialsId) ─▶ the issue is acked
//	task reported STOPPED ─▶ no more refreshes; its record stays in the book

// mintTimeout bounds one minting (an STS call), which holds up the session's writer.
const mintTimeout = 10 * time.Second

// refreshCheckInterval is how often a session looks for credentials due for a refresh:
// often enough to catch the last third of the lifetime comfortably.
func refreshCheckInterval(lifetime time.Duration) time.Duration {
	return min(max(lifetime/20, 50*time.Millisecond), 30*time.Second)
}

// mint makes new keys for a role of a task; the session name is the task ID.
func (a *acsSession) mint(taskArn string, roleArn string) (creds.Credentials, error) {
	ctx, cancel := context.WithTimeout(context.Background(), mintTimeout)
	defer cancel()
	return a.srv.minter.Mint(ctx, creds.Request{RoleArn: roleArn, SessionName: taskID(taskArn)})
}

// taskID is the last part of a task ARN.
func taskID(arn string) string {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == '/' {
			return arn[i+1:]
		}
	}
	return arn
}

// wireCredentials is the ACS form of minted keys.
func wireCredentials(id, roleArn string, c creds.Credentials) acs.IAMRoleCredentials {
	return acs.IAMRoleCredentials{
		CredentialsID:   id,
		RoleArn:         roleArn,
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		SessionToken:    c.SessionToken,
		Expiration:      c.Expiration.UTC().Format(time.RFC3339),
	}
}

// withCredentials fills the keys of the credential slots state.Store.Owed left in the
// tasks and records the issues under the payload's messageId. A task whose minting fails
// is left out and counted in deferred, to go in a later payload.
func (a *acsSession) withCredentials(tasks []acs.Task, messageID string) (out []acs.Task, deferred int) {
	out = tasks[:0:0]
	for _, t := range tasks {
		type slot struct {
			roleType string
			c        *acs.IAMRoleCredentials
			minted   creds.Credentials
		}
		var slots []*slot
		if t.RoleCredentials != nil {
			slots = append(slots, &slot{roleType: acs.RoleTypeTaskApplication, c: t.RoleCredentials})
		}
		if t.ExecutionRoleCredentials != nil {
			slots = append(slots, &slot{roleType: acs.RoleTypeTaskExecution, c: t.ExecutionRoleCredentials})
		}
		ok := true
		for _, s := range slots {
			minted, err := a.mint(t.Arn, s.c.RoleArn)
			if err != nil {
				a.log.Warn().Err(err).Str("task_arn", t.Arn).Str("role_type", s.roleType).
					Msg("minting role credentials failed: the task waits for the next payload")
				ok = false
				break
			}
			s.minted = minted
			*s.c = wireCredentials(s.c.CredentialsID, s.c.RoleArn, minted)
		}
		if !ok {
			deferred++
			continue
		}
		now := time.Now().UTC()
		for _, s := range slots {
			a.srv.book.Issued(t.Arn, s.roleType, s.c.RoleArn, s.c.CredentialsID, creds.Issue{
				Via: creds.ViaPayload, MessageID: messageID, IssuedAt: now, Expiration: s.minted.Expiration,
			})
		}
		out = append(out, t)
	}
	return out, deferred
}

// refreshCredentials sends an IAMRoleCredentialsMessage for every role, of the tasks the
// agent holds (state.Store.RoleTasks), whose credentials are due for a refresh. On
// connect it also sends them for every role when the agent asked (sendCredentials) and
// for a refresh of an earlier session left unacknowledged.
func (a *acsSession) refreshCredentials(onConnect bool) bool {
	now := time.Now()
	for _, rt := range a.srv.store.RoleTasks(a.instanceArn) {
		for _, role := range rt.Roles {
			due := a.srv.book.DueForRefresh(role.CredentialsID, now)
			if onConnect && !due {
				last, _ := a.srv.book.Latest(role.CredentialsID)
				due = a.sendCredentials || last.Via == creds.ViaRefresh && !last.Acked
			}
			if due && !a.sendRefresh(rt, role) {
				return false
			}
		}
	}
	return true
}

// sendRefresh mints new keys for a role and sends them; a failed minting is tried again
// at the next check, since the role is still due.
func (a *acsSession) sendRefresh(rt state.RoleTask, role state.Role) bool {
	log := a.log.With().Str("task_arn", rt.TaskArn).Str("role_type", role.Type).Str("credentials_id", role.CredentialsID).Logger()
	minted, err := a.mint(rt.TaskArn, role.Arn)
	if err != nil {
		log.Warn().Err(err).Msg("minting role credentials for a refresh failed")
		return true
	}
	msg := acs.IAMRoleCredentialsMessage{
		MessageID:       newHex(),
		TaskArn:         rt.TaskArn,
		TaskClusterArn:  rt.ClusterArn,
		RoleType:        role.Type,
		RoleCredentials: wireCredentials(role.CredentialsID, role.Arn, minted),
	}
	a.srv.book.Issued(rt.TaskArn, role.Type, role.Arn, role.CredentialsID, creds.Issue{
		Via: creds.ViaRefresh, MessageID: msg.MessageID, IssuedAt: time.Now().UTC(), Expiration: minted.Expiration,
	})
	a.refreshes[role.CredentialsID] = msg
	log.Info().Str("message_id", msg.MessageID).Time("expiration", minted.Expiration).Msg("sending role credentials")
	return a.write(acs.TypeIAMRoleCredentialsMsg, msg)
}

// resendRefreshes sends every unacknowledged credentials message again, and forgets those
// of tasks the agent no longer holds (stopped).
func (a *acsSession) resendRefreshes() bool {
	if len(a.refreshes) == 0 {
		return true
	}
	live := map[string]bool{}
	for _, rt := range a.srv.store.RoleTasks(a.instanceArn) {
		for _, role := range rt.Roles {
			live[role.CredentialsID] = true
		}
	}
	for id, msg := range a.refreshes {
		if !live[id] {
			delete(a.refreshes, id)
			continue
		}
		a.log.Debug().Str("message_id", msg.MessageID).Str("credentials_id", id).Msg("re-sending unacknowledged role credentials")
		if !a.write(acs.TypeIAMRoleCredentialsMsg, msg) {
			return false
		}
	}
	return true
}

// credentialsAcknowledged records an IAMRoleCredentialsAckRequest: of a payload's
// credentials or of a credentials message, matched by messageId and credentialsId.
func (a *acsSession) credentialsAcknowledged(ack acs.IAMRoleCredentialsAckRequest) {
	known := a.srv.book.Acked(ack.MessageID, ack.CredentialsID, time.Now())
	if m, ok := a.refreshes[ack.CredentialsID]; ok && m.MessageID == ack.MessageID {
		delete(a.refreshes, ack.CredentialsID)
	}
	a.log.Debug().Str("message_id", ack.MessageID).Str("credentials_id", ack.CredentialsID).Bool("known", known).
		Msg("role credentials acknowledged")
}
