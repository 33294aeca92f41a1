package introspection

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/ecs-agent/ecs-agent/bus"
	busmetrics "github.com/ecs-agent/ecs-agent/bus/metrics"
)

//go:embed license.txt
var licenseText string

// shortIDLength is Docker's short container ID: a dockerid this long or shorter is
// matched as a prefix.
const shortIDLength = 12

// Source is what the handlers read. Methods are called from HTTP server goroutines
// and must not block.
type Source interface {
	Registration() (bus.Registration, bool)
	Tasks() []bus.TaskRecord
}

// Handler serves the introspection API. cluster is the configured cluster, reported
// until the instance is registered; version is the agent's version string; with
// profiles, the Go runtime's profiles are served and listed too
// (ECS_ENABLE_RUNTIME_STATS).
func Handler(cluster, version string, src Source, profiles bool) http.Handler {
	h := &handler{cluster: cluster, version: version, src: src,
		commands: []string{"/v1/metadata", "/v1/tasks", "/license"}}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/metadata", h.metadata)
	mux.HandleFunc("/v1/tasks", h.tasks)
	mux.HandleFunc("/license", h.license)
	mux.HandleFunc("/", h.listCommands)
	if profiles {
		busmetrics.Profiles(mux)
		h.commands = append(h.commands, busmetrics.ProfilePaths...)
	}
	return mux
}

type handler struct {
	cluster, version string
	src              Source
	commands         []string
}

func (h *handler) listCommands(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, CommandsResponse{AvailableCommands: h.commands})
}

func (h *handler) metadata(w http.ResponseWriter, _ *http.Request) {
	resp := MetadataResponse{Cluster: h.cluster, Version: h.version}
	if reg, ok := h.src.Registration(); ok {
		if reg.Cluster != "" {
			resp.Cluster = reg.Cluster
		}
		if reg.ContainerInstanceArn != "" {
			arn := reg.ContainerInstanceArn
			resp.ContainerInstanceArn = &arn
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *handler) tasks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	arn, byArn := q["taskarn"]
	id, byID := q["dockerid"]
	switch {
	case byArn && byID:
		writeJSON(w, http.StatusBadRequest, TaskResponse{})
	case byArn:
		for _, t := range h.src.Tasks() {
			if t.Spec.Arn == arn[0] {
				writeJSON(w, http.StatusOK, NewTaskResponse(t))
				return
			}
		}
		writeJSON(w, http.StatusNotFound, TaskResponse{})
	case byID:
		t, status := taskByDockerID(h.src.Tasks(), id[0])
		if status != http.StatusOK {
			writeJSON(w, status, TaskResponse{})
			return
		}
		writeJSON(w, http.StatusOK, NewTaskResponse(t))
	default:
		tasks := h.src.Tasks()
		resp := TasksResponse{Tasks: make([]TaskResponse, 0, len(tasks))}
		for _, t := range tasks {
			resp.Tasks = append(resp.Tasks, NewTaskResponse(t))
		}
		writeJSON(w, http.StatusOK, resp)
	}
}

// taskByDockerID finds the task owning a container: an exact match for a full ID,
// a prefix match for a short one, which must be unambiguous.
func taskByDockerID(tasks []bus.TaskRecord, id string) (bus.TaskRecord, int) {
	var found []bus.TaskRecord
	for _, t := range tasks {
		for _, c := range t.Containers {
			if c.DockerID == "" {
				continue
			}
			if c.DockerID == id || len(id) <= shortIDLength && id != "" && strings.HasPrefix(c.DockerID, id) {
				found = append(found, t)
				break
			}
		}
	}
	switch len(found) {
	case 0:
		return bus.TaskRecord{}, http.StatusNotFound
	case 1:
		return found[0], http.StatusOK
	}
	return bus.TaskRecord{}, http.StatusBadRequest
}

func (h *handler) license(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(licenseText))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
