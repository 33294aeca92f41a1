package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/gorilla/websocket"

	"github.com/ecs-agent/ecs-agent/awsclient"
)

// fakeCP is an in-test control plane: the three ECS JSON 1.1 calls the session
// makes and an ACS websocket at /ws. Tests drive each accepted socket themselves.
type fakeCP struct {
	srv   *httptest.Server
	creds aws.Credentials
	// accepted delivers every upgraded socket.
	accepted chan *fakeSocket

	mu             sync.Mutex
	clusters       map[string]bool
	registers      []map[string]any // request bodies
	createClusters int
	dpeCalls       int
	throttle       int    // RegisterContainerInstance calls still to throttle
	dropAttr       string // attribute left out of the echo
	inactive       string // "", "framed", "bare" or "server": refuse upgrades so
	upgrades       []time.Time
	nextID         int
	endpoint       string // DiscoverPollEndpoint's answer instead of the server's URL
}

type fakeSocket struct {
	conn   *websocket.Conn
	query  map[string][]string
	sigErr error
}

func newFakeCP(t *testing.T, creds aws.Credentials, clusters ...string) *fakeCP {
	t.Helper()
	cp := &fakeCP{creds: creds, accepted: make(chan *fakeSocket, 16), clusters: map[string]bool{}}
	for _, c := range clusters {
		cp.clusters[c] = true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /", cp.api)
	mux.HandleFunc("GET /ws", cp.ws)
	cp.srv = httptest.NewServer(mux) // 127.0.0.1
	t.Cleanup(cp.srv.Close)
	return cp
}

func (cp *fakeCP) api(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		apiErr(w, 400, "SerializationException", err.Error())
		return
	}
	if err := verifySig(r, cp.creds, "us-west-2", body); err != nil {
		apiErr(w, 403, "InvalidSignatureException", err.Error())
		return
	}
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonEC2ContainerServiceV20141113.")
	cp.mu.Lock()
	defer cp.mu.Unlock()
	switch op {
	case "RegisterContainerInstance":
		cp.registers = append(cp.registers, in)
		cluster, _ := in["cluster"].(string)
		if !cp.clusters[cluster] {
			apiErr(w, 400, "ClientException", "Cluster not found.")
			return
		}
		if cp.throttle > 0 {
			cp.throttle--
			apiErr(w, 400, "ThrottlingException", "Rate exceeded")
			return
		}
		arn, _ := in["containerInstanceArn"].(string)
		if arn == "" {
			cp.nextID++
			arn = fmt.Sprintf("arn:aws:ecs:us-west-2:123456789012:container-instance/%s/id%d", cluster, cp.nextID)
		}
		var attrs []any
		if a, ok := in["attributes"].([]any); ok {
			for _, x := range a {
				if m, _ := x.(map[string]any); m["name"] != cp.dropAttr {
					attrs = append(attrs, x)
				}
			}
		}
		attrs = append(attrs, map[string]any{"name": attrAZ, "value": "us-west-2a"})
		writeJSON(w, map[string]any{"containerInstance": map[string]any{
			"containerInstanceArn": arn, "attributes": attrs, "status": "ACTIVE",
		}})
	case "CreateCluster":
		cp.createClusters++
		name, _ := in["clusterName"].(string)
		cp.clusters[name] = true
		writeJSON(w, map[string]any{"cluster": map[string]any{"clusterName": name, "status": "ACTIVE"}})
	case "DiscoverPollEndpoint":
		cp.dpeCalls++
		ep := cp.srv.URL + "/"
		if cp.endpoint != "" {
			ep = cp.endpoint
		}
		writeJSON(w, map[string]any{"endpoint": ep, "telemetryEndpoint": ep})
	default:
		apiErr(w, 400, "UnknownOperationException", op)
	}
}

func (cp *fakeCP) ws(w http.ResponseWriter, r *http.Request) {
	cp.mu.Lock()
	cp.upgrades = append(cp.upgrades, time.Now())
	inactive := cp.inactive
	cp.mu.Unlock()
	switch inactive {
	case "framed":
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"type":"InactiveInstanceException","message":{"message":"instance deregistered"}}`))
		return
	case "bare":
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"InactiveInstanceException":"instance deregistered"}`))
		return
	case "server":
		w.WriteHeader(500)
		_, _ = w.Write([]byte(`{"type":"ServerException","message":{"message":"try later"}}`))
		return
	}
	sigErr := verifySig(r, cp.creds, "us-west-2", nil)
	up := websocket.Upgrader{}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	cp.accepted <- &fakeSocket{conn: conn, query: r.URL.Query(), sigErr: sigErr}
}

func (cp *fakeCP) set(f func(cp *fakeCP)) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	f(cp)
}

// next waits for the next accepted socket.
func (cp *fakeCP) next(t *testing.T, within time.Duration) *fakeSocket {
	t.Helper()
	select {
	case s := <-cp.accepted:
		t.Cleanup(func() { s.conn.Close() })
		return s
	case <-time.After(within):
		t.Fatalf("no ACS connection within %s", within)
		return nil
	}
}

// verifySig checks a SigV4 Authorization header by signing the same request again
// with the same credentials and time and comparing the result.
func verifySig(r *http.Request, creds aws.Credentials, region string, body []byte) error {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return fmt.Errorf("no Authorization header")
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("X-Amz-Date: %w", err)
	}
	signed := signedHeaders(auth)
	req, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	req.ContentLength = int64(len(body))
	for _, h := range signed {
		if h != "host" && h != "x-amz-date" && h != "x-amz-security-token" && h != "content-length" {
			req.Header.Set(h, r.Header.Get(h))
		}
	}
	hash := awsclient.EmptySHA256
	if body != nil {
		hash = sha256Hex(body)
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hash, "ecs", region, when); err != nil {
		return err
	}
	if got := req.Header.Get("Authorization"); got != auth {
		return fmt.Errorf("signature mismatch:\n got  %s\n want %s", auth, got)
	}
	return nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func signedHeaders(auth string) []string {
	_, rest, _ := strings.Cut(auth, "SignedHeaders=")
	list, _, _ := strings.Cut(rest, ",")
	return strings.Split(list, ";")
}

func apiErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(v)
}

// readFrame reads one envelope from a fake socket.
func (s *fakeSocket) readFrame(t *testing.T, within time.Duration) (string, json.RawMessage, error) {
	t.Helper()
	_ = s.conn.SetReadDeadline(time.Now().Add(within))
	_, data, err := s.conn.ReadMessage()
	if err != nil {
		return "", nil, err
	}
	var env struct {
		Type    string          `json:"type"`
		Message json.RawMessage `json:"message"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatalf("agent sent an undecodable frame %q: %v", data, err)
	}
	return env.Type, env.Message, nil
}

func (s *fakeSocket) send(t *testing.T, typ string, msg any) {
	t.Helper()
	raw, _ := json.Marshal(msg)
	frame, _ := json.Marshal(map[string]any{"type": typ, "message": json.RawMessage(raw)})
	if err := s.conn.WriteMessage(websocket.TextMessage, frame); err != nil {
		t.Fatalf("writing %s: %v", typ, err)
	}
}
