package taskserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/logger"
)

// Tasks is what the handlers read of the task records and the registration. Methods
// are called from HTTP server goroutines and must not block.
type Tasks interface {
	Registration() (bus.Registration, bool)
	TaskByEndpointID(id string) (bus.TaskRecord, bool)
	TaskByCredentialsID(id string) (bus.TaskRecord, bool)
}

// Credentials opens a role's credentials by their ID. It returns an error wrapping
// ErrNotFound when there are none.
type Credentials interface {
	Credentials(ctx context.Context, id string) (bus.RoleCredentials, error)
}

// Stats samples one container's Docker stats, in the engine's JSON.
type Stats interface {
	ContainerStats(ctx context.Context, taskArn, container string) (json.RawMessage, error)
}

// ErrNotFound classifies a credentials ID that names no credentials.
var ErrNotFound = errors.New("not found")

// Config is how the endpoints answer.
type Config struct {
	// Cluster is the configured cluster, for task records that carry none.
	Cluster string
	// RPS and Burst are ECS_TASK_METADATA_RPS_LIMIT: each task's steady and burst
	// requests per second. Zero takes the real agent's 40 and 60.
	RPS, Burst int
}

// statsTimeout bounds a stats answer: dockerexec's sample takes about a second, and
// the server's write timeout is five.
const statsTimeout = 4 * time.Second

// Handler serves the credentials and task metadata endpoints. log must not be given
// credential values; none of the handlers logs one.
func Handler(cfg Config, tasks Tasks, creds Credentials, stats Stats, log zerolog.Logger) http.Handler {
	h := &handler{cfg: cfg, tasks: tasks, creds: creds, stats: stats, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/credentials", h.credentialsV1)
	mux.HandleFunc("GET /v2/credentials/{id...}", h.credentialsV2)
	for _, v := range []string{"v3", "v4"} {
		v4 := v == "v4"
		mux.HandleFunc("GET /"+v+"/{id}", h.containerMetadata(v4))
		mux.HandleFunc("GET /"+v+"/{id}/task", h.taskMetadata(v4))
		mux.HandleFunc("GET /"+v+"/{id}/taskWithTags", h.taskMetadata(v4))
		mux.HandleFunc("GET /"+v+"/{id}/stats", h.containerStats(v4))
		mux.HandleFunc("GET /"+v+"/{id}/task/stats", h.taskStats(v4))
	}
	rps, burst := cfg.RPS, cfg.Burst
	if rps <= 0 || burst <= 0 {
		rps, burst = 40, 60
	}
	return newLimiter(rps, burst, h.taskOf).wrap(mux)
}

type handler struct {
	cfg   Config
	tasks Tasks
	creds Credentials
	stats Stats
	log   zerolog.Logger
}

// taskOf names the task a request is about, for throttling: "" when the path names
// none this agent knows.
func (h *handler) taskOf(r *http.Request) string {
	var t bus.TaskRecord
	var ok bool
	p := r.URL.Path
	switch {
	case p == "/v1/credentials":
		t, ok = h.tasks.TaskByCredentialsID(r.URL.Query().Get("id"))
	case strings.HasPrefix(p, "/v2/credentials/"):
		t, ok = h.tasks.TaskByCredentialsID(strings.TrimPrefix(p, "/v2/credentials/"))
	case strings.HasPrefix(p, "/v3/"), strings.HasPrefix(p, "/v4/"):
		id, _, _ := strings.Cut(p[len("/v4/"):], "/")
		t, ok = h.tasks.TaskByEndpointID(id)
	}
	if !ok {
		return ""
	}
	return t.Spec.Arn
}

// view finds the task of a metadata endpoint ID.
func (h *handler) view(id string) (view, bool) {
	t, ok := h.tasks.TaskByEndpointID(id)
	if !ok {
		return view{}, false
	}
	v := view{task: t, cluster: h.cfg.Cluster}
	if reg, ok := h.tasks.Registration(); ok {
		v.az = reg.AvailabilityZone
		if v.cluster == "" {
			v.cluster = reg.Cluster
		}
	}
	return v, true
}

// containerByEndpoint is the container of an endpoint ID, if Docker knows it.
func containerByEndpoint(t bus.TaskRecord, id string) (bus.ContainerRecord, bool) {
	for _, c := range t.Containers {
		if c.EndpointID == id {
			return c, c.DockerID != ""
		}
	}
	return bus.ContainerRecord{}, false
}

// The real agent's error strings (its v3 and v4 handlers), answered as JSON strings.
func noTask(id string) string {
	return "unable to get task arn from request: unable to get task Arn from v3 endpoint ID: " + id
}

func noContainer(id string) string {
	return "unable to get container ID from request: unable to get docker ID from v3 endpoint ID: " + id
}

// containerMetadata answers /v3/<id> and /v4/<id>: v4 says 404 for an unknown ID,
// v3 500, as the real agent does.
func (h *handler) containerMetadata(v4 bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		v, ok := h.view(id)
		var c bus.ContainerRecord
		if ok {
			c, ok = containerByEndpoint(v.task, id)
		}
		if !ok {
			if v4 {
				writeJSON(w, http.StatusNotFound, "V4 container metadata handler: "+noContainer(id))
			} else {
				writeJSON(w, http.StatusInternalServerError, "V3 container metadata handler: "+noContainer(id))
			}
			return
		}
		if v4 {
			writeJSON(w, http.StatusOK, ContainerResponseV4{ContainerResponse: v.container(c, true), RestartCount: v.restartCount(c)})
			return
		}
		writeJSON(w, http.StatusOK, v.container(c, false))
	}
}

// taskMetadata answers /task and /taskWithTags. No tags are known to the agent (the
// control plane's ListTagsForResource is not called), so taskWithTags answers as
// task does: TaskTags and ContainerInstanceTags are omitted, as the real agent
// omits them when it cannot read them.
func (h *handler) taskMetadata(v4 bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		v, ok := h.view(id)
		if !ok {
			if v4 {
				writeJSON(w, http.StatusNotFound, "V4 task metadata handler: "+noTask(id))
			} else {
				writeJSON(w, http.StatusInternalServerError, "V3 task metadata handler: "+noTask(id))
			}
			return
		}
		if v4 {
			writeJSON(w, http.StatusOK, v.taskV4())
			return
		}
		writeJSON(w, http.StatusOK, v.taskV3())
	}
}

// containerStats answers /stats with the container's Docker stats as the engine
// gives them. Unknown IDs are 404 in v4 and 400 in v3, as in the real agent.
func (h *handler) containerStats(v4 bool) http.HandlerFunc {
	prefix, lookupCode, fetchCode := "V3 container stats handler: ", http.StatusBadRequest, http.StatusBadRequest
	if v4 {
		prefix, lookupCode, fetchCode = "V4 container stats handler: ", http.StatusNotFound, http.StatusInternalServerError
	}
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		v, ok := h.view(id)
		if !ok {
			writeJSON(w, lookupCode, prefix+noTask(id))
			return
		}
		c, ok := containerByEndpoint(v.task, id)
		if !ok {
			writeJSON(w, lookupCode, prefix+noContainer(id))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), statsTimeout)
		defer cancel()
		raw, err := h.stats.ContainerStats(ctx, v.task.Spec.Arn, c.Name)
		if err != nil {
			h.log.Warn().Err(err).Str(logger.FieldTaskARN, v.task.Spec.Arn).Str(logger.FieldContainer, c.Name).
				Msg("container stats for the task metadata endpoint")
			writeJSON(w, fetchCode, "Unable to get container stats for: "+c.DockerID)
			return
		}
		writeRaw(w, http.StatusOK, raw)
	}
}

// taskStats answers /task/stats: every created container's stats by Docker ID,
// null for a container whose stats could not be read, sampled in parallel.
func (h *handler) taskStats(v4 bool) http.HandlerFunc {
	prefix, lookupCode := "V3 task stats handler: ", http.StatusBadRequest
	if v4 {
		prefix, lookupCode = "V4 task stats handler: ", http.StatusNotFound
	}
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		v, ok := h.view(id)
		if !ok {
			writeJSON(w, lookupCode, prefix+noTask(id))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), statsTimeout)
		defer cancel()
		out := map[string]json.RawMessage{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, c := range v.task.Containers {
			if c.DockerID == "" {
				continue
			}
			wg.Go(func() {
				raw, err := h.stats.ContainerStats(ctx, v.task.Spec.Arn, c.Name)
				if err != nil {
					h.log.Debug().Err(err).Str(logger.FieldTaskARN, v.task.Spec.Arn).Str(logger.FieldContainer, c.Name).
						Msg("container stats for the task metadata endpoint")
					raw = json.RawMessage("null")
				}
				mu.Lock()
				out[c.DockerID] = raw
				mu.Unlock()
			})
		}
		wg.Wait()
		writeJSON(w, http.StatusOK, out)
	}
}

// The credentials endpoint's error codes, as the real agent names them.
const (
	errNoIDInRequest            = "NoIdInRequest"
	errInvalidIDInRequest       = "InvalidIdInRequest"
	errCredentialsUninitialized = "CredentialsUninitialized"
)

func (h *handler) credentialsV1(w http.ResponseWriter, r *http.Request) {
	h.credentials(w, r, r.URL.Query().Get("id"), "CredentialsV1Request: ")
}

func (h *handler) credentialsV2(w http.ResponseWriter, r *http.Request) {
	h.credentials(w, r, r.PathValue("id"), "CredentialsV2Request: ")
}

// credentials serves a task role's credentials. An execution role's are the
// agent's own (for secrets and registry authentication) and are answered as not
// found, like an ID that names nothing. A bus that cannot be read is the real
// agent's "uninitialized" answer (503), which the SDKs retry.
func (h *handler) credentials(w http.ResponseWriter, r *http.Request, id, prefix string) {
	if id == "" {
		writeJSON(w, http.StatusBadRequest, ErrorMessage{Code: errNoIDInRequest,
			Message: prefix + "No Credential ID in the request", HTTPErrorCode: http.StatusBadRequest})
		return
	}
	rc, err := h.creds.Credentials(r.Context(), id)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		h.log.Warn().Err(err).Msg("reading task role credentials")
		writeJSON(w, http.StatusServiceUnavailable, ErrorMessage{Code: errCredentialsUninitialized,
			Message: prefix + "Credentials uninitialized for ID", HTTPErrorCode: http.StatusServiceUnavailable})
		return
	case rc.CredentialsID != id:
		// Bucket keys map several IDs to one key (bus.Token): only the exact ID is
		// the credentials'.
		err = ErrNotFound
	case rc.RoleType != bus.RoleTypeTask:
		h.log.Warn().Str(logger.FieldTaskARN, rc.TaskArn).Str("role_type", rc.RoleType).
			Msg("refused to serve credentials that are not a task role's")
		err = ErrNotFound
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorMessage{Code: errInvalidIDInRequest,
			Message: prefix + "Credentials not found", HTTPErrorCode: http.StatusBadRequest})
		return
	}
	h.log.Debug().Str(logger.FieldTaskARN, rc.TaskArn).Str("role_type", rc.RoleType).Msg("serving task role credentials")
	writeJSON(w, http.StatusOK, CredentialsResponse{
		RoleArn:         rc.RoleArn,
		AccessKeyID:     rc.AccessKeyID,
		SecretAccessKey: rc.SecretAccessKey,
		Token:           rc.SessionToken,
		Expiration:      rc.Expiration.UTC().Format(time.RFC3339),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, fmt.Sprintf("encoding the answer: %v", err), http.StatusInternalServerError)
		return
	}
	writeRaw(w, status, body)
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
