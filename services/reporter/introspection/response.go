package introspection

import (
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
)

// The JSON shapes of the real agent's v1 API. Field names and omitempty rules are
// part of the contract: tools parse them.

// CommandsResponse answers / and unknown paths.
type CommandsResponse struct {
	AvailableCommands []string `json:"AvailableCommands"`
}

// MetadataResponse answers /v1/metadata. ContainerInstanceArn is null until the
// instance is registered.
type MetadataResponse struct {
	Cluster              string  `json:"Cluster"`
	ContainerInstanceArn *string `json:"ContainerInstanceArn"`
	Version              string  `json:"Version"`
}

// TasksResponse answers /v1/tasks.
type TasksResponse struct {
	Tasks []TaskResponse `json:"Tasks"`
}

// TaskResponse is one task. The empty value is also the error body of /v1/tasks.
//
// Waiting and Stages are this agent's additions, under names the real agent's
// shape does not use: what the task waits for, and the time each container spent
// in each stage (every container of the task, including those Docker does not
// know yet, which Containers leaves out).
type TaskResponse struct {
	Arn           string                   `json:"Arn"`
	DesiredStatus string                   `json:"DesiredStatus,omitempty"`
	KnownStatus   string                   `json:"KnownStatus"`
	Family        string                   `json:"Family"`
	Version       string                   `json:"Version"`
	Containers    []ContainerResponse      `json:"Containers"`
	Waiting       string                   `json:"Waiting,omitempty"`
	Stages        []ContainerStageResponse `json:"Stages,omitempty"`
}

// ContainerStageResponse is the stages of one container, oldest first.
type ContainerStageResponse struct {
	Name   string          `json:"Name"`
	Stages []StageResponse `json:"Stages"`
}

// StageResponse is one stage: pull, create, start, run or stop. EndedAt is absent
// while it lasts, and Seconds then counts up to the time of the answer.
type StageResponse struct {
	Stage     string     `json:"Stage"`
	StartedAt time.Time  `json:"StartedAt"`
	EndedAt   *time.Time `json:"EndedAt,omitempty"`
	Seconds   float64    `json:"Seconds"`
}

// ContainerResponse is one container of a task.
type ContainerResponse struct {
	DockerID   string           `json:"DockerId"`
	DockerName string           `json:"DockerName"`
	Name       string           `json:"Name"`
	Image      string           `json:"Image"`
	ImageID    string           `json:"ImageID"`
	CreatedAt  *time.Time       `json:"CreatedAt,omitempty"`
	StartedAt  *time.Time       `json:"StartedAt,omitempty"`
	Ports      []PortResponse   `json:"Ports,omitempty"`
	Volumes    []VolumeResponse `json:"Volumes,omitempty"`
	// RestartCount is shown only for a container with a restart policy, as the
	// real agent shows it.
	RestartCount *int `json:"RestartCount,omitempty"`
}

// PortResponse is a published port; zero values are omitted.
type PortResponse struct {
	ContainerPort int    `json:"ContainerPort,omitempty"`
	Protocol      string `json:"Protocol,omitempty"`
	HostPort      int    `json:"HostPort,omitempty"`
}

// VolumeResponse is a volume mounted into a container.
type VolumeResponse struct {
	DockerName  string `json:"DockerName,omitempty"`
	Source      string `json:"Source,omitempty"`
	Destination string `json:"Destination,omitempty"`
}

// NewTaskResponse translates a scheduler task record.
func NewTaskResponse(t bus.TaskRecord) TaskResponse { return NewTaskResponseAt(t, time.Now()) }

// NewTaskResponseAt translates a scheduler task record as of now (the lasting
// stages' durations count up to it).
func NewTaskResponseAt(t bus.TaskRecord, now time.Time) TaskResponse {
	known := t.KnownStatus.Backend()
	desired := t.DesiredStatus.Backend()
	// The real agent hides a desired status that lags the known one.
	if known == "STOPPED" && desired != "STOPPED" || known == "RUNNING" && desired == "PENDING" {
		desired = ""
	}
	resp := TaskResponse{
		Arn:           t.Spec.Arn,
		DesiredStatus: desired,
		KnownStatus:   known,
		Family:        t.Spec.Family,
		Version:       t.Spec.Version,
		Containers:    []ContainerResponse{},
		Waiting:       t.Waiting,
	}
	specs := map[string]bus.ContainerSpec{}
	for _, c := range t.Spec.Containers {
		specs[c.Name] = c
	}
	volumes := map[string]bus.VolumeSpec{}
	for _, v := range t.Spec.Volumes {
		volumes[v.Name] = v
	}
	for _, c := range t.Containers {
		if st := stages(c, now); len(st) > 0 {
			resp.Stages = append(resp.Stages, ContainerStageResponse{Name: c.Name, Stages: st})
		}
		// Only containers Docker knows of are listed, as the real agent lists
		// its Docker container map.
		if c.DockerID == "" && c.DockerName == "" {
			continue
		}
		spec := specs[c.Name]
		var restarts *int
		if spec.RestartPolicy != nil && spec.RestartPolicy.Enabled {
			n := c.RestartCount
			restarts = &n
		}
		resp.Containers = append(resp.Containers, ContainerResponse{
			DockerID:     c.DockerID,
			DockerName:   c.DockerName,
			Name:         c.Name,
			Image:        c.Image,
			ImageID:      c.ImageID,
			CreatedAt:    nonZero(c.CreatedAt),
			StartedAt:    nonZero(c.StartedAt),
			Ports:        ports(c, spec),
			Volumes:      Mounts(spec, volumes),
			RestartCount: restarts,
		})
	}
	return resp
}

func stages(c bus.ContainerRecord, now time.Time) []StageResponse {
	var out []StageResponse
	for _, s := range c.Stages {
		end := now
		if s.EndedAt != nil {
			end = *s.EndedAt
		}
		out = append(out, StageResponse{
			Stage: s.Name, StartedAt: s.StartedAt, EndedAt: s.EndedAt,
			Seconds: end.Sub(s.StartedAt).Round(time.Millisecond).Seconds(),
		})
	}
	return out
}

// ports are Docker's bindings, or the task definition's mappings until Docker has
// reported any.
func ports(c bus.ContainerRecord, spec bus.ContainerSpec) []PortResponse {
	var out []PortResponse
	if len(c.NetworkBindings) > 0 {
		for _, b := range c.NetworkBindings {
			out = append(out, PortResponse{ContainerPort: b.ContainerPort, Protocol: protocol(b.Protocol), HostPort: b.HostPort})
		}
		return out
	}
	for _, m := range spec.PortMappings {
		if m.ContainerPort == 0 {
			continue // a port range: no single port to show
		}
		out = append(out, PortResponse{ContainerPort: m.ContainerPort, Protocol: protocol(m.Protocol), HostPort: m.HostPort})
	}
	return out
}

func protocol(p string) string {
	if p == "" {
		return "tcp"
	}
	return p
}

// Mounts describes a container's mount points from the task definition: a host
// volume by its path, a Docker volume by its name. volumes are the task's, by name.
func Mounts(spec bus.ContainerSpec, volumes map[string]bus.VolumeSpec) []VolumeResponse {
	var out []VolumeResponse
	for _, m := range spec.MountPoints {
		v := VolumeResponse{Destination: m.ContainerPath}
		vol := volumes[m.SourceVolume]
		if vol.Type == "docker" {
			v.DockerName = vol.Name
		} else {
			v.Source = vol.SourcePath
		}
		out = append(out, v)
	}
	return out
}

func nonZero(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	return t
}
