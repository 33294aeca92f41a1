package controlplane_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/gorilla/websocket"

	"github.com/ecs-agent/ecs-agent/acs/tcs"
	"github.com/ecs-agent/ecs-agent/controlplane"
)

// dialTCS opens the telemetry socket as the agent does: telemetryEndpoint + ws with
// the real query, SigV4-signed.
func dialTCS(t *testing.T, e *env, cluster, inst string) *agentConn {
	t.Helper()
	dpe, err := e.ecs.DiscoverPollEndpoint(ctx(t), &ecs.DiscoverPollEndpointInput{Cluster: aws.String(cluster), ContainerInstance: aws.String(inst)})
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"agentHash": {"a8b3e7d3"}, "agentVersion": {"1.105.1"}, "cluster": {cluster}, "containerInstance": {inst}, "dockerVersion": {"20.10.24"}}
	u := "ws" + strings.TrimPrefix(aws.ToString(dpe.TelemetryEndpoint), "http") + "ws?" + q.Encode()
	ws, _, err := websocket.DefaultDialer.Dial(u, signedHeader(t, u, controlplane.DevAccessKey, controlplane.DevSecretKey))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return newAgentConn(t, ws)
}

// healthDef is a task with an essential container that has a health check, an
// essential one without, and a non-essential one with.
func healthDef() *ecs.RegisterTaskDefinitionInput {
	hc := &types.HealthCheck{Command: []string{"CMD-SHELL", "true"}, Interval: aws.Int32(5)}
	return &ecs.RegisterTaskDefinitionInput{Family: aws.String("health"), ContainerDefinitions: []types.ContainerDefinition{
		{Name: aws.String("web"), Image: aws.String("busybox"), Memory: aws.Int32(32), Essential: aws.Bool(true), HealthCheck: hc},
		{Name: aws.String("plain"), Image: aws.String("busybox"), Memory: aws.Int32(32), Essential: aws.Bool(true)},
		{Name: aws.String("side"), Image: aws.String("busybox"), Memory: aws.Int32(32), Essential: aws.Bool(false), HealthCheck: hc},
	}}
}

// A PublishHealthRequest as the real agent 1.105.1 writes it (timestamps in epoch
// seconds).
const realHealthFrame = `{"type":"PublishHealthRequest","message":{"metadata":{"cluster":"%s","containerInstance":"%s","fin":true,"messageId":"6a3b0f0e-6f0b-4a43-9c5e-0b2c3d1e9f10"},` +
	`"tasks":[{"clusterArn":"%s","containers":[{"containerName":"web","healthStatus":"%s","statusSince":1796205600.123},{"containerName":"side","healthStatus":"%s","statusSince":1796205600.5}],` +
	`"taskArn":"%s","taskDefinitionFamily":"health","taskDefinitionVersion":"1"}],"timestamp":1796205601.0}}`

func TestTCSHealthInDescribeTasks(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	c := e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 2000)
	task := e.runTask(t, "c", e.registerTaskDef(t, healthDef()))
	arn := aws.ToString(task.TaskArn)
	if task.HealthStatus != types.HealthStatusUnknown {
		t.Errorf("a new task's health %s", task.HealthStatus)
	}
	a := dialTCS(t, e, c, inst)
	for _, step := range []struct{ web, side, task string }{
		{"HEALTHY", "UNHEALTHY", "HEALTHY"}, // the non-essential one does not count
		{"UNHEALTHY", "HEALTHY", "UNHEALTHY"},
		{"UNKNOWN", "HEALTHY", "UNKNOWN"},
	} {
		if err := a.ws.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(realHealthFrame, c, inst, c, step.web, step.side, arn))); err != nil {
			t.Fatal(err)
		}
		a.next(tcs.TypeAckPublishHealth, 5*time.Second)
		d := e.describeTask(t, "c", arn)
		if string(d.HealthStatus) != step.task {
			t.Errorf("web %s side %s: task health %s, want %s", step.web, step.side, d.HealthStatus, step.task)
		}
		got := map[string]string{}
		for _, ct := range d.Containers {
			got[aws.ToString(ct.Name)] = string(ct.HealthStatus)
		}
		if got["web"] != step.web || got["side"] != step.side || got["plain"] != "UNKNOWN" {
			t.Errorf("container health %v", got)
		}
	}
	// Another instance may not set this task's health.
	other := e.registerInstance(t, "c", 2048, 2000)
	b := dialTCS(t, e, c, other)
	_ = b.ws.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(realHealthFrame, c, other, c, "HEALTHY", "HEALTHY", arn)))
	b.next(tcs.TypeAckPublishHealth, 5*time.Second)
	if d := e.describeTask(t, "c", arn); d.HealthStatus != types.HealthStatusUnknown {
		t.Errorf("another instance changed the health: %s", d.HealthStatus)
	}
}

func TestTCSMetricsAndInstanceStatus(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	c := e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 2000)
	arn := aws.ToString(e.runTask(t, "c", e.registerTaskDef(t, healthDef())).TaskArn)
	a := dialTCS(t, e, c, inst)
	metrics := `{"type":"PublishMetricsRequest","message":{"instanceMetrics":{},"metadata":{"cluster":"` + c + `","containerInstance":"` + inst + `","fin":true,"idle":false,"messageId":"m-1"},` +
		`"taskMetrics":[{"clusterArn":"` + c + `","containerMetrics":[{"containerName":"web","cpuStatsSet":{"max":55.5,"min":1.5,"sampleCount":3,"sum":80},"memoryStatsSet":{"max":12,"min":10,"sampleCount":3,"sum":33},` +
		`"storageStatsSet":{"readSizeBytes":{"max":0,"min":0,"overflowMax":0,"overflowMin":0,"overflowSum":0,"sampleCount":3,"sum":0}}}],"taskArn":"` + arn + `","taskDefinitionFamily":"health","taskDefinitionVersion":"1"}],"timestamp":1796205601.5}}`
	if err := a.ws.WriteMessage(websocket.TextMessage, []byte(metrics)); err != nil {
		t.Fatal(err)
	}
	a.next(tcs.TypeAckPublishMetric, 5*time.Second)
	var got controlplane.TaskMetrics
	if code := getAdmin(t, e, "/admin/metrics?task="+url.QueryEscape(arn), &got); code != 200 {
		t.Fatalf("admin metrics: %d", code)
	}
	if len(got.Containers) != 1 || got.Containers[0].CPUStatsSet.Max != 55.5 || got.Containers[0].MemoryStatsSet.Sum != 33 {
		t.Errorf("metrics %+v", got)
	}
	status := `{"type":"PublishInstanceStatusRequest","message":{"metadata":{"cluster":"` + c + `","containerInstance":"` + inst + `","requestId":"r-1"},` +
		`"statuses":[{"lastStatusChange":1796205500,"lastUpdated":1796205600,"status":"OK","type":"CONTAINER_RUNTIME"}],"timestamp":1796205601}}`
	_ = a.ws.WriteMessage(websocket.TextMessage, []byte(status))
	a.next(tcs.TypeAckPublishInstanceStatus, 5*time.Second)
	var st controlplane.InstanceStatus
	if code := getAdmin(t, e, "/admin/metrics?instance="+url.QueryEscape(inst), &st); code != 200 || len(st.Statuses) != 1 || st.Statuses[0].Status != "OK" {
		t.Errorf("instance status %d %+v", code, st)
	}
	// A malformed publication is refused, not acked.
	_ = a.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"PublishMetricsRequest","message":{"timestamp":"soon"}}`))
	a.next(tcs.TypeBadRequestException, 5*time.Second)
}

// The socket gets a heartbeat every HeartbeatInterval (a short one here stands in
// for the 20 s default), so an agent never recycles it for silence.
func TestTCSHeartbeats(t *testing.T) {
	e := newEnv(t, controlplane.Config{HeartbeatInterval: 100 * time.Millisecond})
	c := e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 2000)
	a := dialTCS(t, e, c, inst)
	start := time.Now()
	for i := 0; i < 5; i++ {
		var hb tcs.HeartbeatMessage
		if err := json.Unmarshal(a.next(tcs.TypeHeartbeatMessage, time.Second), &hb); err != nil || !hb.Healthy {
			t.Fatalf("heartbeat %d: %v %+v", i, err, hb)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("5 heartbeats took %v", d)
	}
}

func getAdmin(t *testing.T, e *env, path string, v any) int {
	t.Helper()
	resp, err := http.Get(e.ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(v)
	return resp.StatusCode
}

// The real agent writes each request behind the signed HTTP headers of a GET of the
// socket's URL (its wsclient's MakeRequestHook): those frames are read too.
func TestTCSFramesBehindSignedHeaders(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	c := e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 2000)
	arn := aws.ToString(e.runTask(t, "c", e.registerTaskDef(t, healthDef())).TaskArn)
	a := dialTCS(t, e, c, inst)
	body := fmt.Sprintf(realHealthFrame, c, inst, c, "HEALTHY", "HEALTHY", arn)
	frame := "Authorization: AWS4-HMAC-SHA256 Credential=AKIDECSLOCALDEV/20261202/us-west-2/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=00\r\n" +
		"Host: 127.0.0.1\r\nX-Amz-Date: 20261202T160000Z\r\n\r\n" + body
	if err := a.ws.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		t.Fatal(err)
	}
	a.next(tcs.TypeAckPublishHealth, 5*time.Second)
	if d := e.describeTask(t, "c", arn); d.HealthStatus != types.HealthStatusHealthy {
		t.Errorf("task health %s after a header-prefixed frame", d.HealthStatus)
	}
}
