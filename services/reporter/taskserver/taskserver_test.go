package taskserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/services/reporter/taskserver"
)

var update = flag.Bool("update", false, "rewrite the golden files from the answers")

const (
	taskArn    = "arn:aws:ecs:us-west-2:123456789012:task/default/8a7f0c3e9b5d4e21a0f3c6b7d8e9f012"
	webID      = "3f2c" + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	sidecarID  = "3f2d" + "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	webEP      = "0c4e1f5a-web"
	sidecarEP  = "9d2b7e61-sidecar"
	pendingEP  = "5b6c7d8e-pending"
	taskCreds  = "task-creds-0001"
	execCreds  = "exec-creds-0001"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	testToken  = "IQoJb3JpZ2luX2VjEXAMPLETOKEN"
)

// fakeTasks is the reporter's task index, in memory.
type fakeTasks struct {
	reg   bus.Registration
	tasks []bus.TaskRecord
}

func (f *fakeTasks) Registration() (bus.Registration, bool) { return f.reg, true }

func (f *fakeTasks) TaskByEndpointID(id string) (bus.TaskRecord, bool) {
	for _, t := range f.tasks {
		for _, c := range t.Containers {
			if c.EndpointID == id {
				return t, true
			}
		}
	}
	return bus.TaskRecord{}, false
}

func (f *fakeTasks) TaskByCredentialsID(id string) (bus.TaskRecord, bool) {
	for _, t := range f.tasks {
		if t.Spec.TaskCredentialsID == id {
			return t, true
		}
	}
	return bus.TaskRecord{}, false
}

type fakeCreds map[string]bus.RoleCredentials

func (f fakeCreds) Credentials(_ context.Context, id string) (bus.RoleCredentials, error) {
	rc, ok := f[id]
	if !ok {
		return rc, taskserver.ErrNotFound
	}
	return rc, nil
}

type fakeStats map[string]string // by container name

func (f fakeStats) ContainerStats(_ context.Context, _, name string) (json.RawMessage, error) {
	s, ok := f[name]
	if !ok {
		return nil, errors.New("no such container")
	}
	return json.RawMessage(s), nil
}

func ptr[T any](v T) *T { return &v }

func testTask() bus.TaskRecord {
	created := time.Date(2026, 6, 29, 19, 15, 44, 123456789, time.UTC)
	started := created.Add(time.Second)
	pull := created.Add(-10 * time.Second)
	return bus.TaskRecord{
		Type: bus.TypeTaskRecord, Cluster: "default", CreatedAt: created,
		Spec: bus.TaskSpec{
			Arn: taskArn, Family: "web", Version: "3", DesiredStatus: bus.StatusRunning,
			CPU: 0.5, Memory: 512, LaunchType: "EC2", ServiceName: "web-svc",
			TaskCredentialsID: taskCreds, ExecutionCredentialsID: execCreds,
			Volumes: []bus.VolumeSpec{{Name: "data", SourcePath: "/srv/data"}},
			Containers: []bus.ContainerSpec{
				{Name: "web", Image: "nginx:latest", CPU: 256, Memory: 256, Essential: true,
					MountPoints: []bus.MountPoint{{SourceVolume: "data", ContainerPath: "/data"}},
					DockerConfig: bus.DockerConfig{
						Config:     `{"Labels":{"team":"frontend","com.amazonaws.ecs.cluster":"spoofed"}}`,
						HostConfig: `{"LogConfig":{"Type":"json-file","Config":{"max-size":"10m"}}}`,
					}},
				{Name: "sidecar", Image: "busybox", Essential: false},
				{Name: "pending", Image: "busybox"},
			},
		},
		DesiredStatus: bus.StatusRunning, KnownStatus: bus.StatusRunning,
		PullStartedAt: &pull, PullStoppedAt: ptr(pull.Add(5 * time.Second)),
		Containers: []bus.ContainerRecord{
			{Name: "web", Image: "nginx:latest", ImageID: "sha256:1111", DockerID: webID, DockerName: "ecs-web-3-web-e4f1a9b2",
				DesiredStatus: bus.StatusRunning, KnownStatus: bus.StatusRunning, Health: bus.HealthHealthy, Essential: true,
				CreatedAt: &created, StartedAt: &started, EndpointID: webEP,
				NetworkBindings: []bus.NetworkBinding{{BindIP: "0.0.0.0", ContainerPort: 80, HostPort: 32768, Protocol: "tcp"}}},
			{Name: "sidecar", Image: "busybox", ImageID: "sha256:2222", DockerID: sidecarID, DockerName: "ecs-web-3-sidecar-c0ffee",
				DesiredStatus: bus.StatusRunning, KnownStatus: bus.StatusStopped, ExitCode: ptr(0),
				CreatedAt: &created, StartedAt: &started, FinishedAt: ptr(started.Add(time.Minute)), EndpointID: sidecarEP},
			{Name: "pending", Image: "busybox", DesiredStatus: bus.StatusRunning, KnownStatus: bus.StatusPulled, EndpointID: pendingEP},
		},
	}
}

func newServer(t *testing.T, log io.Writer, rps, burst int) *httptest.Server {
	t.Helper()
	tasks := &fakeTasks{
		reg:   bus.Registration{Cluster: "default", AvailabilityZone: "us-west-2a", Region: "us-west-2"},
		tasks: []bus.TaskRecord{testTask()},
	}
	exp := time.Date(2026, 6, 29, 21, 15, 44, 0, time.FixedZone("x", 3600))
	creds := fakeCreds{
		taskCreds: {TaskArn: taskArn, RoleType: bus.RoleTypeTask, CredentialsID: taskCreds,
			RoleArn: "arn:aws:iam::123456789012:role/web-task", AccessKeyID: "ASIAEXAMPLETASK",
			SecretAccessKey: testSecret, SessionToken: testToken, Expiration: exp},
		execCreds: {TaskArn: taskArn, RoleType: bus.RoleTypeExecution, CredentialsID: execCreds,
			RoleArn: "arn:aws:iam::123456789012:role/exec", AccessKeyID: "ASIAEXAMPLEEXEC",
			SecretAccessKey: testSecret + "-exec", SessionToken: testToken + "-exec", Expiration: exp},
	}
	stats := fakeStats{
		"web":     `{"read":"2026-06-29T19:20:00.000000001Z","id":"` + webID + `","name":"/ecs-web-3-web-e4f1a9b2","memory_stats":{"usage":1048576}}`,
		"sidecar": `{"read":"2026-06-29T19:20:00.000000002Z","id":"` + sidecarID + `","name":"/ecs-web-3-sidecar-c0ffee","memory_stats":{}}`,
	}
	h := taskserver.Handler(taskserver.Config{Cluster: "default", RPS: rps, Burst: burst}, tasks, creds, stats,
		zerolog.New(log).Level(zerolog.DebugLevel))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, base, path string) (int, string, []byte) {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// golden is one answer kept in testdata: its status and body.
type golden struct {
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

func TestGoldenAnswers(t *testing.T) {
	srv := newServer(t, io.Discard, 1000, 1000)
	for _, tc := range []struct{ file, path string }{
		{"v2_credentials.json", "/v2/credentials/" + taskCreds},
		{"v1_credentials.json", "/v1/credentials?id=" + taskCreds},
		{"v2_credentials_unknown.json", "/v2/credentials/nope"},
		{"v2_credentials_execution_role.json", "/v2/credentials/" + execCreds},
		{"v2_credentials_no_id.json", "/v2/credentials/"},
		{"v1_credentials_no_id.json", "/v1/credentials"},
		{"v4_container.json", "/v4/" + webEP},
		{"v4_task.json", "/v4/" + webEP + "/task"},
		{"v4_task_with_tags.json", "/v4/" + sidecarEP + "/taskWithTags"},
		{"v4_stats.json", "/v4/" + webEP + "/stats"},
		{"v4_task_stats.json", "/v4/" + sidecarEP + "/task/stats"},
		{"v4_container_unknown.json", "/v4/nope"},
		{"v4_container_not_created.json", "/v4/" + pendingEP},
		{"v4_task_unknown.json", "/v4/nope/task"},
		{"v4_stats_unknown.json", "/v4/nope/stats"},
		{"v4_task_stats_unknown.json", "/v4/nope/task/stats"},
		{"v3_container.json", "/v3/" + webEP},
		{"v3_task.json", "/v3/" + webEP + "/task"},
		{"v3_stats.json", "/v3/" + webEP + "/stats"},
		{"v3_task_stats.json", "/v3/" + webEP + "/task/stats"},
		{"v3_container_unknown.json", "/v3/nope"},
		{"v3_task_unknown.json", "/v3/nope/task"},
		{"v3_stats_unknown.json", "/v3/nope/stats"},
	} {
		t.Run(strings.TrimSuffix(tc.file, ".json"), func(t *testing.T) {
			code, ct, body := get(t, srv.URL, tc.path)
			if ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			path := filepath.Join("testdata", tc.file)
			if *update {
				var indented any
				if err := json.Unmarshal(body, &indented); err != nil {
					t.Fatalf("answer is not JSON: %v: %s", err, body)
				}
				b, _ := json.Marshal(indented)
				out, _ := json.MarshalIndent(golden{Status: code, Body: b}, "", "  ")
				if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run the test with -update to write it)", err)
			}
			var want golden
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			if code != want.Status {
				t.Errorf("status %d, want %d", code, want.Status)
			}
			for _, d := range diff(t, want.Body, body) {
				t.Error(d)
			}
		})
	}
}

// diff compares two JSON documents field by field and lists every difference by
// path: a renamed, missing or extra field, or a changed value.
func diff(t *testing.T, want, got []byte) []string {
	t.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("golden body: %v", err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, got)
	}
	var out []string
	var walk func(path string, w, g any)
	walk = func(path string, w, g any) {
		switch wv := w.(type) {
		case map[string]any:
			gv, ok := g.(map[string]any)
			if !ok {
				out = append(out, fmt.Sprintf("%s: got %v, want an object", path, g))
				return
			}
			keys := map[string]bool{}
			for k := range wv {
				keys[k] = true
			}
			for k := range gv {
				keys[k] = true
			}
			sorted := make([]string, 0, len(keys))
			for k := range keys {
				sorted = append(sorted, k)
			}
			sort.Strings(sorted)
			for _, k := range sorted {
				wk, inW := wv[k]
				gk, inG := gv[k]
				switch {
				case !inG:
					out = append(out, fmt.Sprintf("%s.%s: missing", path, k))
				case !inW:
					out = append(out, fmt.Sprintf("%s.%s: unexpected field (%v)", path, k, gk))
				default:
					walk(path+"."+k, wk, gk)
				}
			}
		case []any:
			gv, ok := g.([]any)
			if !ok || len(gv) != len(wv) {
				out = append(out, fmt.Sprintf("%s: got %v, want %v", path, g, w))
				return
			}
			for i := range wv {
				walk(fmt.Sprintf("%s[%d]", path, i), wv[i], gv[i])
			}
		default:
			if !reflect.DeepEqual(w, g) {
				out = append(out, fmt.Sprintf("%s: got %v, want %v", path, g, w))
			}
		}
	}
	walk("$", w, g)
	return out
}

func TestThrottlingPerTask(t *testing.T) {
	srv := newServer(t, io.Discard, 1, 3)
	for i := range 3 {
		if code, _, body := get(t, srv.URL, "/v4/"+webEP); code != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, code, body)
		}
	}
	// Another container of the same task shares the task's bucket.
	resp, err := http.Get(srv.URL + "/v4/" + sidecarEP + "/task")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || string(body) != "You have reached maximum request limit." ||
		resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || resp.Header.Get("X-Rate-Limit-Limit") != "1.00" {
		t.Errorf("over the burst: %d %q %q %v", resp.StatusCode, resp.Header.Get("Content-Type"), body, resp.Header)
	}
	// Requests naming no task are throttled by client address, apart from the task.
	if code, _, _ := get(t, srv.URL, "/v4/nope"); code != http.StatusNotFound {
		t.Errorf("unknown endpoint ID throttled with the task: %d", code)
	}
}

func TestCredentialsNeverLogged(t *testing.T) {
	var log strings.Builder
	srv := newServer(t, &log, 1000, 1000)
	code, _, body := get(t, srv.URL, "/v2/credentials/"+taskCreds)
	if code != http.StatusOK || !strings.Contains(string(body), testSecret) {
		t.Fatalf("task credentials: %d %s", code, body)
	}
	code, _, body = get(t, srv.URL, "/v2/credentials/"+execCreds)
	if code != http.StatusBadRequest || strings.Contains(string(body), "ASIAEXAMPLEEXEC") || strings.Contains(string(body), testSecret) {
		t.Fatalf("execution role credentials served: %d %s", code, body)
	}
	get(t, srv.URL, "/v1/credentials?id="+execCreds)
	if log.Len() == 0 {
		t.Fatal("nothing logged; the test would prove nothing")
	}
	for _, secret := range []string{testSecret, testToken, "ASIAEXAMPLETASK", "ASIAEXAMPLEEXEC"} {
		if strings.Contains(log.String(), secret) {
			t.Errorf("a credential value (%.6s…) is in the log:\n%s", secret, log.String())
		}
	}
}
