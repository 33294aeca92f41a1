package session

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/bus"
)

func testRoleCreds(id, key string, ttl time.Duration) *acs.IAMRoleCredentials {
	return &acs.IAMRoleCredentials{
		CredentialsID: id, RoleArn: "arn:aws:iam::123456789012:role/app",
		AccessKeyID: key, SecretAccessKey: "secret-" + key, SessionToken: "token-" + key,
		Expiration: time.Now().Add(ttl).UTC().Format(time.RFC3339),
	}
}

// framesUntil reads frames until an AckRequest and returns the credentials acks
// that came before it.
func credentialAcksUntilAck(t *testing.T, sock *fakeSocket) ([]acs.IAMRoleCredentialsAckRequest, acs.AckRequest) {
	t.Helper()
	var acks []acs.IAMRoleCredentialsAckRequest
	for {
		typ, msg, err := sock.readFrame(t, 10*time.Second)
		if err != nil {
			t.Fatalf("reading frames: %v", err)
		}
		switch typ {
		case acs.TypeIAMRoleCredentialsAck:
			var a acs.IAMRoleCredentialsAckRequest
			_ = json.Unmarshal(msg, &a)
			acks = append(acks, a)
		case acs.TypeAckRequest:
			var a acs.AckRequest
			_ = json.Unmarshal(msg, &a)
			return acks, a
		}
	}
}

func (h *harness) storedCredentials(id string) (bus.RoleCredentials, error) {
	kv, err := h.js.KeyValue(context.Background(), bus.BucketCredentials)
	if err != nil {
		return bus.RoleCredentials{}, err
	}
	return bus.GetRoleCredentials(context.Background(), kv, h.bus.Keyring(), id)
}

func TestPayloadCredentialsStoredSealedAndAckedBeforeThePayload(t *testing.T) {
	h := newHarness(t, "test")
	h.start()
	sock := h.cp.next(t, 10*time.Second)
	if got := sock.query["sendCredentials"]; len(got) != 1 || got[0] != "true" {
		t.Errorf("first connection: sendCredentials=%v, want true", got)
	}
	arn := "arn:aws:ecs:us-west-2:123456789012:task/test/role1"
	tk := task(arn, "RUNNING")
	tk.RoleCredentials = testRoleCreds("cred-task", "ASIATASK", time.Hour)
	tk.ExecutionRoleCredentials = testRoleCreds("cred-exec", "ASIAEXEC", time.Hour)
	sock.send(t, acs.TypePayloadMessage, payloadMsg("p-roles", tk))

	acks, ack := credentialAcksUntilAck(t, sock)
	if ack.MessageID != "p-roles" {
		t.Fatalf("ack %+v", ack)
	}
	if len(acks) != 2 || acks[0].MessageID != "p-roles" || acks[0].CredentialsID != "cred-task" || acks[1].CredentialsID != "cred-exec" {
		t.Fatalf("credentials acks %+v, want one per role with the payload's messageId", acks)
	}
	if _, err := time.Parse(time.RFC3339, acks[0].Expiration); err != nil {
		t.Errorf("ack expiration %q: %v", acks[0].Expiration, err)
	}
	rc, err := h.storedCredentials("cred-task")
	if err != nil || rc.AccessKeyID != "ASIATASK" || rc.RoleType != acs.RoleTypeTaskApplication || rc.TaskArn != arn {
		t.Fatalf("stored task credentials %+v, %v", rc, err)
	}
	dt, _, err := h.desired(arn)
	if err != nil || dt.Task.TaskCredentialsID != "cred-task" || dt.Task.ExecutionCredentialsID != "cred-exec" {
		t.Fatalf("desired task %+v, %v", dt.Task, err)
	}
	// Sealed at rest: the raw value shows neither key nor token.
	kv, _ := h.js.KeyValue(context.Background(), bus.BucketCredentials)
	e, err := kv.Get(context.Background(), bus.Token("cred-task"))
	if err != nil || strings.Contains(string(e.Value()), "ASIATASK") || strings.Contains(string(e.Value()), "secret-") {
		t.Fatalf("stored value is not sealed (%v)", err)
	}

	// A refresh with a new ID supersedes the old credentials of that role.
	sock.send(t, acs.TypeIAMRoleCredentialsMsg, acs.IAMRoleCredentialsMessage{
		MessageID: "c-1", TaskArn: arn, RoleType: acs.RoleTypeTaskApplication,
		RoleCredentials: *testRoleCreds("cred-task-2", "ASIANEW", time.Hour),
	})
	a := nextCredentialsAck(t, sock)
	if a.MessageID != "c-1" || a.CredentialsID != "cred-task-2" {
		t.Fatalf("refresh ack %+v", a)
	}
	if rc, err := h.storedCredentials("cred-task-2"); err != nil || rc.AccessKeyID != "ASIANEW" {
		t.Fatalf("refreshed credentials %+v, %v", rc, err)
	}
	if _, err := h.storedCredentials("cred-task"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("superseded credentials still stored: %v", err)
	}
	if _, err := h.storedCredentials("cred-exec"); err != nil {
		t.Errorf("the execution role's credentials went with the task role's: %v", err)
	}

	// The same ID with new keys replaces them in place.
	sock.send(t, acs.TypeIAMRoleCredentialsMsg, acs.IAMRoleCredentialsMessage{
		MessageID: "c-2", TaskArn: arn, RoleType: acs.RoleTypeTaskApplication,
		RoleCredentials: *testRoleCreds("cred-task-2", "ASIANEWER", time.Hour),
	})
	if a := nextCredentialsAck(t, sock); a.MessageID != "c-2" {
		t.Fatalf("second refresh ack %+v", a)
	}
	if rc, _ := h.storedCredentials("cred-task-2"); rc.AccessKeyID != "ASIANEWER" {
		t.Errorf("credentials not replaced: %s", rc.AccessKeyID)
	}
}

func nextCredentialsAck(t *testing.T, sock *fakeSocket) acs.IAMRoleCredentialsAckRequest {
	t.Helper()
	for {
		typ, msg, err := sock.readFrame(t, 10*time.Second)
		if err != nil {
			t.Fatalf("no credentials ack: %v", err)
		}
		if typ == acs.TypeIAMRoleCredentialsAck {
			var a acs.IAMRoleCredentialsAckRequest
			_ = json.Unmarshal(msg, &a)
			return a
		}
	}
}

func TestInvalidCredentialsAreNotAcked(t *testing.T) {
	h := newHarness(t, "test")
	h.start()
	sock := h.cp.next(t, 10*time.Second)
	arn := "arn:aws:ecs:us-west-2:123456789012:task/test/bad"
	bad := []acs.IAMRoleCredentialsMessage{
		{MessageID: "", TaskArn: arn, RoleType: acs.RoleTypeTaskApplication, RoleCredentials: *testRoleCreds("x1", "ASIA1", time.Hour)},
		{MessageID: "m2", TaskArn: "", RoleType: acs.RoleTypeTaskApplication, RoleCredentials: *testRoleCreds("x2", "ASIA2", time.Hour)},
		{MessageID: "m3", TaskArn: arn, RoleType: "Admin", RoleCredentials: *testRoleCreds("x3", "ASIA3", time.Hour)},
		{MessageID: "m4", TaskArn: arn, RoleType: acs.RoleTypeTaskExecution, RoleCredentials: *testRoleCreds("", "ASIA4", time.Hour)},
		{MessageID: "m5", TaskArn: arn, RoleType: acs.RoleTypeTaskExecution, RoleCredentials: acs.IAMRoleCredentials{CredentialsID: "x5", AccessKeyID: "ASIA5", SecretAccessKey: "s", Expiration: "tomorrow"}},
	}
	for _, m := range bad {
		sock.send(t, acs.TypeIAMRoleCredentialsMsg, m)
	}
	sock.send(t, acs.TypeIAMRoleCredentialsMsg, acs.IAMRoleCredentialsMessage{
		MessageID: "good", TaskArn: arn, RoleType: acs.RoleTypeTaskApplication, RoleCredentials: *testRoleCreds("ok", "ASIAOK", time.Hour),
	})
	if a := nextCredentialsAck(t, sock); a.MessageID != "good" {
		t.Fatalf("an invalid credentials message was acked: %+v", a)
	}
	if strings.Contains(h.logs.String(), "secret-ASIA") {
		t.Error("a secret access key appears in the logs")
	}
}

func TestCredentialsGoWithTheTaskRecord(t *testing.T) {
	h := newHarness(t, "test")
	h.start()
	sock := h.cp.next(t, 10*time.Second)
	arn := "arn:aws:ecs:us-west-2:123456789012:task/test/gone"
	tk := task(arn, "RUNNING")
	tk.RoleCredentials = testRoleCreds("cred-gone", "ASIAGONE", time.Hour)
	sock.send(t, acs.TypePayloadMessage, payloadMsg("p-gone", tk))
	credentialAcksUntilAck(t, sock)
	ctx := context.Background()
	tasks, err := h.js.KeyValue(ctx, bus.BucketTasks)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tasks.Put(ctx, bus.TaskKey(arn), []byte(`{"type":"TaskRecord"}`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := h.storedCredentials("cred-gone"); err != nil {
		t.Fatalf("credentials dropped while the task record exists: %v", err)
	}
	if err := tasks.Delete(ctx, bus.TaskKey(arn)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() bool {
		_, err := h.storedCredentials("cred-gone")
		return errors.Is(err, jetstream.ErrKeyNotFound)
	})
}
