package reporter

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// submitBody is a SubmitTaskStateChange request as the control plane decodes it.
type submitBody struct {
	Cluster            string          `json:"cluster"`
	Task               string          `json:"task"`
	Status             string          `json:"status"`
	Reason             *string         `json:"reason"`
	Containers         []containerBody `json:"containers"`
	PullStartedAt      *json.Number    `json:"pullStartedAt"`
	PullStoppedAt      *json.Number    `json:"pullStoppedAt"`
	ExecutionStoppedAt *json.Number    `json:"executionStoppedAt"`
	Raw                map[string]any  `json:"-"`
	Header             http.Header     `json:"-"`
}

type containerBody struct {
	ContainerName   string        `json:"containerName"`
	RuntimeID       string        `json:"runtimeId"`
	Status          string        `json:"status"`
	ExitCode        *int          `json:"exitCode"`
	Reason          *string       `json:"reason"`
	ImageDigest     string        `json:"imageDigest"`
	NetworkBindings []bindingBody `json:"networkBindings"`
}

type bindingBody struct {
	BindIP        string `json:"bindIP"`
	ContainerPort int    `json:"containerPort"`
	HostPort      int    `json:"hostPort"`
	Protocol      string `json:"protocol"`
}

// fault is an AWS error answer: HTTP status and error code.
type fault struct {
	status int
	code   string
}

// fakeECS is the ECS JSON 1.1 endpoint, enough of it for SubmitTaskStateChange. The
// answer to each request is chosen by decide (nil accepts everything); accepted
// holds the requests answered 200, in order.
type fakeECS struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	decide func(n int, b submitBody) *fault
	calls  int
	all    []submitBody
	accept []submitBody
}

func newFakeECS(t *testing.T) *fakeECS {
	f := &fakeECS{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve)) // httptest binds 127.0.0.1
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeECS) setDecide(d func(n int, b submitBody) *fault) {
	f.mu.Lock()
	f.decide = d
	f.mu.Unlock()
}

func (f *fakeECS) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if r.Method != http.MethodPost || r.URL.Path != "/" ||
		r.Header.Get("X-Amz-Target") != "AmazonEC2ContainerServiceV20141113.SubmitTaskStateChange" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"UnknownOperationException","message":"unexpected call"}`)
		return
	}
	data, _ := io.ReadAll(r.Body)
	var b submitBody
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&b); err != nil {
		f.t.Errorf("fake ECS: undecodable body %q: %v", data, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	_ = json.Unmarshal(data, &b.Raw)
	b.Header = r.Header.Clone()

	f.mu.Lock()
	f.calls++
	n := f.calls
	f.all = append(f.all, b)
	var ft *fault
	if f.decide != nil {
		ft = f.decide(n, b)
	}
	if ft == nil {
		f.accept = append(f.accept, b)
	}
	f.mu.Unlock()

	if ft != nil {
		w.Header().Set("X-Amzn-ErrorType", ft.code)
		w.WriteHeader(ft.status)
		_, _ = io.WriteString(w, `{"__type":"`+ft.code+`","message":"injected by the test"}`)
		return
	}
	_, _ = io.WriteString(w, `{"acknowledgment":"ok"}`)
}

func (f *fakeECS) accepted() []submitBody {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]submitBody(nil), f.accept...)
}

func (f *fakeECS) requests() []submitBody {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]submitBody(nil), f.all...)
}
