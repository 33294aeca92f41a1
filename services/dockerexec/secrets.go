package dockerexec

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/registry"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ecs-agent/ecs-agent/awsclient"
	"github.com/ecs-agent/ecs-agent/bus"
)

// Secrets and private-registry credentials are fetched here, with the task's
// execution role credentials, just before the container is created (or its image
// pulled), and go straight into the Docker call: a value never crosses the bus,
// reaches a log line or an error. The AWS endpoints are the SDK's standard ones,
// which the SDK's own AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL_SECRETS_MANAGER and
// AWS_ENDPOINT_URL override.

// resourceInitPrefix is the real agent's wording for a task resource that could not
// be prepared; the error's name (ResourceInitializationError) comes before it.
const resourceInitPrefix = "unable to pull secrets or registry auth: execution resource retrieval failed: "

// ssmBatch is how many parameters GetParameters takes at once.
const ssmBatch = 10

// secretStore fetches secrets. Its AWS clients are made per call: they carry one
// task's credentials.
type secretStore struct {
	cfg     Config
	nc      *nats.Conn
	keyring *bus.Keyring

	mu sync.Mutex
	kv jetstream.KeyValue
}

func newSecretStore(cfg Config, nc *nats.Conn) *secretStore {
	return &secretStore{cfg: cfg, nc: nc, keyring: bus.NewKeyring(bus.SealKeyFile(cfg.DataDir))}
}

// credentials reads the execution role's credentials of a task from the bus.
func (s *secretStore) credentials(ctx context.Context, id string) (aws.Credentials, error) {
	if id == "" {
		return aws.Credentials{}, bus.Errorf(bus.CodeResourceInit, "%sthe task has no execution role credentials", resourceInitPrefix)
	}
	s.mu.Lock()
	kv := s.kv
	s.mu.Unlock()
	if kv == nil {
		js, err := bus.JetStream(s.nc)
		if err != nil {
			return aws.Credentials{}, err
		}
		if kv, err = js.KeyValue(ctx, bus.BucketCredentials); err != nil {
			return aws.Credentials{}, bus.Errorf(bus.CodeUnavailable, "opening the credentials bucket: %v", err)
		}
		s.mu.Lock()
		s.kv = kv
		s.mu.Unlock()
	}
	rc, err := bus.GetRoleCredentials(ctx, kv, s.keyring, id)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return aws.Credentials{}, bus.Errorf(bus.CodeResourceInit, "%sno execution role credentials %s", resourceInitPrefix, id)
	case err != nil:
		return aws.Credentials{}, bus.Errorf(bus.CodeUnavailable, "reading execution role credentials %s: %v", id, err)
	}
	return aws.Credentials{AccessKeyID: rc.AccessKeyID, SecretAccessKey: rc.SecretAccessKey, SessionToken: rc.SessionToken,
		Source: "ecs-execution-role", CanExpire: true, Expires: rc.Expiration}, nil
}

// awsConfig is the SDK configuration of one call: the execution role's
// credentials, the secret's region, and the SDK's endpoint resolution (its
// AWS_ENDPOINT_URL_* variables included).
func (s *secretStore) awsConfig(ctx context.Context, creds aws.Credentials, region string) (aws.Config, error) {
	if region == "" {
		region = s.cfg.Region
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRegion(region),
		awsconfig.WithCredentialsProvider(credentials.StaticCredentialsProvider{Value: creds}),
		awsconfig.WithRetryMaxAttempts(2),
	)
	if err != nil {
		return cfg, err
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = awshttp.NewBuildableClient()
	}
	cfg.HTTPClient = awsclient.WithUserAgent(cfg.HTTPClient, s.cfg.UserAgent)
	return cfg, nil
}

// env resolves the secrets of a container into environment variables.
func (s *secretStore) env(ctx context.Context, credsID string, secrets []bus.Secret) (map[string]string, error) {
	if len(secrets) == 0 {
		return nil, nil
	}
	creds, err := s.credentials(ctx, credsID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(secrets))
	byRegion := map[string][]bus.Secret{}
	for _, sec := range secrets {
		switch sec.Provider {
		case bus.SecretProviderASM:
			v, err := s.asmValue(ctx, creds, sec.ValueFrom, sec.Region)
			if err != nil {
				return nil, err
			}
			out[sec.Name] = v
		case bus.SecretProviderSSM, "":
			r := sec.Region
			if r == "" {
				r = arnRegion(sec.ValueFrom)
			}
			byRegion[r] = append(byRegion[r], sec)
		default:
			return nil, bus.Errorf(bus.CodeResourceInit, "%ssecret %s: unknown provider %q", resourceInitPrefix, sec.Name, sec.Provider)
		}
	}
	for region, list := range byRegion {
		if err := s.ssmValues(ctx, creds, region, list, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ssmValues reads SSM parameters (decrypted), ten at a time.
func (s *secretStore) ssmValues(ctx context.Context, creds aws.Credentials, region string, list []bus.Secret, out map[string]string) error {
	cfg, err := s.awsConfig(ctx, creds, region)
	if err != nil {
		return bus.Errorf(bus.CodeResourceInit, "%sunable to retrieve secrets from ssm: %v", resourceInitPrefix, err)
	}
	client := ssm.NewFromConfig(cfg)
	for start := 0; start < len(list); start += ssmBatch {
		batch := list[start:min(start+ssmBatch, len(list))]
		names := make([]string, 0, len(batch))
		for _, sec := range batch {
			names = append(names, sec.ValueFrom)
		}
		res, err := client.GetParameters(ctx, &ssm.GetParametersInput{Names: names, WithDecryption: aws.Bool(true)})
		if err != nil {
			return bus.Errorf(bus.CodeResourceInit, "%sunable to retrieve secrets from ssm in %s: %s", resourceInitPrefix, cfg.Region, oneLine(err))
		}
		if len(res.InvalidParameters) > 0 {
			invalid := append([]string(nil), res.InvalidParameters...)
			sort.Strings(invalid)
			return bus.Errorf(bus.CodeResourceInit, "%sunable to retrieve secrets from ssm in %s: invalid parameters: %s",
				resourceInitPrefix, cfg.Region, strings.Join(invalid, ","))
		}
		values := map[string]string{}
		for _, p := range res.Parameters {
			values[aws.ToString(p.Name)] = aws.ToString(p.Value)
			values[aws.ToString(p.ARN)] = aws.ToString(p.Value)
		}
		for _, sec := range batch {
			v, ok := values[sec.ValueFrom]
			if !ok {
				return bus.Errorf(bus.CodeResourceInit, "%sunable to retrieve secrets from ssm in %s: parameter %s was not returned",
					resourceInitPrefix, cfg.Region, sec.ValueFrom)
			}
			out[sec.Name] = v
		}
	}
	return nil
}

// asmRef is a Secrets Manager reference: a secret ARN (or name), then optionally
// :json-key:version-stage:version-id.
type asmRef struct {
	secretID, jsonKey, versionStage, versionID string
}

func parseASMRef(valueFrom string) (asmRef, error) {
	if !strings.HasPrefix(valueFrom, "arn:") {
		return asmRef{secretID: valueFrom}, nil
	}
	parts := strings.Split(valueFrom, ":")
	// arn:partition:secretsmanager:region:account:secret:name
	if len(parts) < 7 || parts[2] != "secretsmanager" || parts[5] != "secret" || len(parts) > 10 {
		return asmRef{}, fmt.Errorf("%q is not a Secrets Manager secret ARN", valueFrom)
	}
	ref := asmRef{secretID: strings.Join(parts[:7], ":")}
	extra := append(parts[7:], "", "", "")
	ref.jsonKey, ref.versionStage, ref.versionID = extra[0], extra[1], extra[2]
	return ref, nil
}

// asmValue reads one Secrets Manager secret, or one key of its JSON.
func (s *secretStore) asmValue(ctx context.Context, creds aws.Credentials, valueFrom, region string) (string, error) {
	ref, err := parseASMRef(valueFrom)
	if err != nil {
		return "", bus.Errorf(bus.CodeResourceInit, "%sunable to retrieve secret from asm: %v", resourceInitPrefix, err)
	}
	if region == "" {
		region = arnRegion(ref.secretID)
	}
	cfg, err := s.awsConfig(ctx, creds, region)
	if err != nil {
		return "", bus.Errorf(bus.CodeResourceInit, "%sunable to retrieve secret from asm: %v", resourceInitPrefix, err)
	}
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(ref.secretID)}
	if ref.versionStage != "" {
		in.VersionStage = aws.String(ref.versionStage)
	}
	if ref.versionID != "" {
		in.VersionId = aws.String(ref.versionID)
	}
	res, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, in)
	if err != nil {
		return "", bus.Errorf(bus.CodeResourceInit, "%sunable to retrieve secret from asm: secret %s: %s", resourceInitPrefix, ref.secretID, oneLine(err))
	}
	value := aws.ToString(res.SecretString)
	if res.SecretString == nil && res.SecretBinary != nil {
		value = base64.StdEncoding.EncodeToString(res.SecretBinary)
	}
	if ref.jsonKey == "" {
		return value, nil
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(value), &fields); err != nil {
		return "", bus.Errorf(bus.CodeResourceInit, "%sunable to retrieve secret from asm: secret %s is not a JSON object, so it has no key %s",
			resourceInitPrefix, ref.secretID, ref.jsonKey)
	}
	v, ok := fields[ref.jsonKey]
	if !ok {
		return "", bus.Errorf(bus.CodeResourceInit, "%sunable to retrieve secret from asm: secret %s has no key %s", resourceInitPrefix, ref.secretID, ref.jsonKey)
	}
	if str, ok := v.(string); ok {
		return str, nil
	}
	b, _ := json.Marshal(v)
	return string(b), nil
}

// registryAuth is the pull authentication of an image: the task's own
// (repositoryCredentials, a Secrets Manager secret of {"username","password"}),
// else the instance's (ECS_ENGINE_AUTH_TYPE and ECS_ENGINE_AUTH_DATA) for the
// image's registry, else none. It is Docker's base64 X-Registry-Auth.
func (s *secretStore) registryAuth(ctx context.Context, req bus.PullRequest) (string, error) {
	if req.RegistryAuth != nil {
		creds, err := s.credentials(ctx, req.ExecutionCredentialsID)
		if err != nil {
			return "", err
		}
		raw, err := s.asmValue(ctx, creds, req.RegistryAuth.CredentialsParameter, req.RegistryAuth.Region)
		if err != nil {
			return "", err
		}
		var up struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		if json.Unmarshal([]byte(raw), &up) != nil || up.Username == "" || up.Password == "" {
			return "", bus.Errorf(bus.CodeResourceInit, "%sregistry credentials %s: want a JSON object with username and password",
				resourceInitPrefix, req.RegistryAuth.CredentialsParameter)
		}
		return registry.EncodeAuthConfig(registry.AuthConfig{Username: up.Username, Password: up.Password, ServerAddress: registryHost(req.Image)})
	}
	ac, ok, err := engineAuth(s.cfg.EngineAuthType, s.cfg.EngineAuthData, registryHost(req.Image))
	if err != nil || !ok {
		return "", err
	}
	return registry.EncodeAuthConfig(ac)
}

// engineAuth looks a registry up in the instance's auth data: "docker" is
// {"registry":{"username","password","email"}}, "dockercfg" is the old
// ~/.dockercfg {"registry":{"auth":"base64(user:pass)","email"}}.
func engineAuth(typ, data, host string) (registry.AuthConfig, bool, error) {
	if typ == "" || data == "" {
		return registry.AuthConfig{}, false, nil
	}
	var entries map[string]struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Email    string `json:"email"`
		Auth     string `json:"auth"`
	}
	if err := json.Unmarshal([]byte(data), &entries); err != nil {
		return registry.AuthConfig{}, false, bus.Errorf(bus.CodePullFailed, "ECS_ENGINE_AUTH_DATA is not a JSON object of registries")
	}
	for key, e := range entries {
		if registryHost(strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")+"/x") != host {
			continue
		}
		ac := registry.AuthConfig{Username: e.Username, Password: e.Password, Email: e.Email, ServerAddress: key}
		if typ == "dockercfg" {
			raw, err := base64.StdEncoding.DecodeString(e.Auth)
			user, pass, ok := strings.Cut(string(raw), ":")
			if err != nil || !ok {
				return registry.AuthConfig{}, false, bus.Errorf(bus.CodePullFailed, "ECS_ENGINE_AUTH_DATA: the auth of %s is not base64 of user:password", key)
			}
			ac.Username, ac.Password = user, pass
		}
		return ac, true, nil
	}
	return registry.AuthConfig{}, false, nil
}

// registryHost is the registry part of an image reference ("docker.io" for
// Docker Hub's).
func registryHost(image string) string {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return ""
	}
	return reference.Domain(named)
}

// arnRegion is the region field of an ARN, or "".
func arnRegion(s string) string {
	parts := strings.SplitN(s, ":", 5)
	if len(parts) < 5 || parts[0] != "arn" {
		return ""
	}
	return parts[3]
}
