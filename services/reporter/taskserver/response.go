package taskserver

import (
	"encoding/json"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/services/reporter/introspection"
)

// The JSON shapes of the real agent's task metadata endpoint (v3 and v4) and its
// credentials endpoint. Field names, their order and the omitempty rules are the
// contract: SDKs, the CloudWatch agent and users' scripts parse them.

// TaskResponse is a task as v3 answers it, and the common part of v4's.
type TaskResponse struct {
	Cluster               string              `json:"Cluster"`
	TaskARN               string              `json:"TaskARN"`
	Family                string              `json:"Family"`
	Revision              string              `json:"Revision"`
	DesiredStatus         string              `json:"DesiredStatus,omitempty"`
	KnownStatus           string              `json:"KnownStatus"`
	Containers            []ContainerResponse `json:"Containers,omitempty"`
	Limits                *LimitsResponse     `json:"Limits,omitempty"`
	PullStartedAt         *time.Time          `json:"PullStartedAt,omitempty"`
	PullStoppedAt         *time.Time          `json:"PullStoppedAt,omitempty"`
	ExecutionStoppedAt    *time.Time          `json:"ExecutionStoppedAt,omitempty"`
	AvailabilityZone      string              `json:"AvailabilityZone,omitempty"`
	TaskTags              map[string]string   `json:"TaskTags,omitempty"`
	ContainerInstanceTags map[string]string   `json:"ContainerInstanceTags,omitempty"`
	LaunchType            string              `json:"LaunchType,omitempty"`
	Errors                []ErrorResponse     `json:"Errors,omitempty"`
}

// ContainerResponse is a container as v3 answers it, and the common part of v4's.
type ContainerResponse struct {
	ID            string                         `json:"DockerId"`
	Name          string                         `json:"Name"`
	DockerName    string                         `json:"DockerName"`
	Image         string                         `json:"Image"`
	ImageID       string                         `json:"ImageID"`
	Ports         []PortResponse                 `json:"Ports,omitempty"`
	Labels        map[string]string              `json:"Labels,omitempty"`
	DesiredStatus string                         `json:"DesiredStatus"`
	KnownStatus   string                         `json:"KnownStatus"`
	ExitCode      *int                           `json:"ExitCode,omitempty"`
	Limits        LimitsResponse                 `json:"Limits"`
	CreatedAt     *time.Time                     `json:"CreatedAt,omitempty"`
	StartedAt     *time.Time                     `json:"StartedAt,omitempty"`
	FinishedAt    *time.Time                     `json:"FinishedAt,omitempty"`
	Type          string                         `json:"Type"`
	Networks      []Network                      `json:"Networks,omitempty"`
	Health        *HealthStatus                  `json:"Health,omitempty"`
	Volumes       []introspection.VolumeResponse `json:"Volumes,omitempty"`
	LogDriver     string                         `json:"LogDriver,omitempty"`
	LogOptions    map[string]string              `json:"LogOptions,omitempty"`
	ContainerARN  string                         `json:"ContainerARN,omitempty"`
}

// TaskResponseV4 is a task as v4 answers it: the v3 task with v4 containers and a
// few more fields. As in the real agent, its Containers replace the embedded ones.
type TaskResponseV4 struct {
	*TaskResponse
	Containers            []ContainerResponseV4 `json:"Containers,omitempty"`
	VPCID                 string                `json:"VPCID,omitempty"`
	ServiceName           string                `json:"ServiceName,omitempty"`
	ClockDrift            *ClockDrift           `json:"ClockDrift,omitempty"`
	FaultInjectionEnabled bool                  `json:"FaultInjectionEnabled"`
}

// ContainerResponseV4 is a container as v4 answers it.
type ContainerResponseV4 struct {
	*ContainerResponse
	Snapshotter  string `json:"Snapshotter,omitempty"`
	RestartCount *int   `json:"RestartCount,omitempty"`
}

// LimitsResponse are a task's (vCPU, MiB) or a container's (CPU shares, MiB) limits.
type LimitsResponse struct {
	CPU    *float64 `json:"CPU,omitempty"`
	Memory *int64   `json:"Memory,omitempty"`
}

// PortResponse is a published port; HostIp is v4's only.
type PortResponse struct {
	ContainerPort uint16 `json:"ContainerPort,omitempty"`
	Protocol      string `json:"Protocol,omitempty"`
	HostPort      uint16 `json:"HostPort,omitempty"`
	HostIp        string `json:"HostIp,omitempty"` //nolint:revive // the real agent's spelling
}

// Network is a container's network.
type Network struct {
	NetworkMode   string   `json:"NetworkMode,omitempty"`
	IPv4Addresses []string `json:"IPv4Addresses,omitempty"`
	IPv6Addresses []string `json:"IPv6Addresses,omitempty"`
}

// HealthStatus is a container's Docker health, for containers with a health check.
type HealthStatus struct {
	Status   string     `json:"status,omitempty"`
	Since    *time.Time `json:"statusSince,omitempty"`
	ExitCode int        `json:"exitCode,omitempty"`
	Output   string     `json:"output,omitempty"`
}

// ClockDrift is the instance's clock status (never measured here, so never sent).
type ClockDrift struct {
	ClockErrorBound            float64    `json:"ClockErrorBound,omitempty"`
	ReferenceTimestamp         *time.Time `json:"ReferenceTimestamp,omitempty"`
	ClockSynchronizationStatus string     `json:"ClockSynchronizationStatus,omitempty"`
}

// ErrorResponse is an error the v4 task answer carries instead of failing.
type ErrorResponse struct {
	ErrorField   string `json:"ErrorField,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
	StatusCode   int    `json:"StatusCode,omitempty"`
	RequestId    string `json:"RequestId,omitempty"` //nolint:revive // the real agent's spelling
	ResourceARN  string `json:"ResourceARN,omitempty"`
}

// CredentialsResponse is a role's credentials, as the credentials endpoint serves
// them (the shape the SDKs' container credential providers read).
type CredentialsResponse struct {
	RoleArn         string `json:"RoleArn"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
}

// ErrorMessage is the credentials endpoint's error body.
type ErrorMessage struct {
	Code          string `json:"code"`
	Message       string `json:"message"`
	HTTPErrorCode int    `json:"HTTPErrorCode"`
}

// minimumCPUUnit is what Docker is given for a container without CPU shares (or
// one), and so what the real agent reports.
const minimumCPUUnit = 2

// containerTypeNormal is the Type of every container the agent runs for a task (the
// real agent's internal pause and other containers are not task containers here).
const containerTypeNormal = "NORMAL"

// view is a task record with what the answers need beside it.
type view struct {
	task    bus.TaskRecord
	cluster string // the configured cluster, when the record has none
	az      string
}

// taskV3 is the task's v3 answer.
func (v view) taskV3() *TaskResponse {
	t := v.task
	resp := &TaskResponse{
		Cluster:            firstNonEmpty(t.Cluster, v.cluster),
		TaskARN:            t.Spec.Arn,
		Family:             t.Spec.Family,
		Revision:           t.Spec.Version,
		DesiredStatus:      status(t.DesiredStatus),
		KnownStatus:        status(t.KnownStatus),
		PullStartedAt:      utc(t.PullStartedAt),
		PullStoppedAt:      utc(t.PullStoppedAt),
		ExecutionStoppedAt: utc(t.ExecutionStoppedAt),
		AvailabilityZone:   v.az,
	}
	if t.Spec.CPU != 0 || t.Spec.Memory != 0 {
		resp.Limits = &LimitsResponse{}
		if cpu := t.Spec.CPU; cpu != 0 {
			resp.Limits.CPU = &cpu
		}
		if mem := t.Spec.Memory; mem != 0 {
			resp.Limits.Memory = &mem
		}
	}
	for _, c := range t.Containers {
		if c.DockerID == "" && c.DockerName == "" {
			continue // Docker does not know it yet
		}
		resp.Containers = append(resp.Containers, *v.container(c, false))
	}
	return resp
}

// taskV4 is the task's v4 answer: v3's, with the launch type, the containers' v4
// fields, and the containers pulled but not yet created, as the real agent lists them.
func (v view) taskV4() TaskResponseV4 {
	base := v.taskV3()
	base.Containers = nil
	base.LaunchType = v.task.Spec.LaunchType
	resp := TaskResponseV4{TaskResponse: base, ServiceName: v.task.Spec.ServiceName}
	for _, c := range v.task.Containers {
		created := c.DockerID != "" || c.DockerName != ""
		pulled := c.KnownStatus == bus.StatusPulled || c.KnownStatus == bus.StatusManifestPulled
		if !created && !pulled {
			continue
		}
		cr := v.container(c, true)
		if !created {
			cr.Networks = nil
		}
		resp.Containers = append(resp.Containers, ContainerResponseV4{ContainerResponse: cr, RestartCount: v.restartCount(c)})
	}
	return resp
}

// restartCount is the container's restart count when it has a restart policy, as
// the real agent shows it; nil otherwise.
func (v view) restartCount(c bus.ContainerRecord) *int {
	spec := specOf(v.task, c.Name)
	if spec.RestartPolicy == nil || !spec.RestartPolicy.Enabled {
		return nil
	}
	n := c.RestartCount
	return &n
}

// container is one container's answer; v4 adds the log configuration and the
// ports' host IPs.
func (v view) container(c bus.ContainerRecord, v4 bool) *ContainerResponse {
	t := v.task
	spec := specOf(t, c.Name)
	cpu := float64(spec.CPU)
	if spec.CPU < minimumCPUUnit {
		cpu = minimumCPUUnit
	}
	mem := spec.Memory
	resp := &ContainerResponse{
		ID:            c.DockerID,
		Name:          c.Name,
		DockerName:    c.DockerName,
		Image:         c.Image,
		ImageID:       c.ImageID,
		Labels:        labels(t, spec),
		DesiredStatus: status(c.DesiredStatus),
		KnownStatus:   status(c.KnownStatus),
		ExitCode:      c.ExitCode,
		Limits:        LimitsResponse{CPU: &cpu, Memory: &mem},
		CreatedAt:     utc(c.CreatedAt),
		StartedAt:     utc(c.StartedAt),
		FinishedAt:    utc(c.FinishedAt),
		Type:          containerTypeNormal,
		Networks:      []Network{{NetworkMode: networkMode(t.Spec)}},
	}
	if c.Health != "" {
		resp.Health = &HealthStatus{Status: string(c.Health)}
	}
	for _, b := range c.NetworkBindings {
		p := PortResponse{ContainerPort: uint16(b.ContainerPort), Protocol: protocol(b.Protocol), HostPort: uint16(b.HostPort)}
		if v4 {
			p.HostIp = b.BindIP
		}
		resp.Ports = append(resp.Ports, p)
	}
	volumes := map[string]bus.VolumeSpec{}
	for _, vol := range t.Spec.Volumes {
		volumes[vol.Name] = vol
	}
	resp.Volumes = introspection.Mounts(spec, volumes)
	if v4 {
		resp.LogDriver, resp.LogOptions = logConfig(spec)
	}
	return resp
}

func specOf(t bus.TaskRecord, name string) bus.ContainerSpec {
	for _, c := range t.Spec.Containers {
		if c.Name == name {
			return c
		}
	}
	return bus.ContainerSpec{Name: name}
}

// labels are the container's Docker labels as the agent writes them: the task
// definition's own (dockerLabels), then the agent's, which win (PROTOCOL.md §4.7).
// This project's private labels are left out: the real agent has none.
func labels(t bus.TaskRecord, spec bus.ContainerSpec) map[string]string {
	out := map[string]string{}
	if spec.DockerConfig.Config != "" {
		var cfg struct{ Labels map[string]string }
		if json.Unmarshal([]byte(spec.DockerConfig.Config), &cfg) == nil {
			for k, v := range cfg.Labels {
				out[k] = v
			}
		}
	}
	out[bus.LabelTaskARN] = t.Spec.Arn
	out[bus.LabelContainerName] = spec.Name
	out[bus.LabelTaskDefFamily] = t.Spec.Family
	out[bus.LabelTaskDefVersion] = t.Spec.Version
	out[bus.LabelCluster] = t.Cluster
	return out
}

// logConfig is the container's log driver and options from its host configuration.
func logConfig(spec bus.ContainerSpec) (string, map[string]string) {
	if spec.DockerConfig.HostConfig == "" {
		return "", nil
	}
	var hc struct {
		LogConfig struct {
			Type   string
			Config map[string]string
		}
	}
	if json.Unmarshal([]byte(spec.DockerConfig.HostConfig), &hc) != nil {
		return "", nil
	}
	return hc.LogConfig.Type, hc.LogConfig.Config
}

// networkMode is the Docker network the task's containers are on.
func networkMode(spec bus.TaskSpec) string {
	if spec.NetworkMode == "" {
		return "bridge"
	}
	return spec.NetworkMode
}

// status is a status as the real agent spells it: the task engine's own name.
func status(s bus.Status) string {
	if s == "" {
		return string(bus.StatusNone)
	}
	return string(s)
}

func protocol(p string) string {
	if p == "" {
		return "tcp"
	}
	return p
}

func utc(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
