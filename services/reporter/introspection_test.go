package reporter

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/config"
)

func get(t *testing.T, base, path string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

func put(t *testing.T, h *harness, bucket, key string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	kv, err := bus.OpenBucket(ctx, h.js, bucket)
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.PutJSON(ctx, kv, key, v); err != nil {
		t.Fatal(err)
	}
}

func TestIntrospection(t *testing.T) {
	h := newHarness(t)
	rr := h.start(h.config()) // creates the buckets, which do not exist yet
	base := "http://" + rr.r.IntrospectionAddr().String()

	version, _ := json.Marshal(config.VersionString())
	wantMeta := `{"Cluster":"test-cluster","ContainerInstanceArn":null,"Version":` + string(version) + `}`
	if code, ct, body := get(t, base, "/v1/metadata"); code != 200 || ct != "application/json" || body != wantMeta {
		t.Errorf("metadata before registration: %d %q %s", code, ct, body)
	}

	instanceArn := "arn:aws:ecs:us-west-2:123456789012:container-instance/test-cluster/abc"
	put(t, h, bus.BucketInstance, bus.KeyRegistration, bus.Registration{
		Type: bus.TypeRegistration, Cluster: "test-cluster", ContainerInstanceArn: instanceArn, Region: "us-west-2",
	})
	wantMeta = `{"Cluster":"test-cluster","ContainerInstanceArn":"` + instanceArn + `","Version":` + string(version) + `}`
	eventually(t, "metadata after registration", func() bool {
		_, _, body := get(t, base, "/v1/metadata")
		return body == wantMeta
	})

	created := time.Date(2026, 6, 29, 19, 15, 44, 123456789, time.UTC)
	started := created.Add(time.Second)
	web := bus.TaskRecord{
		Type: bus.TypeTaskRecord, CreatedAt: created,
		Spec: bus.TaskSpec{Arn: taskArn(1), Family: "nginx", Version: "3", Containers: []bus.ContainerSpec{
			{Name: "nginx", Image: "nginx:latest", PortMappings: []bus.PortMapping{{ContainerPort: 80}},
				MountPoints: []bus.MountPoint{{SourceVolume: "data", ContainerPath: "/data"}}},
		}, Volumes: []bus.VolumeSpec{{Name: "data", SourcePath: "/srv/data"}}},
		DesiredStatus: bus.StatusRunning, KnownStatus: bus.StatusRunning,
		Containers: []bus.ContainerRecord{{
			Name: "nginx", Image: "nginx:latest", ImageID: "sha256:1111", DockerID: "3f2c" + strings.Repeat("a", 60),
			DockerName: "ecs-nginx-3-nginx-e4f1", CreatedAt: &created, StartedAt: &started,
			NetworkBindings: []bus.NetworkBinding{{BindIP: "0.0.0.0", ContainerPort: 80, HostPort: 32768, Protocol: "tcp"}},
		}},
	}
	batch := bus.TaskRecord{
		Type: bus.TypeTaskRecord, CreatedAt: created.Add(time.Minute),
		Spec:          bus.TaskSpec{Arn: taskArn(2), Family: "batch", Version: "1"},
		DesiredStatus: bus.StatusRunning, KnownStatus: bus.StatusStopped,
		Containers: []bus.ContainerRecord{
			{Name: "a", Image: "busybox", DockerID: "3f2d" + strings.Repeat("b", 60)},
			{Name: "b", Image: "busybox"}, // never created: not listed
		},
	}
	put(t, h, bus.BucketTasks, bus.TaskKey(web.Spec.Arn), web)
	put(t, h, bus.BucketTasks, bus.TaskKey(batch.Spec.Arn), batch)

	wantWeb := `{"Arn":"` + taskArn(1) + `","DesiredStatus":"RUNNING","KnownStatus":"RUNNING","Family":"nginx","Version":"3",` +
		`"Containers":[{"DockerId":"3f2c` + strings.Repeat("a", 60) + `","DockerName":"ecs-nginx-3-nginx-e4f1","Name":"nginx",` +
		`"Image":"nginx:latest","ImageID":"sha256:1111","CreatedAt":"2026-06-29T19:15:44.123456789Z","StartedAt":"2026-06-29T19:15:45.123456789Z",` +
		`"Ports":[{"ContainerPort":80,"Protocol":"tcp","HostPort":32768}],"Volumes":[{"Source":"/srv/data","Destination":"/data"}]}]}`
	wantBatch := `{"Arn":"` + taskArn(2) + `","KnownStatus":"STOPPED","Family":"batch","Version":"1",` +
		`"Containers":[{"DockerId":"3f2d` + strings.Repeat("b", 60) + `","DockerName":"","Name":"a","Image":"busybox","ImageID":""}]}`
	eventually(t, "both tasks", func() bool {
		_, _, body := get(t, base, "/v1/tasks")
		return body == `{"Tasks":[`+wantWeb+`,`+wantBatch+`]}`
	})

	empty := `{"Arn":"","KnownStatus":"","Family":"","Version":"","Containers":null}`
	for _, tc := range []struct {
		name, query string
		code        int
		body        string
	}{
		{"by arn", "taskarn=" + url.QueryEscape(taskArn(2)), 200, wantBatch},
		{"unknown arn", "taskarn=" + url.QueryEscape(taskArn(9)), 404, empty},
		{"full docker id", "dockerid=3f2c" + strings.Repeat("a", 60), 200, wantWeb},
		{"full id must match exactly", "dockerid=3f2c" + strings.Repeat("a", 59), 404, empty},
		{"short id prefix", "dockerid=3f2ca", 200, wantWeb},
		{"ambiguous short id", "dockerid=3f2", 400, empty},
		{"unknown docker id", "dockerid=ffff", 404, empty},
		{"both", "taskarn=" + url.QueryEscape(taskArn(1)) + "&dockerid=3f2c", 400, empty},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, ct, body := get(t, base, "/v1/tasks?"+tc.query)
			if code != tc.code || body != tc.body || ct != "application/json" {
				t.Errorf("got %d %q %s\nwant %d %s", code, ct, body, tc.code, tc.body)
			}
		})
	}

	// A task the scheduler forgets disappears.
	kv, err := h.js.KeyValue(context.Background(), bus.BucketTasks)
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(context.Background(), bus.TaskKey(taskArn(2))); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deletion", func() bool {
		_, _, body := get(t, base, "/v1/tasks")
		return body == `{"Tasks":[`+wantWeb+`]}`
	})

	commands := `{"AvailableCommands":["/v1/metadata","/v1/tasks","/license"]}`
	for _, p := range []string{"/", "/v2/nothing", "/v1/tasksx", "/debug/pprof/"} {
		if code, _, body := get(t, base, p); code != 200 || body != commands {
			t.Errorf("GET %s: %d %s", p, code, body)
		}
	}
	if code, ct, body := get(t, base, "/license"); code != 200 || !strings.HasPrefix(ct, "text/plain") || !strings.Contains(body, "Apache License") {
		t.Errorf("license: %d %q %.60s", code, ct, body)
	}
}

// ECS_ENABLE_RUNTIME_STATS: the runtime's profiles on the introspection port, and
// listed among its commands.
func TestIntrospectionRuntimeStats(t *testing.T) {
	h := newHarness(t)
	cfg := h.config()
	cfg.RuntimeStats = true
	rr := h.start(cfg)
	base := "http://" + rr.r.IntrospectionAddr().String()
	if _, _, body := get(t, base, "/"); !strings.Contains(body, `"/license","/debug/pprof/",`) {
		t.Errorf("commands: %s", body)
	}
	if code, _, body := get(t, base, "/debug/pprof/goroutine?debug=1"); code != 200 || !strings.Contains(body, "goroutine profile:") {
		t.Errorf("goroutine profile: %d %.80s", code, body)
	}
}
