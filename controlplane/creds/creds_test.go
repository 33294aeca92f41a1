package creds

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

var accessKeyPattern = regexp.MustCompile(`^ASIA[A-Z0-9]{16}$`)

func TestLocalMint(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l := &Local{Duration: time.Hour, Now: func() time.Time { return now }}
	a, err := l.Mint(context.Background(), Request{RoleArn: "arn:aws:iam::123456789012:role/r", SessionName: "t"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := l.Mint(context.Background(), Request{})
	if !accessKeyPattern.MatchString(a.AccessKeyID) || len(a.SecretAccessKey) != 40 || a.SessionToken == "" {
		t.Fatalf("minted key %q, secret of %d characters, token %d", a.AccessKeyID, len(a.SecretAccessKey), len(a.SessionToken))
	}
	if !a.Expiration.Equal(now.Add(time.Hour)) {
		t.Fatalf("expiration %s", a.Expiration)
	}
	if a.AccessKeyID == b.AccessKeyID || a.SecretAccessKey == b.SecretAccessKey || a.SessionToken == b.SessionToken {
		t.Fatal("two mints gave the same keys")
	}
	for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%+v", a), fmt.Sprintf("%#v", a)} {
		if strings.Contains(s, a.SecretAccessKey) || strings.Contains(s, a.SessionToken) || strings.Contains(s, a.AccessKeyID) {
			t.Fatalf("formatting shows a key: %s", s)
		}
	}
}

func TestBook(t *testing.T) {
	b := NewBook()
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	if !b.DueForRefresh("c1", t0) {
		t.Fatal("credentials never issued are not due")
	}
	b.Issued("task", "TaskApplication", "role", "c1", Issue{Via: ViaPayload, MessageID: "m1", IssuedAt: t0, Expiration: t0.Add(time.Hour)})
	b.Issued("task", "TaskExecution", "exec", "c2", Issue{Via: ViaPayload, MessageID: "m1", IssuedAt: t0, Expiration: t0.Add(time.Hour)})
	if b.DueForRefresh("c1", t0.Add(39*time.Minute)) || !b.DueForRefresh("c1", t0.Add(41*time.Minute)) {
		t.Fatal("refresh is due when less than a third of the lifetime is left")
	}
	if b.Acked("m2", "c1", t0) || b.Acked("m1", "nope", t0) {
		t.Fatal("an ack of no issue matched")
	}
	if !b.Acked("m1", "c1", t0.Add(time.Second)) || !b.Acked("m1", "c1", t0.Add(time.Minute)) {
		t.Fatal("the ack of an issue did not match")
	}
	rs := b.ForTask("task")
	if len(rs) != 2 || rs[0].RoleType != "TaskApplication" || rs[1].RoleType != "TaskExecution" {
		t.Fatalf("records %+v", rs)
	}
	if is := rs[0].Issues[0]; !is.Acked || is.AckedAt == nil || !is.AckedAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("acked issue %+v", is)
	}
	if rs[1].Issues[0].Acked {
		t.Fatal("the other role's issue got the ack")
	}
	if len(b.ForTask("other")) != 0 {
		t.Fatal("records of another task")
	}
}

// startMoto runs moto_server on a free loopback port until the test ends.
func startMoto(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Skip("moto_server is not installed (pip install 'moto[server]'): skipping the STS minter test")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return url
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not answer on %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The STS minter against a real moto_server: the keys it hands out are accepted by the
// same endpoint as the assumed role, and a lifetime below STS's floor is advertised as
// configured.
func TestSTSMintAgainstMoto(t *testing.T) {
	url := startMoto(t)
	// The control plane's own credentials, from the default chain: the environment.
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDCONTROLPLANE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "control-plane-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := NewSTS(ctx, url, "us-west-2", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	role := "arn:aws:iam::123456789012:role/app"
	before := time.Now()
	c, err := m.Mint(ctx, Request{RoleArn: role, SessionName: "0123456789abcdef0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" || c.SessionToken == "" {
		t.Fatal("AssumeRole gave empty keys")
	}
	if c.Expiration.Before(before.Add(time.Minute-time.Second)) || c.Expiration.After(time.Now().Add(time.Minute+time.Second)) {
		t.Fatalf("advertised expiration %s, want about a minute from now", c.Expiration)
	}
	client := sts.New(sts.Options{
		Region:       "us-west-2",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken),
	})
	id, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity with the minted keys: %v", err)
	}
	if arn := aws.ToString(id.Arn); !strings.Contains(arn, "assumed-role/app/0123456789abcdef0123456789abcdef") {
		t.Fatalf("caller identity %s is not the assumed role's session", arn)
	}
}
