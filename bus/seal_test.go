package bus_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/bustest"
)

func TestSealedCredentialsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bus", "credentials.key")
	if err := bus.LoadOrCreateSealKey(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v, %v; want mode 0600", fi, err)
	}
	k := bus.NewKeyring(path)
	b := bustest.Start(t)
	js, _ := bus.JetStream(b.ConnAs(t, bus.UserSession, "session"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := bus.OpenBucket(ctx, js, bus.BucketCredentials)
	if err != nil {
		t.Fatal(err)
	}
	rc := bus.RoleCredentials{TaskArn: "arn:t", RoleType: bus.RoleTypeTask, CredentialsID: "cred-1",
		AccessKeyID: "ASIAEXAMPLEEXAMPLE00", SecretAccessKey: "very-secret-key", SessionToken: "token-xyz",
		Expiration: time.Now().Add(time.Hour).UTC().Truncate(time.Second)}
	if err := bus.PutRoleCredentials(ctx, kv, k, rc); err != nil {
		t.Fatal(err)
	}
	// What the bus holds shows none of the secrets.
	admin, _ := bus.JetStream(b.Conn(t, "admin"))
	akv, _ := bus.OpenBucket(ctx, admin, bus.BucketCredentials)
	e, err := akv.Get(ctx, "cred-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{rc.AccessKeyID, rc.SecretAccessKey, rc.SessionToken} {
		if bytes.Contains(e.Value(), []byte(secret)) {
			t.Fatalf("the stored value shows %q", secret)
		}
	}
	// The reporter opens them; another key does not.
	rjs, _ := bus.JetStream(b.ConnAs(t, bus.UserReporter, "reporter"))
	rkv, _ := bus.OpenBucket(ctx, rjs, bus.BucketCredentials)
	got, err := bus.GetRoleCredentials(ctx, rkv, bus.NewKeyring(path), "cred-1")
	if err != nil || got.SecretAccessKey != rc.SecretAccessKey || !got.Expiration.Equal(rc.Expiration) {
		t.Fatalf("got %+v, %v", got, err)
	}
	other, _ := bus.NewKeyringFromKey(make([]byte, 32))
	if _, err := bus.GetRoleCredentials(ctx, rkv, other, "cred-1"); !errors.Is(err, bus.ErrSealed) {
		t.Fatalf("another key: %v, want ErrSealed", err)
	}
}
