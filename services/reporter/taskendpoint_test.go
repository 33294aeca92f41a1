package reporter

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
)

// TestTaskEndpoints drives the task endpoints through the bus: credentials sealed in
// their bucket by the session's key, the task found by its record's IDs.
func TestTaskEndpoints(t *testing.T) {
	h := newHarness(t)
	dataDir := t.TempDir()
	if err := bus.LoadOrCreateSealKey(bus.SealKeyFile(dataDir)); err != nil {
		t.Fatal(err)
	}
	cfg := h.config()
	cfg.TaskEndpointAddr, cfg.DataDir = "127.0.0.1:0", dataDir
	rr := h.start(cfg)
	base := "http://" + rr.r.TaskEndpointAddr().String()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := bus.OpenBucket(ctx, h.js, bus.BucketCredentials)
	if err != nil {
		t.Fatal(err)
	}
	keyring := bus.NewKeyring(bus.SealKeyFile(dataDir))
	const secret, token = "endpoint-test-secret-never-logged", "endpoint-test-token-never-logged"
	exp := time.Date(2026, 6, 29, 20, 0, 0, 0, time.UTC)
	for _, rc := range []bus.RoleCredentials{
		{TaskArn: taskArn(1), RoleType: bus.RoleTypeTask, CredentialsID: "task-id", RoleArn: "arn:aws:iam::1:role/t",
			AccessKeyID: "ASIATASK", SecretAccessKey: secret, SessionToken: token, Expiration: exp},
		{TaskArn: taskArn(1), RoleType: bus.RoleTypeExecution, CredentialsID: "exec-id", RoleArn: "arn:aws:iam::1:role/x",
			AccessKeyID: "ASIAEXEC", SecretAccessKey: secret + "-exec", SessionToken: token + "-exec", Expiration: exp},
	} {
		if err := bus.PutRoleCredentials(ctx, kv, keyring, rc); err != nil {
			t.Fatal(err)
		}
	}
	put(t, h, bus.BucketTasks, bus.TaskKey(taskArn(1)), bus.TaskRecord{
		Type: bus.TypeTaskRecord, Cluster: "test-cluster",
		Spec: bus.TaskSpec{Arn: taskArn(1), Family: "web", Version: "1", TaskCredentialsID: "task-id", ExecutionCredentialsID: "exec-id",
			Containers: []bus.ContainerSpec{{Name: "web", Image: "busybox"}}},
		DesiredStatus: bus.StatusRunning, KnownStatus: bus.StatusRunning,
		Containers: []bus.ContainerRecord{{Name: "web", Image: "busybox", DockerID: "abc123", DesiredStatus: bus.StatusRunning,
			KnownStatus: bus.StatusRunning, EndpointID: "ep-web"}},
	})

	want := `{"RoleArn":"arn:aws:iam::1:role/t","AccessKeyId":"ASIATASK","SecretAccessKey":"` + secret +
		`","Token":"` + token + `","Expiration":"2026-06-29T20:00:00Z"}`
	if code, ct, body := get(t, base, "/v2/credentials/task-id"); code != http.StatusOK || ct != "application/json" || body != want {
		t.Errorf("task role credentials: %d %q %s", code, ct, body)
	}
	notFound := `{"code":"InvalidIdInRequest","message":"CredentialsV2Request: Credentials not found","HTTPErrorCode":400}`
	for _, id := range []string{"exec-id", "task.id", "nope"} { // "task.id" has the same bucket key as "task-id"
		if code, _, body := get(t, base, "/v2/credentials/"+id); code != http.StatusBadRequest || body != notFound {
			t.Errorf("credentials %s: %d %s", id, code, body)
		}
	}
	eventually(t, "the task record", func() bool {
		code, _, _ := get(t, base, "/v4/ep-web/task")
		return code == http.StatusOK
	})
	if code, _, body := get(t, base, "/v4/ep-web"); code != http.StatusOK || !strings.Contains(body, `"DockerId":"abc123"`) {
		t.Errorf("v4 container: %d %s", code, body)
	}
	// No dockerexec answers: the stats are a 500, as when the real agent has none.
	if code, _, body := get(t, base, "/v4/ep-web/stats"); code != http.StatusInternalServerError ||
		body != `"Unable to get container stats for: abc123"` {
		t.Errorf("v4 stats without dockerexec: %d %s", code, body)
	}

	logs := h.log.String()
	for _, s := range []string{secret, token, "ASIATASK", "ASIAEXEC"} {
		if strings.Contains(logs, s) {
			t.Errorf("a credential value (%.8s…) is in the reporter's log", s)
		}
	}
}
