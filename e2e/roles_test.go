package e2e

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/nats-io/nats.go"
	"golang.org/x/crypto/bcrypt"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/bustest"
)

// The values a task of these tests is given; each is looked for in every log line,
// bus message and introspection answer, and none may appear.
const (
	e2eSSMValue   = "ssm-e2e-4b1d9c"
	e2eTokenValue = "asm-e2e-77e0aa"
	e2eRegUser    = "ci"
	e2eRegPass    = "reg-e2e-c3f18e"
	roleArn       = "arn:aws:iam::123456789012:role/e2e-app"
	execRoleArn   = "arn:aws:iam::123456789012:role/e2e-exec"
)

// awsCLI runs the real aws tool against moto.
func awsCLI(t *testing.T, moto *bustest.Moto, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("aws", append([]string{"--endpoint-url", moto.URL, "--region", region, "--output", "json"}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDE2ESETUP", "AWS_SECRET_ACCESS_KEY=setup", "AWS_PAGER=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func createSecret(t *testing.T, moto *bustest.Moto, name, value string) string {
	t.Helper()
	var out struct{ ARN string }
	if err := json.Unmarshal(awsCLI(t, moto, "secretsmanager", "create-secret", "--name", name, "--secret-string", value), &out); err != nil || out.ARN == "" {
		t.Fatalf("create-secret %s: %v", name, err)
	}
	return out.ARN
}

// authRegistry starts Debian's docker-registry on 127.0.0.1 with htpasswd
// authentication (user e2eRegUser, password e2eRegPass) and pushes the busybox test
// image into it; the image is then removed from the engine, so using it needs an
// authenticated pull.
func authRegistry(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte(e2eRegPass), bcrypt.DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(e2eRegUser+":"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := startRegistry(t, freePort(t), fmt.Sprintf("auth:\n  htpasswd:\n    realm: e2e\n    path: %s\n", htpasswd))
	image := addr + "/private/busybox:latest"
	dockerCfg := t.TempDir() // the docker CLI's login stays out of the user's config
	login := exec.Command("docker", "--config", dockerCfg, "login", "-u", e2eRegUser, "--password-stdin", addr)
	login.Stdin = strings.NewReader(e2eRegPass)
	if out, err := login.CombinedOutput(); err != nil {
		t.Fatalf("docker login: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"tag", testImage, image}, {"push", image}, {"image", "rm", image}} {
		if out, err := exec.Command("docker", append([]string{"--config", dockerCfg}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() { _ = exec.Command("docker", "image", "rm", "-f", image).Run() })
	return image
}

// busObserver records every message on the agent's bus, as the admin user.
type busObserver struct {
	mu   sync.Mutex
	msgs [][]byte
	n    int
}

func observeBus(t *testing.T, env agentEnv) *busObserver {
	t.Helper()
	o := &busObserver{}
	var pw string
	waitFor(t, 30*time.Second, "the bus's admin password", func() (bool, string) {
		p, err := bus.ReadPassword(bus.CredentialFile(env.DataDir, bus.UserAdmin))
		pw = p
		return err == nil && p != "", fmt.Sprint(err)
	})
	var nc *nats.Conn
	waitFor(t, 30*time.Second, "the bus", func() (bool, string) {
		var err error
		nc, err = bus.Dial(bus.DialConfig{Name: "e2e-observer", User: bus.UserAdmin, URL: "nats://127.0.0.1:" + strconv.Itoa(env.BusPort), Password: pw})
		return err == nil, fmt.Sprint(err)
	})
	t.Cleanup(nc.Close)
	if _, err := nc.Subscribe(">", func(m *nats.Msg) {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.n++
		o.msgs = append(o.msgs, append([]byte(m.Subject+" "), m.Data...))
	}); err != nil {
		t.Fatal(err)
	}
	return o
}

// rolesTaskDef is a host-network task with both roles, an SSM secret, a Secrets
// Manager secret's JSON key, and an image from the authenticated registry. Its
// container checks the secrets (by hash: the values are not in the task
// definition), reads its credentials and its task metadata through 127.0.0.1 and
// exits 0; exit codes 3–9 say which check failed.
func rolesTaskDef(family, image, ssmName, tokenRef, regSecret string, endpointPort int, extra string) *ecs.RegisterTaskDefinitionInput {
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	script := strings.Join([]string{
		`P=127.0.0.1:$TMDS_PORT`,
		`[ "$(printf %s "$DB_PASSWORD" | sha256sum | cut -c1-64)" = ` + sum(e2eSSMValue) + ` ] || { echo DB_PASSWORD wrong; exit 3; }`,
		`[ "$(printf %s "$API_TOKEN" | sha256sum | cut -c1-64)" = ` + sum(e2eTokenValue) + ` ] || { echo API_TOKEN wrong; exit 4; }`,
		`wget -q -O /tmp/creds "http://$P$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" || { echo no credentials; exit 5; }`,
		`grep -q '"RoleArn":"` + roleArn + `"' /tmp/creds && grep -q '"SecretAccessKey":"' /tmp/creds && grep -q '"Token":"' /tmp/creds || { echo bad credentials shape; exit 6; }`,
		`wget -q -O /tmp/task "http://$P${ECS_CONTAINER_METADATA_URI_V4#http://169.254.170.2}/task" || { echo no task metadata; exit 7; }`,
		`grep -q '"TaskARN":"arn:aws:ecs:' /tmp/task && grep -q '"Family":"` + family + `"' /tmp/task || { echo bad task metadata; exit 8; }`,
		`[ "$AWS_REGION" = ` + region + ` ] && [ "$AWS_DEFAULT_REGION" = ` + region + ` ] && [ -n "$ECS_AGENT_URI" ] || { echo region or agent URI missing; exit 9; }`,
		extra,
		`echo all checks passed`,
	}, "\n")
	return &ecs.RegisterTaskDefinitionInput{
		Family:           aws.String(family),
		NetworkMode:      types.NetworkModeHost,
		TaskRoleArn:      aws.String(roleArn),
		ExecutionRoleArn: aws.String(execRoleArn),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String(image), Memory: aws.Int32(64), Essential: aws.Bool(true),
			EntryPoint:  []string{"sh", "-c"},
			Command:     []string{script},
			Environment: []types.KeyValuePair{{Name: aws.String("TMDS_PORT"), Value: aws.String(strconv.Itoa(endpointPort))}},
			Secrets: []types.Secret{
				{Name: aws.String("DB_PASSWORD"), ValueFrom: aws.String(ssmName)},
				{Name: aws.String("API_TOKEN"), ValueFrom: aws.String(tokenRef)},
			},
			RepositoryCredentials: &types.RepositoryCredentials{CredentialsParameter: aws.String(regSecret)},
		}},
	}
}

// rolesSetup is moto with the secrets, the authenticated registry, and a control
// plane minting credentials with moto's STS, so that the minted credentials are the
// ones moto accepts for SSM and Secrets Manager.
type rolesSetup struct {
	b           backend
	moto        *bustest.Moto
	image       string
	tokenRef    string
	regSecret   string
	wrongSecret string
	agent       *proc   // the all-in-one binary, or ecs-session of five processes
	procs       []*proc // every process of the agent, and the control plane
	observer    *busObserver
}

// setupRoles starts it all; five runs the agent as five processes (ecs-bus
// listening on a loopback port, which an observer then watches), else as the
// all-in-one binary.
func setupRoles(t *testing.T, five bool, cpArgs ...string) *rolesSetup {
	t.Helper()
	requireDocker(t)
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the aws tool is not installed")
	}
	moto := bustest.StartMoto(t)
	s := &rolesSetup{moto: moto, image: authRegistry(t)}
	awsCLI(t, moto, "ssm", "put-parameter", "--name", "/e2e/db-password", "--type", "SecureString", "--value", e2eSSMValue)
	apiArn := createSecret(t, moto, "e2e/api", `{"token":"`+e2eTokenValue+`"}`)
	s.tokenRef = apiArn + ":token::"
	s.regSecret = createSecret(t, moto, "e2e/registry", `{"username":"`+e2eRegUser+`","password":"`+e2eRegPass+`"}`)
	s.wrongSecret = createSecret(t, moto, "e2e/registry-wrong", `{"username":"`+e2eRegUser+`","password":"not-the-password"}`)
	// The control plane's own credentials, for its calls to STS.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDCONTROLPLANE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "controlplane")
	s.b = newBackend(t, append([]string{"--sts-endpoint", moto.URL}, cpArgs...)...)
	env := append(s.b.Env.vars(),
		"ECS_ENABLE_TASK_IAM_ROLE=true", "ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST=true",
		"AWS_ENDPOINT_URL_SSM="+moto.URL, "AWS_ENDPOINT_URL_SECRETS_MANAGER="+moto.URL)
	if five {
		for _, name := range []string{"ecs-bus", "ecs-dockerexec", "ecs-scheduler", "ecs-reporter", "ecs-session"} {
			s.agent = startProc(t, name, binary(t, name), env)
			s.procs = append(s.procs, s.agent)
			if name == "ecs-bus" {
				s.observer = observeBus(t, s.b.Env)
			}
		}
	} else {
		s.agent = startProc(t, "amazon-ecs-agent", binary(t, "amazon-ecs-agent"), env)
		s.procs = append(s.procs, s.agent)
	}
	s.procs = append(s.procs, s.b.CP)
	waitInstance(t, s.b.ECS, s.b.Env.Cluster, s.procs...)
	return s
}

func (s *rolesSetup) run(t *testing.T, in *ecs.RegisterTaskDefinitionInput) string {
	t.Helper()
	td, err := s.b.ECS.RegisterTaskDefinition(t.Context(), in)
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	return runTask(t, s.b.ECS, s.b.Env.Cluster, aws.ToString(td.TaskDefinition.TaskDefinitionArn))
}

// containerLogs is what a task's container printed (never a secret: the scripts
// print verdicts only).
func containerLogs(t *testing.T, arn string) string {
	var out strings.Builder
	for _, c := range dockerTaskContainers(t, arn) {
		b, _ := exec.Command("docker", "logs", c.ID).CombinedOutput()
		out.Write(b)
	}
	return out.String()
}

// TestTaskRolesSecretsAndPrivateRegistry runs a production-shaped task definition:
// task and execution roles, an SSM secret, a Secrets Manager secret's JSON key, an
// image from a registry that wants a password; then the same with a wrong registry
// password and with a missing secret. No secret, credential or password appears in
// any process's log, on the bus, or in an introspection answer.
func TestTaskRolesSecretsAndPrivateRegistry(t *testing.T) {
	s := setupRoles(t, true)
	port := s.b.Env.TaskEndpointPort
	c, cluster := s.b.ECS, s.b.Env.Cluster
	var introspection []string
	introspect := func() {
		for _, path := range []string{"/v1/metadata", "/v1/tasks"} {
			resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(s.b.Env.IntrospectionPort) + path)
			if err != nil {
				t.Errorf("introspection %s: %v", path, err)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			introspection = append(introspection, path+" "+string(b))
		}
	}

	// A wrong registry password first, while the image is not in the engine.
	wrong := rolesTaskDef("e2e-roles-wrongpass", s.image, "/e2e/db-password", s.tokenRef, s.wrongSecret, port, "")
	arn := s.run(t, wrong)
	task := waitTaskStatus(t, c, cluster, arn, "STOPPED", 2*time.Minute, s.procs...)
	reason := aws.ToString(task.Containers[0].Reason)
	if !strings.HasPrefix(reason, "CannotPullContainerError:") || !strings.Contains(strings.ToLower(reason), "unauthorized") {
		t.Errorf("wrong registry password: container reason %q, want CannotPullContainerError with the registry's message", reason)
	}
	t.Logf("wrong registry password: %s", reason)

	// The real thing. The container sleeps a little at the end so that the test can
	// read the credentials it was given.
	ok := rolesTaskDef("e2e-roles", s.image, "/e2e/db-password", s.tokenRef, s.regSecret, port, "sleep 5")
	start := time.Now()
	arn = s.run(t, ok)
	waitTaskStatus(t, c, cluster, arn, "RUNNING", 2*time.Minute, s.procs...)
	introspect()
	var roleCreds struct{ AccessKeyId, SecretAccessKey, Token string }
	cs := dockerTaskContainers(t, arn)
	if len(cs) != 1 {
		t.Fatalf("%d containers", len(cs))
	}
	out, err := exec.Command("docker", "inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", cs[0].ID).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range strings.Split(string(out), "\n") {
		if rel, found := strings.CutPrefix(kv, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI="); found {
			if code := getJSON(t, "http://127.0.0.1:"+strconv.Itoa(port)+rel, &roleCreds); code != 200 {
				t.Fatalf("credentials endpoint: %d", code)
			}
		}
	}
	if roleCreds.SecretAccessKey == "" || roleCreds.Token == "" {
		t.Fatal("no task role credentials read from the endpoint")
	}
	task = waitTaskStatus(t, c, cluster, arn, "STOPPED", 2*time.Minute, s.procs...)
	ct := task.Containers[0]
	if ct.ExitCode == nil || *ct.ExitCode != 0 {
		t.Fatalf("container exit %v (reason %q, task %q); it printed:\n%s", ct.ExitCode, aws.ToString(ct.Reason), aws.ToString(task.StoppedReason), containerLogs(t, arn))
	}
	t.Logf("roles task STOPPED with exit 0 after %v; the container printed %q", time.Since(start).Round(time.Millisecond), strings.TrimSpace(containerLogs(t, arn)))
	introspect()

	// A missing secret.
	missing := rolesTaskDef("e2e-roles-missing", s.image, "/e2e/no-such-parameter", s.tokenRef, s.regSecret, port, "")
	arn = s.run(t, missing)
	task = waitTaskStatus(t, c, cluster, arn, "STOPPED", 2*time.Minute, s.procs...)
	sr := aws.ToString(task.StoppedReason)
	if !strings.HasPrefix(sr, "ResourceInitializationError: unable to pull secrets or registry auth: ") || !strings.Contains(sr, "/e2e/no-such-parameter") {
		t.Errorf("missing secret: stoppedReason %q", sr)
	}
	if n := len(dockerTaskContainers(t, arn)); n != 0 {
		t.Errorf("missing secret: %d containers were created", n)
	}
	t.Logf("missing secret: %s", sr)
	introspect()

	// Nothing secret anywhere.
	secrets := map[string]string{
		"the SSM secret": e2eSSMValue, "the Secrets Manager secret": e2eTokenValue, "the registry password": e2eRegPass,
		"the role's secret access key": roleCreds.SecretAccessKey, "the role's session token": roleCreds.Token,
	}
	var logs []string
	for _, p := range s.procs {
		logs = append(logs, p.log)
	}
	scanned := 0
	for _, path := range logs {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		for sc.Scan() {
			scanned++
			for what, v := range secrets {
				if strings.Contains(sc.Text(), v) {
					t.Errorf("%s appears in %s: line %d", what, filepath.Base(path), scanned)
				}
			}
		}
		f.Close()
	}
	s.observer.mu.Lock()
	msgs := s.observer.n
	for _, m := range s.observer.msgs {
		for what, v := range secrets {
			if strings.Contains(string(m), v) {
				t.Errorf("%s appears on the bus, subject %s", what, strings.SplitN(string(m), " ", 2)[0])
			}
		}
	}
	s.observer.mu.Unlock()
	for _, a := range introspection {
		for what, v := range secrets {
			if strings.Contains(a, v) {
				t.Errorf("%s appears in introspection answer %s", what, strings.SplitN(a, " ", 2)[0])
			}
		}
	}
	if msgs < 50 || scanned < 50 {
		t.Errorf("only %d bus messages and %d log lines were scanned", msgs, scanned)
	}
	t.Logf("scanned %d log lines, %d bus messages, %d introspection answers: no secret", scanned, msgs, len(introspection))
}

// TestRoleCredentialsRefresh has the control plane mint 1-minute credentials: a
// container that reads its credentials twice, 65 s apart, sees two access keys, and
// every refresh the control plane sent was acked.
func TestRoleCredentialsRefresh(t *testing.T) {
	s := setupRoles(t, false, "--credentials-duration", "1m")
	port := s.b.Env.TaskEndpointPort
	twice := strings.Join([]string{
		`K1=$(sed 's/.*"AccessKeyId":"\([^"]*\)".*/\1/' /tmp/creds)`,
		`sleep 65`,
		`wget -q -O /tmp/creds2 "http://$P$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" || { echo no credentials the second time; exit 10; }`,
		`K2=$(sed 's/.*"AccessKeyId":"\([^"]*\)".*/\1/' /tmp/creds2)`,
		`[ -n "$K1" ] && [ -n "$K2" ] && [ "$K1" != "$K2" ] || { echo the access key did not change; exit 11; }`,
		`echo the access key changed`,
	}, "\n")
	in := rolesTaskDef("e2e-roles-refresh", s.image, "/e2e/db-password", s.tokenRef, s.regSecret, port, twice)
	arn := s.run(t, in)
	task := waitTaskStatus(t, s.b.ECS, s.b.Env.Cluster, arn, "STOPPED", 4*time.Minute, s.procs...)
	ct := task.Containers[0]
	if ct.ExitCode == nil || *ct.ExitCode != 0 {
		t.Fatalf("container exit %v (reason %q, task %q); it printed:\n%s", ct.ExitCode, aws.ToString(ct.Reason), aws.ToString(task.StoppedReason), containerLogs(t, arn))
	}
	var rec struct {
		Roles []struct {
			RoleType      string `json:"roleType"`
			CredentialsID string `json:"credentialsId"`
			Issues        []struct {
				Via   string `json:"via"`
				Acked bool   `json:"acked"`
			} `json:"issues"`
		} `json:"roles"`
	}
	// A refresh sent just before the task stopped may still be on its way back.
	waitFor(t, 20*time.Second, "every refresh to be acked", func() (bool, string) {
		if code := getJSON(t, s.b.URL+"/admin/credentials?task="+arn, &rec); code != 200 {
			return false, fmt.Sprintf("admin credentials: %d", code)
		}
		for _, r := range rec.Roles {
			for _, is := range r.Issues {
				if !is.Acked {
					return false, r.RoleType + " has an unacked issue"
				}
			}
		}
		return true, ""
	})
	checkRefreshesAcked(t, rec.Roles)
}

func checkRefreshesAcked(t *testing.T, roles []struct {
	RoleType      string `json:"roleType"`
	CredentialsID string `json:"credentialsId"`
	Issues        []struct {
		Via   string `json:"via"`
		Acked bool   `json:"acked"`
	} `json:"issues"`
}) {
	t.Helper()
	if len(roles) != 2 {
		t.Fatalf("%d roles in the control plane's record, want the task's and the execution role", len(roles))
	}
	for _, r := range roles {
		refreshes, acked := 0, 0
		for _, is := range r.Issues {
			if is.Via == "refresh" {
				refreshes++
				if is.Acked {
					acked++
				}
			}
		}
		t.Logf("%s %s: %d issues, %d refreshes, %d acked", r.RoleType, r.CredentialsID, len(r.Issues), refreshes, acked)
		if refreshes == 0 || acked != refreshes {
			t.Errorf("%s: %d refreshes, %d acked; want at least one, all acked", r.RoleType, refreshes, acked)
		}
	}
}
