package dockerexec_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/bustest"
	"github.com/ecs-agent/ecs-agent/services/dockerexec"
	"github.com/ecs-agent/ecs-agent/services/dockerexec/dockerfake"
)

// secretsEnv is a moto_server with one SSM parameter and two Secrets Manager
// secrets, a bus holding a task's execution role credentials, and dockerexec over
// the fake engine, reaching moto through the SDK's AWS_ENDPOINT_URL.
type secretsEnv struct {
	h           *harness
	engine      *dockerfake.Engine
	apiSecret   string // ARN of {"token":"…"}
	regSecret   string // ARN of {"username","password"}
	execCredsID string
}

const (
	testSSMValue   = "ssm-value-7f3a"
	testTokenValue = "asm-token-91c2"
	testRegPass    = "reg-pass-55d1"
)

func startSecretsEnv(t *testing.T) *secretsEnv {
	t.Helper()
	moto := bustest.StartMoto(t)
	t.Setenv("AWS_ENDPOINT_URL", moto.URL)
	ctx := context.Background()
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion("us-west-2"),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDSETUP", "setup", "")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String("/app/db-password"), Value: aws.String(testSSMValue), Type: ssmtypes.ParameterTypeSecureString,
	}); err != nil {
		t.Fatal(err)
	}
	sm := secretsmanager.NewFromConfig(cfg)
	api, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("app/api"), SecretString: aws.String(`{"token":"` + testTokenValue + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("app/registry"), SecretString: aws.String(`{"username":"ci","password":"` + testRegPass + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	engine := dockerfake.New()
	engine.AddImage("busybox", dockerfake.Image{ID: "sha256:bb"})
	engine.AddRegistryImage("127.0.0.1:5999/private/app", dockerfake.Image{ID: "sha256:pv"})
	b := bustest.Start(t)
	registerInstance(t, b, instanceArn)
	h := &harness{bus: b, nc: b.Conn(t, "test")}
	h.run(t, dockerexec.Config{Cluster: "default", DataDir: b.Dir, Region: "us-west-2", PullAttempts: 1}, engine)
	js, err := bus.JetStream(h.nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, bus.BucketCredentials)
	if err != nil {
		t.Fatal(err)
	}
	rc := bus.RoleCredentials{TaskArn: secretTask, RoleType: bus.RoleTypeExecution, CredentialsID: "exec-1",
		AccessKeyID: "ASIAEXEC", SecretAccessKey: "exec-secret", SessionToken: "exec-token", Expiration: time.Now().Add(time.Hour)}
	if err := bus.PutRoleCredentials(ctx, kv, b.Keyring(), rc); err != nil {
		t.Fatal(err)
	}
	return &secretsEnv{h: h, engine: engine, apiSecret: aws.ToString(api.ARN), regSecret: aws.ToString(reg.ARN), execCredsID: "exec-1"}
}

const secretTask = "arn:aws:ecs:us-west-2:123456789012:task/default/sec1"

func (e *secretsEnv) create(t *testing.T, name string, secrets ...bus.Secret) (bus.CreateReply, error) {
	return call[bus.CreateRequest, bus.CreateReply](t, e.h, bus.SubjectDockerCreate, bus.CreateRequest{
		TaskArn: secretTask, Cluster: "default", Family: "f", Version: "1",
		Container:              bus.ContainerSpec{Name: name, Image: "busybox", Environment: map[string]string{"PLAIN": "1", "DB": "overridden"}, Secrets: secrets},
		ContainerInstanceArn:   instanceArn,
		ExecutionCredentialsID: e.execCredsID,
	})
}

func TestSecretsFromSSMAndSecretsManager(t *testing.T) {
	e := startSecretsEnv(t)
	rep, err := e.create(t, "app",
		bus.Secret{Name: "DB", ValueFrom: "/app/db-password", Provider: bus.SecretProviderSSM},
		bus.Secret{Name: "TOKEN", ValueFrom: e.apiSecret + ":token::", Provider: bus.SecretProviderASM},
		bus.Secret{Name: "WHOLE", ValueFrom: e.apiSecret, Provider: bus.SecretProviderASM})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := e.engine.Container(rep.DockerID)
	env := strings.Join(c.Config.Env, "\n")
	for _, want := range []string{"DB=" + testSSMValue, "TOKEN=" + testTokenValue, `WHOLE={"token":"` + testTokenValue + `"}`, "PLAIN=1"} {
		if !strings.Contains(env, want) {
			t.Errorf("env lacks %s: %q", want, c.Config.Env)
		}
	}
}

func TestMissingSecretsAreResourceInitializationErrors(t *testing.T) {
	e := startSecretsEnv(t)
	for name, sec := range map[string]bus.Secret{
		"nossm":  {Name: "DB", ValueFrom: "/app/missing", Provider: bus.SecretProviderSSM},
		"noasm":  {Name: "T", ValueFrom: "arn:aws:secretsmanager:us-west-2:123456789012:secret:app/none-AbCdEf", Provider: bus.SecretProviderASM},
		"nokey":  {Name: "T", ValueFrom: e.apiSecret + ":nokey::", Provider: bus.SecretProviderASM},
		"badarn": {Name: "T", ValueFrom: "arn:aws:s3:::bucket", Provider: bus.SecretProviderASM},
	} {
		_, err := e.create(t, name, sec)
		if bus.CodeOf(err) != bus.CodeResourceInit {
			t.Errorf("%s: %v, want a ResourceInitializationError", name, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "ResourceInitializationError: unable to pull secrets or registry auth: ") {
			t.Errorf("%s: %q lacks the real agent's wording", name, msg)
		}
		ref := sec.ValueFrom
		if name == "nokey" {
			ref = "nokey"
		}
		if !strings.Contains(msg, strings.TrimSuffix(ref, "::")) {
			t.Errorf("%s: %q does not name the secret", name, msg)
		}
		if strings.Contains(msg, testTokenValue) || strings.Contains(msg, testSSMValue) {
			t.Errorf("%s: a secret value in %q", name, msg)
		}
	}
	if e.engine.CreateCount() != 0 {
		t.Errorf("%d containers created without their secrets", e.engine.CreateCount())
	}
	// Credentials the bus does not hold.
	e.execCredsID = "gone"
	if _, err := e.create(t, "nocreds", bus.Secret{Name: "DB", ValueFrom: "/app/db-password", Provider: "ssm"}); bus.CodeOf(err) != bus.CodeResourceInit {
		t.Errorf("unknown credentials: %v", err)
	}
}

func TestRegistryCredentialsFromSecretsManager(t *testing.T) {
	e := startSecretsEnv(t)
	image := "127.0.0.1:5999/private/app"
	_, err := call[bus.PullRequest, bus.PullReply](t, e.h, bus.SubjectDockerPull, bus.PullRequest{
		TaskArn: secretTask, ContainerName: "app", Image: image,
		RegistryAuth: &bus.RegistryAuth{CredentialsParameter: e.regSecret}, ExecutionCredentialsID: e.execCredsID,
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.URLEncoding.DecodeString(e.engine.PullAuth(image))
	if err != nil {
		t.Fatalf("X-Registry-Auth %q: %v", e.engine.PullAuth(image), err)
	}
	var ac struct{ Username, Password, ServerAddress string }
	_ = json.Unmarshal(raw, &ac)
	if ac.Username != "ci" || ac.Password != testRegPass || ac.ServerAddress != "127.0.0.1:5999" {
		t.Errorf("auth %s/%s@%s", ac.Username, "***", ac.ServerAddress)
	}
	_, err = call[bus.PullRequest, bus.PullReply](t, e.h, bus.SubjectDockerPull, bus.PullRequest{
		TaskArn: secretTask, ContainerName: "app", Image: image, Behavior: "always",
		RegistryAuth: &bus.RegistryAuth{CredentialsParameter: e.apiSecret}, ExecutionCredentialsID: e.execCredsID,
	})
	if bus.CodeOf(err) != bus.CodeResourceInit || strings.Contains(err.Error(), testTokenValue) {
		t.Errorf("a secret without username and password: %v", err)
	}
}

func TestInstanceRegistryAuth(t *testing.T) {
	for _, tc := range []struct{ typ, data string }{
		{"docker", `{"https://127.0.0.1:5998":{"username":"ci","password":"` + testRegPass + `","email":"ci@example.com"}}`},
		{"dockercfg", `{"127.0.0.1:5998":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("ci:"+testRegPass)) + `"}}`},
	} {
		engine := dockerfake.New()
		image := "127.0.0.1:5998/app:1"
		engine.AddRegistryImage(image, dockerfake.Image{ID: "sha256:a1"})
		engine.AddRegistryImage("busybox", dockerfake.Image{ID: "sha256:bb"})
		h := startService(t, dockerexec.Config{Cluster: "default", EngineAuthType: tc.typ, EngineAuthData: tc.data, PullAttempts: 1}, engine)
		for _, ref := range []string{image, "busybox"} {
			if _, err := call[bus.PullRequest, bus.PullReply](t, h, bus.SubjectDockerPull, bus.PullRequest{TaskArn: secretTask, ContainerName: "c", Image: ref}); err != nil {
				t.Fatalf("%s: pull %s: %v", tc.typ, ref, err)
			}
		}
		raw, _ := base64.URLEncoding.DecodeString(engine.PullAuth(image))
		var ac struct{ Username, Password string }
		_ = json.Unmarshal(raw, &ac)
		if ac.Username != "ci" || ac.Password != testRegPass {
			t.Errorf("%s: the registry's pull was sent user %q", tc.typ, ac.Username)
		}
		if a := engine.PullAuth("busybox"); a != "" {
			t.Errorf("%s: another registry's image got credentials", tc.typ)
		}
	}
}
