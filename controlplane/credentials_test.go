package controlplane_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/controlplane"
	"github.com/ecs-agent/ecs-agent/controlplane/creds"
)

const (
	taskRole = "arn:aws:iam::123456789012:role/app"
	execRole = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
	asmToken = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/token-AbCdEf"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// roleDef is simpleDef with both roles, a secret and registry credentials.
func roleDef(family string) *ecs.RegisterTaskDefinitionInput {
	in := simpleDef(family, 1, 10, 0)
	in.TaskRoleArn = aws.String(taskRole)
	in.ExecutionRoleArn = aws.String(execRole)
	c := &in.ContainerDefinitions[0]
	c.Secrets = []types.Secret{{Name: aws.String("DB_PASSWORD"), ValueFrom: aws.String("/app/db-password")}, {Name: aws.String("TOKEN"), ValueFrom: aws.String(asmToken)}}
	c.RepositoryCredentials = &types.RepositoryCredentials{CredentialsParameter: aws.String("registry-login")}
	return in
}

func (a *agentConn) credentialsMessage(within time.Duration) acs.IAMRoleCredentialsMessage {
	a.t.Helper()
	var m acs.IAMRoleCredentialsMessage
	if err := json.Unmarshal(a.next(acs.TypeIAMRoleCredentialsMsg, within), &m); err != nil {
		a.t.Fatal(err)
	}
	return m
}

// ackAll acks a payload and the credentials of every task in it, as the agent does.
func (a *agentConn) ackAll(p acs.PayloadMessage) {
	a.ack(p)
	for _, t := range p.Tasks {
		for _, c := range []*acs.IAMRoleCredentials{t.RoleCredentials, t.ExecutionRoleCredentials} {
			if c != nil {
				a.send(acs.TypeIAMRoleCredentialsAck, acs.IAMRoleCredentialsAckRequest{MessageID: p.MessageID, CredentialsID: c.CredentialsID, Expiration: c.Expiration})
			}
		}
	}
}

func (a *agentConn) ackCredentials(m acs.IAMRoleCredentialsMessage) {
	a.send(acs.TypeIAMRoleCredentialsAck, acs.IAMRoleCredentialsAckRequest{
		MessageID: m.MessageID, CredentialsID: m.RoleCredentials.CredentialsID, Expiration: m.RoleCredentials.Expiration})
}

// noCredentialsMessage asserts that no credentials message with a messageId that
// matches arrives within d.
func (a *agentConn) noCredentialsMessage(d time.Duration, matches func(acs.IAMRoleCredentialsMessage) bool) {
	a.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case env, ok := <-a.frames:
			if !ok {
				return
			}
			var m acs.IAMRoleCredentialsMessage
			if env.Type == acs.TypeIAMRoleCredentialsMsg && json.Unmarshal(env.Message, &m) == nil && matches(m) {
				a.t.Fatalf("unexpected credentials message %s for %s", m.MessageID, m.RoleCredentials.CredentialsID)
			}
		case <-timeout:
			return
		}
	}
}

type adminCredentials struct {
	TaskArn string `json:"taskArn"`
	Roles   []struct {
		RoleType      string        `json:"roleType"`
		RoleArn       string        `json:"roleArn"`
		CredentialsID string        `json:"credentialsId"`
		Issues        []creds.Issue `json:"issues"`
	} `json:"roles"`
}

func getCredentials(t *testing.T, e *env, taskArn string) (adminCredentials, string) {
	t.Helper()
	resp, err := http.Get(e.ts.URL + "/admin/credentials?task=" + taskArn)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw bytes.Buffer
	_, _ = raw.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/credentials: %d %s", resp.StatusCode, raw.String())
	}
	var out adminCredentials
	if err := json.Unmarshal(raw.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	return out, raw.String()
}

func keysOf(c *acs.IAMRoleCredentials) []string {
	return []string{c.AccessKeyID, c.SecretAccessKey, c.SessionToken}
}

// Each task's payload carries both roles' credentials, different per task and per
// role, under stable credentials IDs; the definition describes its roles and secrets
// back; the admin record shows the acked issues and no key.
func TestCredentialsInPayload(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 2000)
	def := e.registerTaskDef(t, roleDef("roles"))
	a := dialACS(t, e, "c", inst)

	t1 := e.runTask(t, "c", def)
	p1 := a.payload(5 * time.Second)
	a.ackAll(p1)
	t2 := e.runTask(t, "c", def)
	p2 := a.payload(5 * time.Second)
	a.ackAll(p2)

	seen := map[string]bool{}
	for _, p := range []acs.PayloadMessage{p1, p2} {
		if len(p.Tasks) != 1 {
			t.Fatalf("payload tasks %v", taskArns(p.Tasks))
		}
		task := p.Tasks[0]
		for _, c := range []struct {
			c    *acs.IAMRoleCredentials
			role string
		}{{task.RoleCredentials, taskRole}, {task.ExecutionRoleCredentials, execRole}} {
			if c.c == nil {
				t.Fatalf("task %s lacks the credentials of %s", task.Arn, c.role)
			}
			if c.c.RoleArn != c.role || !uuidPattern.MatchString(c.c.CredentialsID) || !strings.HasPrefix(c.c.AccessKeyID, "ASIA") ||
				len(c.c.SecretAccessKey) != 40 || c.c.SessionToken == "" {
				t.Fatalf("credentials of %s: id %q role %q key %q", c.role, c.c.CredentialsID, c.c.RoleArn, c.c.AccessKeyID)
			}
			exp, err := time.Parse(time.RFC3339, c.c.Expiration)
			if err != nil || time.Until(exp) < 50*time.Minute || time.Until(exp) > 61*time.Minute {
				t.Fatalf("expiration %q: %v", c.c.Expiration, err)
			}
			for _, k := range append(keysOf(c.c), c.c.CredentialsID) {
				if seen[k] {
					t.Fatalf("credentials repeated across tasks or roles: %s", c.c.CredentialsID)
				}
				seen[k] = true
			}
		}
		sec := task.Containers[0].Secrets
		if len(sec) != 2 || sec[0].Provider != "ssm" || sec[0].Region != "us-west-2" || sec[1].Provider != "asm" || sec[1].Region != "us-east-1" {
			t.Fatalf("secrets %+v", sec)
		}
		if ra := task.Containers[0].RegistryAuthentication; ra == nil || ra.Type != "asm" || ra.ASMAuthData.CredentialsParameter != "registry-login" {
			t.Fatalf("registry authentication %+v", ra)
		}
	}

	// The admin record: both roles, one acked payload issue each, no keys.
	got, raw := getCredentials(t, e, aws.ToString(t1.TaskArn))
	want := p1.Tasks[0]
	if len(got.Roles) != 2 || got.Roles[0].RoleType != acs.RoleTypeTaskApplication || got.Roles[0].CredentialsID != want.RoleCredentials.CredentialsID ||
		got.Roles[1].RoleType != acs.RoleTypeTaskExecution || got.Roles[1].CredentialsID != want.ExecutionRoleCredentials.CredentialsID {
		t.Fatalf("admin credentials %s", raw)
	}
	waitFor(t, func() bool {
		got, _ := getCredentials(t, e, aws.ToString(t1.TaskArn))
		for _, r := range got.Roles {
			if len(r.Issues) != 1 || !r.Issues[0].Acked || r.Issues[0].Via != "payload" || r.Issues[0].MessageID != p1.MessageID {
				return false
			}
		}
		return true
	})
	for _, k := range append(keysOf(want.RoleCredentials), keysOf(want.ExecutionRoleCredentials)...) {
		if strings.Contains(raw, k) {
			t.Fatal("the admin record shows a key")
		}
	}

	// DescribeTasks shows no key; DescribeTaskDefinition shows the roles and secrets.
	out, err := e.ecs.DescribeTasks(ctx(t), &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: []string{aws.ToString(t1.TaskArn), aws.ToString(t2.TaskArn)}})
	if err != nil {
		t.Fatal(err)
	}
	described, _ := json.Marshal(out.Tasks)
	for k := range seen {
		if strings.Contains(string(described), k) && !uuidPattern.MatchString(k) {
			t.Fatal("DescribeTasks shows a key")
		}
	}
	td, err := e.ecs.DescribeTaskDefinition(ctx(t), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(def)})
	if err != nil {
		t.Fatal(err)
	}
	cd := td.TaskDefinition.ContainerDefinitions[0]
	if aws.ToString(td.TaskDefinition.TaskRoleArn) != taskRole || aws.ToString(td.TaskDefinition.ExecutionRoleArn) != execRole ||
		len(cd.Secrets) != 2 || aws.ToString(cd.Secrets[1].ValueFrom) != asmToken ||
		cd.RepositoryCredentials == nil || aws.ToString(cd.RepositoryCredentials.CredentialsParameter) != "registry-login" {
		t.Fatalf("described definition: %+v", td.TaskDefinition)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Credentials are refreshed when a third of their lifetime is left: same credentials ID,
// new keys, re-sent until acked and not after; a stopped task gets no more.
func TestCredentialsRefresh(t *testing.T) {
	e := newEnv(t, controlplane.Config{CredentialsDuration: 3 * time.Second, PayloadRetryInterval: 100 * time.Millisecond})
	e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 2000)
	in := simpleDef("refresh", 1, 10, 0)
	in.TaskRoleArn = aws.String(taskRole)
	a := dialACS(t, e, "c", inst)
	task := e.runTask(t, "c", e.registerTaskDef(t, in))
	p := a.payload(5 * time.Second)
	a.ackAll(p)
	orig := p.Tasks[0].RoleCredentials
	if p.Tasks[0].ExecutionRoleCredentials != nil {
		t.Fatal("execution role credentials for a task without an execution role")
	}

	m := a.credentialsMessage(5 * time.Second)
	if m.TaskArn != aws.ToString(task.TaskArn) || m.RoleType != acs.RoleTypeTaskApplication || m.TaskClusterArn != p.ClusterArn ||
		m.RoleCredentials.CredentialsID != orig.CredentialsID || m.RoleCredentials.RoleArn != taskRole {
		t.Fatalf("refresh %s %s %s %s", m.TaskArn, m.RoleType, m.RoleCredentials.CredentialsID, m.RoleCredentials.RoleArn)
	}
	if m.RoleCredentials.AccessKeyID == orig.AccessKeyID || m.RoleCredentials.SecretAccessKey == orig.SecretAccessKey || m.RoleCredentials.SessionToken == orig.SessionToken {
		t.Fatal("the refresh carries the payload's keys")
	}
	// Unacked: the same message again.
	again := a.credentialsMessage(time.Second)
	if again.MessageID != m.MessageID || again.RoleCredentials.AccessKeyID != m.RoleCredentials.AccessKeyID {
		t.Fatalf("re-send %s, want %s", again.MessageID, m.MessageID)
	}
	a.ackCredentials(again)
	a.noCredentialsMessage(500*time.Millisecond, func(x acs.IAMRoleCredentialsMessage) bool { return x.MessageID == m.MessageID })

	waitFor(t, func() bool {
		got, _ := getCredentials(t, e, aws.ToString(task.TaskArn))
		if len(got.Roles) != 1 || len(got.Roles[0].Issues) < 2 {
			return false
		}
		is := got.Roles[0].Issues
		return is[0].Via == "payload" && is[0].Acked && is[1].Via == "refresh" && is[1].MessageID == m.MessageID && is[1].Acked && is[1].AckedAt != nil
	})

	// Stopped: no more refreshes, the record stays.
	submit(t, e, "c", aws.ToString(task.TaskArn), "STOPPED")
	time.Sleep(100 * time.Millisecond)
	a.noCredentialsMessage(3*time.Second, func(acs.IAMRoleCredentialsMessage) bool { return true })
	if got, _ := getCredentials(t, e, aws.ToString(task.TaskArn)); len(got.Roles) != 1 || len(got.Roles[0].Issues) < 2 {
		t.Fatalf("record of a stopped task: %+v", got)
	}
}

// dialACSSendCredentials connects with sendCredentials as given.
func dialACSSendCredentials(t *testing.T, e *env, cluster, instance string, send bool) *agentConn {
	t.Helper()
	u := acsURL(e.ts.URL, cluster, instance)
	if !send {
		u = strings.Replace(u, "sendCredentials=true", "sendCredentials=false", 1)
	}
	ws, _, err := websocket.DefaultDialer.Dial(u, signedHeader(t, u, controlplane.DevAccessKey, controlplane.DevSecretKey))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return newAgentConn(t, ws)
}

// An agent connecting with sendCredentials=true gets the credentials of every role of
// the tasks it holds; without it, none (they are not due).
func TestCredentialsSentOnConnect(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 2000)
	def := e.registerTaskDef(t, roleDef("connect"))
	plain := e.registerTaskDef(t, simpleDef("plain", 1, 10, 0))
	a := dialACSSendCredentials(t, e, "c", inst, false)
	task := e.runTask(t, "c", def)
	p := a.payload(5 * time.Second)
	a.ackAll(p)
	e.runTask(t, "c", plain)
	a.ackAll(a.payload(5 * time.Second))
	stopped := e.runTask(t, "c", def)
	a.ackAll(a.payload(5 * time.Second))
	submit(t, e, "c", aws.ToString(stopped.TaskArn), "STOPPED")
	a.noCredentialsMessage(300*time.Millisecond, func(acs.IAMRoleCredentialsMessage) bool { return true })
	a.ws.Close()

	b := dialACSSendCredentials(t, e, "c", inst, false)
	b.noCredentialsMessage(500*time.Millisecond, func(acs.IAMRoleCredentialsMessage) bool { return true })
	b.ws.Close()

	c := dialACSSendCredentials(t, e, "c", inst, true)
	got := map[string]acs.IAMRoleCredentialsMessage{}
	for range 2 {
		m := c.credentialsMessage(5 * time.Second)
		if m.TaskArn != aws.ToString(task.TaskArn) {
			t.Fatalf("credentials for %s, want only %s", m.TaskArn, aws.ToString(task.TaskArn))
		}
		got[m.RoleType] = m
		c.ackCredentials(m)
	}
	if got[acs.RoleTypeTaskApplication].RoleCredentials.CredentialsID != p.Tasks[0].RoleCredentials.CredentialsID ||
		got[acs.RoleTypeTaskExecution].RoleCredentials.CredentialsID != p.Tasks[0].ExecutionRoleCredentials.CredentialsID {
		t.Fatalf("credentials on connect: %d messages", len(got))
	}
	c.noCredentialsMessage(500*time.Millisecond, func(acs.IAMRoleCredentialsMessage) bool { return true })
}

// failingMinter fails its first n mints.
type failingMinter struct {
	n    atomic.Int32
	next creds.Local
}

func (f *failingMinter) Mint(ctx context.Context, r creds.Request) (creds.Credentials, error) {
	if f.n.Add(-1) >= 0 {
		return creds.Credentials{}, errors.New("minting refused")
	}
	return f.next.Mint(ctx, r)
}

// A failed minting defers the task; the payload retry delivers it.
func TestCredentialsMintFailureDefersTask(t *testing.T) {
	m := &failingMinter{next: creds.Local{Duration: time.Hour}}
	m.n.Store(2)
	e := newEnv(t, controlplane.Config{Minter: m, PayloadRetryInterval: 100 * time.Millisecond})
	e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 2000)
	a := dialACS(t, e, "c", inst)
	task := e.runTask(t, "c", e.registerTaskDef(t, roleDef("fail")))
	p := a.payload(5 * time.Second)
	if len(p.Tasks) != 1 || p.Tasks[0].Arn != aws.ToString(task.TaskArn) || p.Tasks[0].RoleCredentials.AccessKeyID == "" || p.Tasks[0].ExecutionRoleCredentials.AccessKeyID == "" {
		t.Fatalf("payload after failed mintings: %v", taskArns(p.Tasks))
	}
	if m.n.Load() >= 0 {
		t.Fatal("the payload went before the mintings failed")
	}
}

// RunTask's role overrides win over the definition's and are checked like them; a
// definition with secrets and no execution role is refused.
func TestCredentialsOverridesAndValidation(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 2000)
	def := e.registerTaskDef(t, roleDef("over"))
	a := dialACS(t, e, "c", inst)

	other := "arn:aws:iam::123456789012:role/other"
	out, err := e.ecs.RunTask(ctx(t), &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String(def),
		Overrides: &types.TaskOverride{TaskRoleArn: aws.String(other)}})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("RunTask with a role override: %v", err)
	}
	p := a.payload(5 * time.Second)
	if p.Tasks[0].RoleCredentials.RoleArn != other || p.Tasks[0].ExecutionRoleCredentials.RoleArn != execRole {
		t.Fatalf("roles %s, %s", p.Tasks[0].RoleCredentials.RoleArn, p.Tasks[0].ExecutionRoleCredentials.RoleArn)
	}
	_, err = e.ecs.RunTask(ctx(t), &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String(def),
		Overrides: &types.TaskOverride{ExecutionRoleArn: aws.String("not-a-role")}})
	if apiCode(err) != "InvalidParameterException" || !strings.Contains(apiMessage(err), "not-a-role") {
		t.Fatalf("RunTask with a bad override: %v", err)
	}

	bad := roleDef("bad")
	bad.ExecutionRoleArn = nil
	_, err = e.ecs.RegisterTaskDefinition(ctx(t), bad)
	if apiCode(err) != "ClientException" || !strings.Contains(apiMessage(err), "executionRoleArn") {
		t.Fatalf("secrets without an execution role: %v", err)
	}
	bad = roleDef("bad")
	bad.TaskRoleArn = aws.String("arn:aws:iam::123456789012:user/bob")
	_, err = e.ecs.RegisterTaskDefinition(ctx(t), bad)
	if apiCode(err) != "ClientException" || !strings.Contains(apiMessage(err), "arn:aws:iam::123456789012:user/bob") {
		t.Fatalf("a user as task role: %v", err)
	}
}

// syncBuffer is a log sink safe for the session goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// No secret access key or session token reaches the log, at debug level, through a
// payload, its re-send, refreshes, their re-sends and acks.
func TestCredentialsNotLogged(t *testing.T) {
	var logs syncBuffer
	e := newEnv(t, controlplane.Config{
		Logger:              zerolog.New(&logs).Level(zerolog.DebugLevel),
		CredentialsDuration: 600 * time.Millisecond, PayloadRetryInterval: 50 * time.Millisecond,
	})
	e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 2000)
	a := dialACS(t, e, "c", inst)
	e.runTask(t, "c", e.registerTaskDef(t, roleDef("logs")))
	p := a.payload(5 * time.Second)
	p = a.payload(5 * time.Second) // a re-send
	a.ackAll(p)
	var secrets []string
	for _, c := range []*acs.IAMRoleCredentials{p.Tasks[0].RoleCredentials, p.Tasks[0].ExecutionRoleCredentials} {
		secrets = append(secrets, c.SecretAccessKey, c.SessionToken)
	}
	for range 4 {
		m := a.credentialsMessage(5 * time.Second)
		secrets = append(secrets, m.RoleCredentials.SecretAccessKey, m.RoleCredentials.SessionToken)
		a.ackCredentials(m)
	}
	if !strings.Contains(logs.String(), "sending role credentials") {
		t.Fatal("the capture holds no credentials log line: the test would prove nothing")
	}
	for _, s := range secrets {
		if strings.Contains(logs.String(), s) {
			t.Fatal("a secret access key or session token is in the log")
		}
	}
}

// The roles and credentials IDs survive a restart, the keys do not: the restarted
// control plane, which does not know how old the agent's keys are, refreshes them under
// the same IDs as soon as the agent reconnects.
func TestCredentialsSurviveRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	first := newEnv(t, controlplane.Config{SnapshotPath: path})
	first.createCluster(t, "c")
	inst := first.registerInstance(t, "c", 2048, 2000)
	task := first.runTask(t, "c", first.registerTaskDef(t, roleDef("restart")))
	a := dialACSSendCredentials(t, first, "c", inst, false)
	p := a.payload(5 * time.Second)
	a.ackAll(p)
	a.quiet(300 * time.Millisecond)
	if err := first.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if raw, err := os.ReadFile(path); err != nil || strings.Contains(string(raw), p.Tasks[0].RoleCredentials.SecretAccessKey) ||
		!strings.Contains(string(raw), p.Tasks[0].RoleCredentials.CredentialsID) {
		t.Fatalf("snapshot: %v (it must hold the credentials IDs and no key)", err)
	}

	second := newEnv(t, controlplane.Config{SnapshotPath: path})
	b := dialACSSendCredentials(t, second, "c", inst, false)
	ids := map[string]bool{}
	for range 2 {
		m := b.credentialsMessage(5 * time.Second)
		if m.TaskArn != aws.ToString(task.TaskArn) {
			t.Fatalf("credentials for %s", m.TaskArn)
		}
		ids[m.RoleCredentials.CredentialsID] = true
		b.ackCredentials(m)
	}
	if !ids[p.Tasks[0].RoleCredentials.CredentialsID] || !ids[p.Tasks[0].ExecutionRoleCredentials.CredentialsID] {
		t.Fatalf("credentials IDs after restart %v", ids)
	}
}
