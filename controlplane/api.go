package controlplane

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
	"github.com/ecs-agent/ecs-agent/controlplane/fault"
)

// targetPrefix precedes the operation name in X-Amz-Target.
const targetPrefix = "AmazonEC2ContainerServiceV20141113."

const maxBody = 10 << 20

// operation handles one API operation: it decodes body and returns the output shape.
type operation func(s *Server, r *http.Request, body []byte) (any, error)

// operations is the dispatch table; it is built per call site, never mutated.
func operations() map[string]operation {
	return map[string]operation{
		"CreateCluster":                 (*Server).createCluster,
		"DescribeClusters":              (*Server).describeClusters,
		"ListClusters":                  (*Server).listClusters,
		"DeleteCluster":                 (*Server).deleteCluster,
		"RegisterTaskDefinition":        (*Server).registerTaskDefinition,
		"DescribeTaskDefinition":        (*Server).describeTaskDefinition,
		"ListTaskDefinitions":           (*Server).listTaskDefinitions,
		"ListTaskDefinitionFamilies":    (*Server).listTaskDefinitionFamilies,
		"DeregisterTaskDefinition":      (*Server).deregisterTaskDefinition,
		"RunTask":                       (*Server).runTask,
		"StartTask":                     (*Server).startTask,
		"StopTask":                      (*Server).stopTask,
		"DescribeTasks":                 (*Server).describeTasks,
		"ListTasks":                     (*Server).listTasks,
		"RegisterContainerInstance":     (*Server).registerContainerInstance,
		"DeregisterContainerInstance":   (*Server).deregisterContainerInstance,
		"DescribeContainerInstances":    (*Server).describeContainerInstances,
		"ListContainerInstances":        (*Server).listContainerInstances,
		"UpdateContainerInstancesState": (*Server).updateContainerInstancesState,
		"DiscoverPollEndpoint":          (*Server).discoverPollEndpoint,
		"SubmitTaskStateChange":         (*Server).submitTaskStateChange,
		"SubmitContainerStateChange":    (*Server).submitContainerStateChange,
		"ListTagsForResource":           (*Server).listTagsForResource,
		"TagResource":                   (*Server).tagResource,
		"UntagResource":                 (*Server).untagResource,
	}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		s.writeError(w, "", awserr.Client("reading request: %v", err))
		return
	}
	if len(body) > maxBody {
		s.writeError(w, "", awserr.New(awserr.CodeSerialization, http.StatusRequestEntityTooLarge, "Request too large."))
		return
	}
	opName, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	op := operations()[opName]
	if !ok || op == nil {
		s.writeError(w, opName, awserr.New(awserr.CodeUnknownOperation, http.StatusBadRequest, "Unknown operation %q.", r.Header.Get("X-Amz-Target")))
		return
	}
	log := s.log.With().Str("operation", opName).Logger()
	if !s.cfg.AllowUnsigned {
		if err := s.verifier.Verify(r, body); err != nil {
			log.Warn().Err(err).Msg("refused request signature")
			s.writeError(w, opName, err)
			return
		}
	}
	delay, injected := s.faults.Check(opName)
	if delay.Phase == fault.PhaseBefore && !hold(r, delay.Duration) {
		log.Debug().Msg("client gone during an injected delay: call dropped unprocessed")
		return
	}
	var out any
	err = injected
	if injected != nil {
		log.Debug().Err(injected).Msg("injected fault")
	} else {
		if len(body) == 0 {
			body = []byte("{}")
		}
		out, err = op(s, r, body)
	}
	if delay.Phase == fault.PhaseAfter && !hold(r, delay.Duration) {
		log.Debug().Err(err).Msg("client gone during an injected delay after the call was processed")
		return
	}
	if err != nil {
		log.Debug().Err(err).Msg("request failed")
		s.writeError(w, opName, err)
		return
	}
	log.Debug().Msg("request served")
	raw, err := json.Marshal(out)
	if err != nil {
		s.writeError(w, opName, awserr.Server("encoding response: %v", err))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", newRequestID())
	_, _ = w.Write(raw)
}

// hold waits d (no time for 0) and reports whether the client is still there.
func hold(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// writeError answers with the AWS JSON error shape.
func (s *Server) writeError(w http.ResponseWriter, op string, err error) {
	e := awserr.As(err)
	if e.Status >= 500 {
		s.log.Error().Str("operation", op).Err(err).Msg("server error")
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	w.Header().Set("X-Amzn-RequestId", newRequestID())
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	w.WriteHeader(status)
	raw, _ := json.Marshal(map[string]string{"__type": e.Code, "message": e.Message})
	_, _ = w.Write(raw)
}

// decode reads the request into v; a body of the wrong shape is a SerializationException.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return awserr.New(awserr.CodeSerialization, http.StatusBadRequest, "Unexpected value for field %q.", ute.Field)
		}
		return awserr.New(awserr.CodeSerialization, http.StatusBadRequest, "Malformed request body: %v", err)
	}
	return nil
}

func newRequestID() string {
	id := newHex()
	return id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:]
}
