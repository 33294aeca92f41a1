package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/logger"
)

// The session is the one writer of the tasks' role credentials (bus.BucketCredentials):
// it stores those of a payload before the payload is acked and those of every
// IAMRoleCredentialsMessage before that message is acked, drops a role's previous
// credentials when new ones replace them, drops expired ones, and drops a task's
// when its record is cleaned up. No credential value is ever logged: log lines name
// the credentials ID, the task and the role type only.

// credentialsSweep is how often expired credentials, and credentials the bus lost,
// are looked for.
const credentialsSweep = 30 * time.Second

// errBadCredentials classifies credentials the session refuses to store.
var errBadCredentials = errors.New("invalid role credentials")

// roleCredentials validates one role's credentials of a task as the real agent does
// (messageId, taskArn, credentialsId and keys non-empty, a known role type) and
// converts them; the expiration must be RFC 3339.
func roleCredentials(taskArn, roleType string, c *acs.IAMRoleCredentials) (bus.RoleCredentials, error) {
	switch {
	case taskArn == "":
		return bus.RoleCredentials{}, fmt.Errorf("%w: no taskArn", errBadCredentials)
	case roleType != acs.RoleTypeTaskApplication && roleType != acs.RoleTypeTaskExecution:
		return bus.RoleCredentials{}, fmt.Errorf("%w: roleType %q is not %s or %s", errBadCredentials, roleType, acs.RoleTypeTaskApplication, acs.RoleTypeTaskExecution)
	case c == nil || c.CredentialsID == "":
		return bus.RoleCredentials{}, fmt.Errorf("%w: no credentialsId", errBadCredentials)
	case c.AccessKeyID == "" || c.SecretAccessKey == "":
		return bus.RoleCredentials{}, fmt.Errorf("%w: credentials %s have no access key", errBadCredentials, c.CredentialsID)
	}
	exp, err := time.Parse(time.RFC3339, c.Expiration)
	if err != nil {
		return bus.RoleCredentials{}, fmt.Errorf("%w: credentials %s: expiration %q is not RFC 3339", errBadCredentials, c.CredentialsID, c.Expiration)
	}
	return bus.RoleCredentials{
		TaskArn: taskArn, RoleType: roleType, CredentialsID: c.CredentialsID, RoleArn: c.RoleArn,
		AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
		Expiration: exp.UTC(),
	}, nil
}

// payloadCredentials lists the credentials of a payload's task.
func payloadCredentials(t acs.Task) ([]bus.RoleCredentials, error) {
	var out []bus.RoleCredentials
	for _, r := range []struct {
		typ string
		c   *acs.IAMRoleCredentials
	}{{acs.RoleTypeTaskApplication, t.RoleCredentials}, {acs.RoleTypeTaskExecution, t.ExecutionRoleCredentials}} {
		if r.c == nil {
			continue
		}
		rc, err := roleCredentials(t.Arn, r.typ, r.c)
		if err != nil {
			return nil, err
		}
		out = append(out, rc)
	}
	return out, nil
}

// storeCredentials seals and stores rc, then drops the credentials it replaces (the
// same task and role under another ID).
func (s *Service) storeCredentials(ctx context.Context, rc bus.RoleCredentials) error {
	if err := bus.PutRoleCredentials(ctx, s.credKV, s.keyring, rc); err != nil {
		return err
	}
	return s.eachCredentials(ctx, func(key string, old bus.RoleCredentials) {
		if old.TaskArn == rc.TaskArn && old.RoleType == rc.RoleType && old.CredentialsID != rc.CredentialsID {
			s.dropCredentials(ctx, key, old, "superseded")
		}
	})
}

// ackCredentials sends the IAMRoleCredentialsAckRequest of stored credentials.
func (s *Service) ackCredentials(c sender, messageID string, rc bus.RoleCredentials) error {
	return c.send(acs.TypeIAMRoleCredentialsAck, acs.IAMRoleCredentialsAckRequest{
		MessageID: messageID, CredentialsID: rc.CredentialsID, Expiration: rc.Expiration.Format(time.RFC3339),
	})
}

// handleCredentials stores and acks one IAMRoleCredentialsMessage; invalid ones are
// dropped without an ack, as the real agent drops them.
func (s *Service) handleCredentials(ctx context.Context, c sender, m *acs.IAMRoleCredentialsMessage) {
	log := s.log.With().Str(logger.FieldMessageID, m.MessageID).Str(logger.FieldTaskARN, m.TaskArn).
		Str("role_type", m.RoleType).Str("credentials_id", m.RoleCredentials.CredentialsID).Logger()
	if m.MessageID == "" {
		log.Error().Msg("dropping role credentials without a messageId")
		return
	}
	rc, err := roleCredentials(m.TaskArn, m.RoleType, &m.RoleCredentials)
	if err != nil {
		log.Error().Err(err).Msg("dropping role credentials")
		return
	}
	if err := s.storeCredentials(ctx, rc); err != nil {
		log.Error().Err(err).Msg("storing role credentials failed; they are not acknowledged")
		return
	}
	if err := s.ackCredentials(c, m.MessageID, rc); err != nil {
		log.Warn().Err(err).Msg("acknowledging role credentials")
		return
	}
	log.Info().Time("expiration", rc.Expiration).Msg("role credentials stored and acknowledged")
}

// eachCredentials calls fn with every stored credentials that can be opened. One
// that cannot (sealed with a key the bus no longer has) is deleted.
func (s *Service) eachCredentials(ctx context.Context, fn func(key string, rc bus.RoleCredentials)) error {
	keys, err := s.credKV.ListKeys(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = keys.Stop() }()
	for key := range keys.Keys() {
		e, err := s.credKV.Get(ctx, key)
		if err != nil {
			continue // deleted meanwhile
		}
		var rc bus.RoleCredentials
		if err := s.keyring.Open(e.Value(), &rc); err != nil {
			s.log.Warn().Str("credentials_key", key).Err(err).Msg("dropping credentials that cannot be opened")
			_ = s.credKV.Delete(ctx, key)
			continue
		}
		fn(key, rc)
	}
	return nil
}

func (s *Service) dropCredentials(ctx context.Context, key string, rc bus.RoleCredentials, why string) {
	if err := s.credKV.Delete(ctx, key); err != nil {
		s.log.Warn().Err(err).Str("credentials_id", rc.CredentialsID).Msg("dropping role credentials")
		return
	}
	s.log.Info().Str("credentials_id", rc.CredentialsID).Str(logger.FieldTaskARN, rc.TaskArn).
		Str("role_type", rc.RoleType).Str("why", why).Msg("role credentials dropped")
}

// keepCredentials runs until ctx ends: it drops a task's credentials when the
// scheduler cleans its record up, and every credentialsSweep drops expired
// credentials and notices credentials the bus lost (its credentials bucket lives in
// memory), which ends the ACS connection so that the next one asks the control plane
// for every task's credentials again (sendCredentials=true).
func (s *Service) keepCredentials(ctx context.Context) {
	w, err := s.tasks.WatchAll(ctx, jetstream.UpdatesOnly())
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error().Err(err).Msg("watching task records for credentials cleanup")
		}
		return
	}
	defer func() { _ = w.Stop() }()
	tick := time.NewTicker(credentialsSweep)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil || e.Operation() == jetstream.KeyValuePut {
				continue
			}
			_ = s.eachCredentials(ctx, func(key string, rc bus.RoleCredentials) {
				if bus.TaskKey(rc.TaskArn) == e.Key() {
					s.dropCredentials(ctx, key, rc, "task cleaned up")
				}
			})
		case <-tick.C:
			now := s.now()
			_ = s.eachCredentials(ctx, func(key string, rc bus.RoleCredentials) {
				if now.After(rc.Expiration) {
					s.dropCredentials(ctx, key, rc, "expired")
				}
			})
			if lost := s.lostCredentials(ctx); lost > 0 {
				s.log.Warn().Int("tasks", lost).Msg("role credentials of running tasks are missing from the bus; reconnecting to ACS to get them again")
				s.needCredentials.Store(true)
				s.reconnect()
			}
		}
	}
}

// lostCredentials counts the tasks wanted RUNNING whose credentials are not stored.
func (s *Service) lostCredentials(ctx context.Context) int {
	recs, err := s.taskRecords(ctx)
	if err != nil {
		return 0
	}
	lost := 0
	for _, r := range recs {
		if r.DesiredStatus != bus.StatusRunning {
			continue
		}
		for _, id := range []string{r.Spec.TaskCredentialsID, r.Spec.ExecutionCredentialsID} {
			if id == "" {
				continue
			}
			if _, err := s.credKV.Get(ctx, bus.Token(id)); errors.Is(err, jetstream.ErrKeyNotFound) {
				lost++
				break
			}
		}
	}
	return lost
}
