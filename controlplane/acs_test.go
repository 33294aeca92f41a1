package controlplane_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/gorilla/websocket"

	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/controlplane"
)

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// agentConn is a websocket client standing in for the agent's ACS session.
type agentConn struct {
	t      *testing.T
	ws     *websocket.Conn
	frames chan acs.Envelope
	err    chan error // the read error that ended the connection
}

// newAgentConn starts the reader: a gorilla connection cannot be read again after a read
// deadline passes, so frames go through a channel and waits are selects.
func newAgentConn(t *testing.T, ws *websocket.Conn) *agentConn {
	a := &agentConn{t: t, ws: ws, frames: make(chan acs.Envelope, 64), err: make(chan error, 1)}
	go func() {
		for {
			_, frame, err := ws.ReadMessage()
			if err != nil {
				a.err <- err
				close(a.frames)
				return
			}
			env, err := acs.Decode(frame)
			if err != nil {
				continue
			}
			a.frames <- env
		}
	}()
	return a
}

// acsURL builds the URL the agent dials (PROTOCOL.md §2.1).
func acsURL(base, cluster, instance string) string {
	q := url.Values{}
	q.Set("agentHash", "a8b3e7d3")
	q.Set("agentVersion", "1.105.1")
	q.Set("clusterArn", cluster)
	q.Set("containerInstanceArn", instance)
	q.Set("dockerVersion", "DockerVersion: 25.0.3")
	q.Set("protocolVersion", "2")
	q.Set("sendCredentials", "true")
	q.Set("seqNum", "1")
	return "ws" + strings.TrimPrefix(base, "http") + "/ws?" + q.Encode()
}

// signedHeader signs a GET of u the way the agent signs the upgrade.
func signedHeader(t *testing.T, u, key, secret string) http.Header {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, strings.Replace(u, "ws://", "http://", 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	creds := aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, emptySHA256, "ecs", "us-west-2", time.Now()); err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Authorization", req.Header.Get("Authorization"))
	h.Set("X-Amz-Date", req.Header.Get("X-Amz-Date"))
	return h
}

// dialACS connects as the agent of instance; it fails the test if the upgrade is refused.
func dialACS(t *testing.T, e *env, cluster, instance string) *agentConn {
	t.Helper()
	ws, resp, err := tryDialACS(t, e, cluster, instance)
	if err != nil {
		body := ""
		if resp != nil {
			raw, _ := io.ReadAll(resp.Body)
			body = string(raw)
		}
		t.Fatalf("dial ACS: %v %s", err, body)
	}
	a := newAgentConn(t, ws)
	t.Cleanup(func() { ws.Close() })
	return a
}

func tryDialACS(t *testing.T, e *env, cluster, instance string) (*websocket.Conn, *http.Response, error) {
	u := acsURL(e.ts.URL, cluster, instance)
	return websocket.DefaultDialer.Dial(u, signedHeader(t, u, controlplane.DevAccessKey, controlplane.DevSecretKey))
}

// next waits for a frame of type typ, skipping others.
func (a *agentConn) next(typ string, within time.Duration) json.RawMessage {
	a.t.Helper()
	timeout := time.After(within)
	for {
		select {
		case env, ok := <-a.frames:
			if !ok {
				a.t.Fatalf("waiting for %s: connection ended", typ)
			}
			if env.Type == typ {
				return env.Message
			}
		case <-timeout:
			a.t.Fatalf("no %s within %s", typ, within)
		}
	}
}

func (a *agentConn) payload(within time.Duration) acs.PayloadMessage {
	a.t.Helper()
	var p acs.PayloadMessage
	if err := json.Unmarshal(a.next(acs.TypePayloadMessage, within), &p); err != nil {
		a.t.Fatal(err)
	}
	return p
}

func (a *agentConn) send(typ string, msg any) {
	a.t.Helper()
	frame, err := acs.Encode(typ, msg)
	if err != nil {
		a.t.Fatal(err)
	}
	if err := a.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
		a.t.Fatal(err)
	}
}

func (a *agentConn) ack(p acs.PayloadMessage) {
	a.send(acs.TypeAckRequest, acs.AckRequest{Cluster: p.ClusterArn, ContainerInstance: p.ContainerInstanceArn, MessageID: p.MessageID})
}

// quiet asserts that no PayloadMessage arrives within d.
func (a *agentConn) quiet(d time.Duration) {
	a.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case env, ok := <-a.frames:
			if !ok {
				return
			}
			if env.Type == acs.TypePayloadMessage {
				a.t.Fatalf("unexpected payload: %s", env.Message)
			}
		case <-timeout:
			return
		}
	}
}

// closed waits for the connection to end and returns the read error.
func (a *agentConn) closed(within time.Duration) error {
	a.t.Helper()
	select {
	case err := <-a.err:
		return err
	case <-time.After(within):
		a.t.Fatalf("connection still open after %s", within)
		return nil
	}
}

func TestACSPayloadAckAndResend(t *testing.T) {
	e := newEnv(t, controlplane.Config{PayloadRetryInterval: 100 * time.Millisecond})
	clusterArn := e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 2000)
	a := dialACS(t, e, "c", inst)
	waitConnected(t, e, "c", inst, true)

	task := e.runTask(t, "c", e.registerTaskDef(t, simpleDef("exit", 10, 64, 0)))
	first := a.payload(5 * time.Second)
	if first.ClusterArn != clusterArn || first.ContainerInstanceArn != inst || first.MessageID == "" || first.SeqNum < 1 || first.GeneratedAt == 0 {
		t.Fatalf("payload header = %+v", first)
	}
	if len(first.Tasks) != 1 || first.Tasks[0].Arn != aws.ToString(task.TaskArn) || first.Tasks[0].DesiredStatus != "RUNNING" {
		t.Fatalf("payload tasks = %+v", first.Tasks)
	}
	// Not acked: the same message comes again.
	again := a.payload(5 * time.Second)
	if again.MessageID != first.MessageID || again.SeqNum != first.SeqNum {
		t.Fatalf("re-sent payload %s/%d, first %s/%d", again.MessageID, again.SeqNum, first.MessageID, first.SeqNum)
	}
	a.ack(again)
	a.quiet(400 * time.Millisecond)

	// A stop payload carries the task with desired STOPPED and a higher seqNum.
	if _, err := e.ecs.StopTask(ctx(t), &ecs.StopTaskInput{Cluster: aws.String("c"), Task: task.TaskArn, Reason: aws.String("done")}); err != nil {
		t.Fatal(err)
	}
	stop := a.payload(5 * time.Second)
	if len(stop.Tasks) != 1 || stop.Tasks[0].DesiredStatus != "STOPPED" || stop.Tasks[0].Arn != aws.ToString(task.TaskArn) || stop.SeqNum <= first.SeqNum || stop.MessageID == first.MessageID {
		t.Fatalf("stop payload = %+v", stop)
	}
	a.ack(stop)
	a.quiet(400 * time.Millisecond)
	got := e.describeTask(t, "c", aws.ToString(task.TaskArn))
	if aws.ToString(got.DesiredStatus) != "STOPPED" || aws.ToString(got.LastStatus) == "STOPPED" {
		t.Fatalf("task after stop payload: %s/%s", aws.ToString(got.LastStatus), aws.ToString(got.DesiredStatus))
	}
}

func TestACSHeartbeat(t *testing.T) {
	e := newEnv(t, controlplane.Config{HeartbeatInterval: 50 * time.Millisecond})
	e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 2000)
	a := dialACS(t, e, "c", inst)
	var hb acs.HeartbeatMessage
	if err := json.Unmarshal(a.next(acs.TypeHeartbeatMessage, 2*time.Second), &hb); err != nil || !hb.Healthy || hb.MessageID == "" {
		t.Fatalf("heartbeat = %+v %v", hb, err)
	}
	a.send(acs.TypeHeartbeatAckRequest, acs.HeartbeatAckRequest{MessageID: hb.MessageID})
	a.next(acs.TypeHeartbeatMessage, 2*time.Second)
}

func TestACSOfflinePlacementDeliveredOnConnect(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 2000)
	def := e.registerTaskDef(t, simpleDef("exit", 10, 64, 0))
	t1 := e.runTask(t, "c", def)
	t2 := e.runTask(t, "c", def)
	a := dialACS(t, e, "c", inst)
	p := a.payload(5 * time.Second)
	if len(p.Tasks) != 2 || p.Tasks[0].Arn != aws.ToString(t1.TaskArn) || p.Tasks[1].Arn != aws.ToString(t2.TaskArn) {
		t.Fatalf("payload on connect = %+v", p.Tasks)
	}
	a.ack(p)
	a.quiet(300 * time.Millisecond)

	// Acked tasks are not delivered again on a new connection.
	a.ws.Close()
	b := dialACS(t, e, "c", inst)
	b.quiet(500 * time.Millisecond)
}

func TestACSInactiveInstance(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 2000)
	a := dialACS(t, e, "c", inst)
	waitConnected(t, e, "c", inst, true)

	if _, err := e.ecs.DeregisterContainerInstance(ctx(t), &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("c"), ContainerInstance: aws.String(inst)}); err != nil {
		t.Fatal(err)
	}
	// The open socket is closed with a reason naming the exception.
	err := a.closed(5 * time.Second)
	var ce *websocket.CloseError
	if !asCloseError(err, &ce) || ce.Code == websocket.CloseNormalClosure || !strings.Contains(ce.Text, "InactiveInstanceException") {
		t.Fatalf("socket of a deregistered instance: %v", err)
	}
	// And the next upgrade is refused with the agent-readable body.
	_, resp, err := tryDialACS(t, e, "c", inst)
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("upgrade of an inactive instance: %v %v", err, resp)
	}
	var body struct {
		Type    string `json:"type"`
		Message struct {
			Message string `json:"message"`
		} `json:"message"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Type != "InactiveInstanceException" || body.Message.Message == "" {
		t.Fatalf("refusal body = %+v %v", body, err)
	}
}

func asCloseError(err error, ce **websocket.CloseError) bool {
	c, ok := err.(*websocket.CloseError)
	if ok {
		*ce = c
	}
	return ok
}

func TestACSUpgradeRequiresSignature(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 2000)
	u := acsURL(e.ts.URL, "c", inst)
	_, resp, err := websocket.DefaultDialer.Dial(u, signedHeader(t, u, controlplane.DevAccessKey, "wrong-secret"))
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("badly signed upgrade: %v %v", err, resp)
	}
	_, resp, err = websocket.DefaultDialer.Dial(u, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unsigned upgrade: %v %v", err, resp)
	}
}

// waitConnected polls DescribeContainerInstances until agentConnected is want.
func waitConnected(t *testing.T, e *env, cluster, inst string, want bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := e.ecs.DescribeContainerInstances(ctx(t), &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster), ContainerInstances: []string{inst}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.ContainerInstances) == 1 && out.ContainerInstances[0].AgentConnected == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("agentConnected never became %v", want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The versions in the agent's ACS URL become the instance's versionInfo.
func TestACSRecordsAgentVersions(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 2000)
	dialACS(t, e, "c", inst)
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := e.ecs.DescribeContainerInstances(ctx(t), &ecs.DescribeContainerInstancesInput{
			Cluster: aws.String("c"), ContainerInstances: []string{inst}})
		if err != nil {
			t.Fatal(err)
		}
		v := out.ContainerInstances[0].VersionInfo
		if v != nil && aws.ToString(v.AgentVersion) == "1.105.1" && aws.ToString(v.AgentHash) == "a8b3e7d3" &&
			aws.ToString(v.DockerVersion) == "DockerVersion: 25.0.3" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("versionInfo = %+v", v)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
