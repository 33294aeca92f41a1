package controlplane

import (
	"net/http"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
	"github.com/ecs-agent/ecs-agent/controlplane/state"
)

func (s *Server) discoverPollEndpoint(r *http.Request, body []byte) (any, error) {
	var in struct {
		ContainerInstance string `json:"containerInstance"`
		Cluster           string `json:"cluster"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	// The agent dials ws://<this listener>/ws for both ACS and TCS.
	endpoint := "http://" + r.Host + "/"
	return map[string]any{
		"endpoint":               endpoint,
		"telemetryEndpoint":      endpoint,
		"serviceConnectEndpoint": endpoint,
	}, nil
}

type networkBindingIn = state.NetworkBinding

type containerChangeIn struct {
	ContainerName   string             `json:"containerName"`
	RuntimeID       string             `json:"runtimeId"`
	ImageDigest     string             `json:"imageDigest"`
	Status          string             `json:"status"`
	ExitCode        *int64             `json:"exitCode"`
	Reason          string             `json:"reason"`
	NetworkBindings []networkBindingIn `json:"networkBindings"`
}

func (c containerChangeIn) report() state.ContainerReport {
	return state.ContainerReport{
		Name:            c.ContainerName,
		RuntimeID:       c.RuntimeID,
		ImageDigest:     c.ImageDigest,
		Status:          c.Status,
		ExitCode:        c.ExitCode,
		Reason:          c.Reason,
		NetworkBindings: c.NetworkBindings,
	}
}

func (s *Server) submitTaskStateChange(_ *http.Request, body []byte) (any, error) {
	var in struct {
		Cluster            string              `json:"cluster"`
		Task               string              `json:"task"`
		Status             string              `json:"status"`
		Reason             string              `json:"reason"`
		Containers         []containerChangeIn `json:"containers"`
		PullStartedAt      *float64            `json:"pullStartedAt"`
		PullStoppedAt      *float64            `json:"pullStoppedAt"`
		ExecutionStoppedAt *float64            `json:"executionStoppedAt"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Task == "" {
		return nil, awserr.InvalidParameter("task can not be blank.")
	}
	rep := state.TaskReport{
		Operation:          state.OpSubmitTaskStateChange,
		Cluster:            in.Cluster,
		Task:               in.Task,
		Status:             in.Status,
		Reason:             in.Reason,
		PullStartedAt:      timeOf(in.PullStartedAt),
		PullStoppedAt:      timeOf(in.PullStoppedAt),
		ExecutionStoppedAt: timeOf(in.ExecutionStoppedAt),
	}
	for _, c := range in.Containers {
		rep.Containers = append(rep.Containers, c.report())
	}
	if _, err := s.store.ReportTaskState(rep); err != nil {
		return nil, err
	}
	return map[string]any{"acknowledgment": "ACK"}, nil
}

func (s *Server) submitContainerStateChange(_ *http.Request, body []byte) (any, error) {
	var in struct {
		Cluster string `json:"cluster"`
		Task    string `json:"task"`
		containerChangeIn
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Task == "" || in.ContainerName == "" {
		return nil, awserr.Client("task and containerName are required.")
	}
	switch in.Status {
	case "", state.StatusRunning, state.StatusStopped:
	default:
		return nil, awserr.Client("Invalid container status %q: must be RUNNING or STOPPED.", in.Status)
	}
	_, err := s.store.ReportTaskState(state.TaskReport{
		Operation:  state.OpSubmitContainerStateChange,
		Cluster:    in.Cluster,
		Task:       in.Task,
		Containers: []state.ContainerReport{in.containerChangeIn.report()},
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"acknowledgment": "ACK"}, nil
}
