package controlplane

import (
	"encoding/json"
	"net/http"
	"sort"
	"time"

	"github.com/ecs-agent/ecs-agent/controlplane/creds"
	"github.com/ecs-agent/ecs-agent/controlplane/fault"
)

// Faults returns the fault set, for tests that run the server in-process.
func (s *Server) Faults() *fault.Set { return s.faults }

// FailNext makes the next count calls of op ("*" for any) fail with code and status.
func (s *Server) FailNext(op string, count int, code string, status int) {
	s.faults.Fail(fault.Failure{Operation: op, Count: count, Code: code, Status: status})
}

// DelayOperation holds every call of op ("*" for any) for d; 0 clears it. With
// fault.PhaseBefore ("" too) the call waits before it is processed and is dropped if the
// client goes away; with fault.PhaseAfter it is processed first and its answer waits, so
// a client that gives up has had its change applied. Another phase gives fault.ErrPhase.
func (s *Server) DelayOperation(op string, d time.Duration, phase fault.Phase) error {
	return s.faults.DelayAt(op, d, phase)
}

// WithholdAcks makes ACS sessions ignore AckRequests while on.
func (s *Server) WithholdAcks(on bool) { s.faults.WithholdAcks(on) }

// serveAdmin is the fault-injection API; see README.md.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	bad := func(err error) { reply(http.StatusBadRequest, map[string]string{"error": err.Error()}) }
	if r.Method == http.MethodGet {
		switch r.URL.Path {
		case "/admin/faults":
			reply(http.StatusOK, s.faults.Snapshot())
		case "/admin/acs/connections":
			conns := s.ConnectedInstances()
			sort.Strings(conns)
			reply(http.StatusOK, map[string]any{"containerInstanceArns": conns})
		case "/admin/reports":
			s.serveReports(r, reply)
		case "/admin/credentials":
			s.serveCredentials(r, reply)
		case "/admin/metrics":
			s.serveMetrics(r, reply)
		default:
			http.NotFound(w, r)
		}
		return
	}
	if r.Method != http.MethodPost {
		reply(http.StatusMethodNotAllowed, map[string]string{"error": "use GET or POST"})
		return
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	switch r.URL.Path {
	case "/admin/faults/fail":
		var f fault.Failure
		if err := dec.Decode(&f); err != nil {
			bad(err)
			return
		}
		if f.Operation == "" || (f.Count > 0 && f.Code == "") {
			reply(http.StatusBadRequest, map[string]string{"error": "operation and code are required"})
			return
		}
		s.faults.Fail(f)
	case "/admin/faults/delay":
		var in struct {
			Operation   string `json:"operation"`
			DelayMillis int64  `json:"delayMillis"`
			Phase       string `json:"phase"`
		}
		if err := dec.Decode(&in); err != nil {
			bad(err)
			return
		}
		if in.Operation == "" {
			reply(http.StatusBadRequest, map[string]string{"error": "operation is required"})
			return
		}
		if err := s.faults.DelayAt(in.Operation, time.Duration(in.DelayMillis)*time.Millisecond, fault.Phase(in.Phase)); err != nil {
			bad(err)
			return
		}
	case "/admin/faults/withhold-acks":
		var in struct {
			Withhold bool `json:"withhold"`
		}
		if err := dec.Decode(&in); err != nil {
			bad(err)
			return
		}
		s.faults.WithholdAcks(in.Withhold)
	case "/admin/faults/reset":
		s.faults.Reset()
	case "/admin/acs/drop":
		var in struct {
			ContainerInstanceArn string `json:"containerInstanceArn"`
		}
		if err := dec.Decode(&in); err != nil {
			bad(err)
			return
		}
		reply(http.StatusOK, map[string]bool{"dropped": s.DropACS(in.ContainerInstanceArn)})
		return
	default:
		http.NotFound(w, r)
		return
	}
	reply(http.StatusOK, s.faults.Snapshot())
}

// serveReports answers GET /admin/reports: the state changes received for one task
// (?task=<ARN>) or, without the parameter, for every task that has any.
func (s *Server) serveReports(r *http.Request, reply func(int, any)) {
	arn := r.URL.Query().Get("task")
	if arn == "" {
		reply(http.StatusOK, map[string]any{"reports": s.store.AllReceived()})
		return
	}
	list, ok := s.store.ReceivedFor(arn)
	if !ok {
		reply(http.StatusNotFound, map[string]string{"error": "no task " + arn})
		return
	}
	reply(http.StatusOK, map[string]any{"taskArn": arn, "reports": list})
}

// CredentialsRecord is one role of a task in GET /admin/credentials: its credentials ID
// and every issue of its credentials, with the agent's acks. It holds no key.
type CredentialsRecord struct {
	RoleType      string        `json:"roleType"`
	RoleArn       string        `json:"roleArn"`
	CredentialsID string        `json:"credentialsId"`
	Issues        []creds.Issue `json:"issues"`
}

// Credentials returns the credentials record of each role of a task, task role first,
// and whether the task exists. A role whose credentials were never issued (since the
// control plane started) has no issues.
func (s *Server) Credentials(taskArn string) ([]CredentialsRecord, bool) {
	roles, ok := s.store.TaskRoles(taskArn)
	if !ok {
		return nil, false
	}
	issued := map[string][]creds.Issue{}
	for _, r := range s.book.ForTask(taskArn) {
		issued[r.CredentialsID] = r.Issues
	}
	out := make([]CredentialsRecord, 0, len(roles))
	for _, r := range roles {
		is := issued[r.CredentialsID]
		if is == nil {
			is = []creds.Issue{}
		}
		out = append(out, CredentialsRecord{RoleType: r.Type, RoleArn: r.Arn, CredentialsID: r.CredentialsID, Issues: is})
	}
	return out, true
}

// serveCredentials answers GET /admin/credentials?task=<ARN>.
func (s *Server) serveCredentials(r *http.Request, reply func(int, any)) {
	arn := r.URL.Query().Get("task")
	if arn == "" {
		reply(http.StatusBadRequest, map[string]string{"error": "task is required"})
		return
	}
	roles, ok := s.Credentials(arn)
	if !ok {
		reply(http.StatusNotFound, map[string]string{"error": "no task " + arn})
		return
	}
	reply(http.StatusOK, map[string]any{"taskArn": arn, "roles": roles})
}

// serveMetrics answers GET /admin/metrics?task=<arn> with the task's latest metrics
// publication, and GET /admin/metrics?instance=<arn> with an instance's latest
// status publication.
func (s *Server) serveMetrics(r *http.Request, reply func(int, any)) {
	q := r.URL.Query()
	if arn := q.Get("instance"); arn != "" {
		st, ok := s.InstanceStatusOf(arn)
		if !ok {
			reply(http.StatusNotFound, map[string]string{"error": "no instance status from " + arn})
			return
		}
		reply(http.StatusOK, st)
		return
	}
	arn := q.Get("task")
	if arn == "" {
		reply(http.StatusBadRequest, map[string]string{"error": "task or instance is required"})
		return
	}
	m, ok := s.Metrics(arn)
	if !ok {
		reply(http.StatusNotFound, map[string]string{"error": "no metrics for " + arn})
		return
	}
	reply(http.StatusOK, m)
}
