package awsclient

import (
	"context"
	"encoding/pem"
	"errors"
	"github.com/ecs-agent/ecs-agent/awsclient/imdstest"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// clearAWSEnv leaves the test with no AWS setting from the machine it runs on.
func clearAWSEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
		"AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CA_BUNDLE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_EC2_METADATA_SERVICE_ENDPOINT"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func TestSharedCredentialsFileAndProfile(t *testing.T) {
	clearAWSEnv(t)
	creds := os.Getenv("AWS_SHARED_CREDENTIALS_FILE")
	if err := os.WriteFile(creds, []byte("[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n\n"+
		"[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = s2\naws_session_token = tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(os.Getenv("AWS_CONFIG_FILE"), []byte("[profile ops]\nregion = eu-west-3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name, envProfile, profile, region, wantKey, wantRegion string
	}{
		{name: "default profile", region: "us-west-2", wantKey: "AKIDDEFAULT", wantRegion: "us-west-2"},
		{name: "AWS_PROFILE", envProfile: "ops", wantKey: "AKIDOPS", wantRegion: "eu-west-3"},
		{name: "ECS_ALTERNATE_CREDENTIAL_PROFILE", profile: "ops", region: "us-east-1", wantKey: "AKIDOPS", wantRegion: "us-east-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AWS_PROFILE", tc.envProfile)
			cfg, err := Config(ctx, Options{Region: tc.region, Profile: tc.profile})
			if err != nil {
				t.Fatal(err)
			}
			c, err := cfg.Credentials.Retrieve(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if c.AccessKeyID != tc.wantKey || cfg.Region != tc.wantRegion {
				t.Fatalf("key %q region %q, want %q %q", c.AccessKeyID, cfg.Region, tc.wantKey, tc.wantRegion)
			}
		})
	}
	t.Run("configured keys win", func(t *testing.T) {
		cfg, err := Config(ctx, Options{Region: "us-west-2", AccessKeyID: "AKIDCONF", SecretAccessKey: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := cfg.Credentials.Retrieve(ctx); c.AccessKeyID != "AKIDCONF" {
			t.Fatalf("key %q", c.AccessKeyID)
		}
	})
}

func TestNoRegionNamesTheVariable(t *testing.T) {
	clearAWSEnv(t)
	_, err := Config(context.Background(), Options{AccessKeyID: "a", SecretAccessKey: "b", External: true})
	if !errors.Is(err, ErrNoRegion) {
		t.Fatalf("err %v", err)
	}
	if want := "AWS_DEFAULT_REGION"; !strings.Contains(err.Error(), want) {
		t.Fatalf("%q does not name %s", err, want)
	}
}

const testDoc = `{"accountId":"123456789012","availabilityZone":"eu-central-1b","instanceId":"i-0123456789abcdef0",` +
	`"instanceType":"t3.micro","region":"eu-central-1","imageId":"ami-12345678"}`

func TestInstanceRoleAndRegionFromIMDS(t *testing.T) {
	clearAWSEnv(t)
	f := imdstest.Start(t, testDoc)
	ctx := context.Background()
	cfg, err := Config(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-central-1" {
		t.Fatalf("region %q, want the identity document's", cfg.Region)
	}
	c, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessKeyID != imdstest.RoleAccessKeyID || c.SessionToken != imdstest.RoleToken || !c.CanExpire {
		t.Fatalf("credentials %+v, want the instance role's", c)
	}
	id, err := FetchInstanceIdentity(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if id.Document != testDoc || id.Signature != imdstest.Signature || id.Parsed.InstanceID != "i-0123456789abcdef0" {
		t.Fatalf("identity %+v", id)
	}
	if f.Tokens.Load() == 0 || f.RoleFetches.Load() == 0 {
		t.Fatalf("IMDSv2 tokens %d, role fetches %d", f.Tokens.Load(), f.RoleFetches.Load())
	}

	// A configured region wins over the document's; ECS_EXTERNAL never asks IMDS.
	cfg, err = Config(ctx, Options{Region: "us-west-2"})
	if err != nil || cfg.Region != "us-west-2" {
		t.Fatalf("region %q, err %v", cfg.Region, err)
	}
	before := f.Tokens.Load()
	if _, err := Config(ctx, Options{External: true, AccessKeyID: "a", SecretAccessKey: "b"}); !errors.Is(err, ErrNoRegion) {
		t.Fatalf("external without a region: %v", err)
	}
	if f.Tokens.Load() != before {
		t.Fatal("external mode asked IMDS")
	}
	// AWS_EC2_METADATA_DISABLED from the agent's configuration (its env file).
	cfg, err = Config(ctx, Options{IMDSDisabled: true, Region: "us-west-2"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FetchInstanceIdentity(ctx, cfg); !errors.Is(err, ErrIMDSDisabled) {
		t.Fatalf("identity with IMDS disabled: %v", err)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err == nil {
		t.Fatal("the instance role was used with IMDS disabled")
	}
	if f.Tokens.Load() != before {
		t.Fatal("IMDS was asked while disabled")
	}
}

func TestIMDSDisabled(t *testing.T) {
	clearAWSEnv(t)
	cfg, err := Config(context.Background(), Options{Region: "us-west-2", AccessKeyID: "a", SecretAccessKey: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FetchInstanceIdentity(context.Background(), cfg); !errors.Is(err, ErrIMDSDisabled) {
		t.Fatalf("err %v, want ErrIMDSDisabled", err)
	}
}

func TestCABundleNeedsNoCustomClient(t *testing.T) {
	clearAWSEnv(t)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	pem := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(pem, certPEM(srv), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CA_BUNDLE", pem)
	cfg, err := Config(context.Background(), Options{Region: "us-west-2", AccessKeyID: "a", SecretAccessKey: "b", UserAgent: "ua"})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := cfg.HTTPClient.Do(req)
	if err != nil {
		t.Fatalf("the bundle's CA is not trusted: %v", err)
	}
	resp.Body.Close()
}

func certPEM(srv *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}
