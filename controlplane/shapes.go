package controlplane

import (
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/ecs-agent/ecs-agent/controlplane/state"
	"github.com/ecs-agent/ecs-agent/controlplane/taskdef"
)

// epoch is a timestamp on the wire: epoch seconds with a fraction.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	ms := time.Time(e).UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)), nil
}

func epochOf(t *time.Time) *epoch {
	if t == nil {
		return nil
	}
	e := epoch(*t)
	return &e
}

// timeOf converts a request timestamp (epoch seconds) to a time.
func timeOf(f *float64) *time.Time {
	if f == nil {
		return nil
	}
	sec, frac := math.Modf(*f)
	t := time.Unix(int64(sec), int64(frac*1e9)).UTC()
	return &t
}

type failureOut struct {
	Arn    string `json:"arn,omitempty"`
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

func failuresOut(fs []state.Failure) []failureOut {
	out := make([]failureOut, 0, len(fs))
	for _, f := range fs {
		out = append(out, failureOut(f))
	}
	return out
}

type keyValueOut struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type clusterOut struct {
	ClusterArn                        string        `json:"clusterArn"`
	ClusterName                       string        `json:"clusterName"`
	Status                            string        `json:"status"`
	RegisteredContainerInstancesCount int           `json:"registeredContainerInstancesCount"`
	RunningTasksCount                 int           `json:"runningTasksCount"`
	PendingTasksCount                 int           `json:"pendingTasksCount"`
	ActiveServicesCount               int           `json:"activeServicesCount"`
	Statistics                        []keyValueOut `json:"statistics"`
	Tags                              []state.Tag   `json:"tags"`
	Settings                          []keyValueOut `json:"settings"`
	CapacityProviders                 []string      `json:"capacityProviders"`
}

// clusterView is a cluster on the wire; its tags are shown only when withTags is set
// (CreateCluster, DescribeClusters with include TAGS), else the list is empty.
func clusterView(c state.Cluster, st state.ClusterStats, withTags bool) clusterOut {
	return clusterOut{
		ClusterArn:                        c.Arn,
		ClusterName:                       c.Name,
		Status:                            c.Status,
		RegisteredContainerInstancesCount: st.RegisteredInstances,
		RunningTasksCount:                 st.RunningTasks,
		PendingTasksCount:                 st.PendingTasks,
		Statistics:                        []keyValueOut{},
		Tags:                              tagsOut(c.Tags, withTags),
		Settings:                          []keyValueOut{{Name: "containerInsights", Value: "disabled"}},
		CapacityProviders:                 []string{},
	}
}

type instanceOut struct {
	ContainerInstanceArn string            `json:"containerInstanceArn"`
	EC2InstanceID        string            `json:"ec2InstanceId,omitempty"`
	Version              int64             `json:"version"`
	VersionInfo          json.RawMessage   `json:"versionInfo,omitempty"`
	RemainingResources   []state.Resource  `json:"remainingResources"`
	RegisteredResources  []state.Resource  `json:"registeredResources"`
	Status               string            `json:"status"`
	AgentConnected       bool              `json:"agentConnected"`
	RunningTasksCount    int               `json:"runningTasksCount"`
	PendingTasksCount    int               `json:"pendingTasksCount"`
	Attributes           []state.Attribute `json:"attributes"`
	RegisteredAt         epoch             `json:"registeredAt"`
	Tags                 []state.Tag       `json:"tags,omitempty"`
}

// instanceView is a container instance on the wire; its tags are shown only when withTags
// is set (RegisterContainerInstance, DescribeContainerInstances with include TAGS).
func instanceView(v state.InstanceView, withTags bool) instanceOut {
	out := instanceOut{
		ContainerInstanceArn: v.Arn,
		EC2InstanceID:        v.EC2InstanceID,
		Version:              v.Version,
		VersionInfo:          v.VersionInfo,
		RemainingResources:   v.Remaining,
		RegisteredResources:  v.Registered,
		Status:               v.Status,
		AgentConnected:       v.AgentConnected,
		RunningTasksCount:    v.RunningTasks,
		PendingTasksCount:    v.PendingTasks,
		Attributes:           v.Attributes,
		RegisteredAt:         epoch(v.RegisteredAt),
	}
	if withTags {
		out.Tags = tagsOut(v.Tags, true)
	}
	if out.RemainingResources == nil {
		out.RemainingResources = []state.Resource{}
	}
	if out.RegisteredResources == nil {
		out.RegisteredResources = []state.Resource{}
	}
	return out
}

type containerOut struct {
	ContainerArn      string                 `json:"containerArn"`
	TaskArn           string                 `json:"taskArn"`
	Name              string                 `json:"name"`
	Image             string                 `json:"image"`
	ImageDigest       string                 `json:"imageDigest,omitempty"`
	RuntimeID         string                 `json:"runtimeId,omitempty"`
	LastStatus        string                 `json:"lastStatus"`
	ExitCode          *int64                 `json:"exitCode,omitempty"`
	Reason            string                 `json:"reason,omitempty"`
	NetworkBindings   []state.NetworkBinding `json:"networkBindings"`
	NetworkInterfaces []any                  `json:"networkInterfaces"`
	HealthStatus      string                 `json:"healthStatus"`
	CPU               string                 `json:"cpu"`
	Memory            string                 `json:"memory,omitempty"`
	MemoryReservation string                 `json:"memoryReservation,omitempty"`
}

type overridesOut struct {
	ContainerOverrides            []taskdef.ContainerOverride `json:"containerOverrides"`
	InferenceAcceleratorOverrides []any                       `json:"inferenceAcceleratorOverrides"`
	CPU                           string                      `json:"cpu,omitempty"`
	Memory                        string                      `json:"memory,omitempty"`
	TaskRoleArn                   string                      `json:"taskRoleArn,omitempty"`
	ExecutionRoleArn              string                      `json:"executionRoleArn,omitempty"`
}

type taskOut struct {
	TaskArn              string         `json:"taskArn"`
	ClusterArn           string         `json:"clusterArn"`
	TaskDefinitionArn    string         `json:"taskDefinitionArn"`
	ContainerInstanceArn string         `json:"containerInstanceArn"`
	Overrides            overridesOut   `json:"overrides"`
	LastStatus           string         `json:"lastStatus"`
	DesiredStatus        string         `json:"desiredStatus"`
	CPU                  string         `json:"cpu,omitempty"`
	Memory               string         `json:"memory,omitempty"`
	Containers           []containerOut `json:"containers"`
	StartedBy            string         `json:"startedBy,omitempty"`
	Version              int64          `json:"version"`
	StoppedReason        string         `json:"stoppedReason,omitempty"`
	StopCode             string         `json:"stopCode,omitempty"`
	Connectivity         string         `json:"connectivity,omitempty"`
	ConnectivityAt       *epoch         `json:"connectivityAt,omitempty"`
	PullStartedAt        *epoch         `json:"pullStartedAt,omitempty"`
	PullStoppedAt        *epoch         `json:"pullStoppedAt,omitempty"`
	ExecutionStoppedAt   *epoch         `json:"executionStoppedAt,omitempty"`
	CreatedAt            epoch          `json:"createdAt"`
	StartedAt            *epoch         `json:"startedAt,omitempty"`
	StoppingAt           *epoch         `json:"stoppingAt,omitempty"`
	StoppedAt            *epoch         `json:"stoppedAt,omitempty"`
	Group                string         `json:"group,omitempty"`
	LaunchType           string         `json:"launchType"`
	AvailabilityZone     string         `json:"availabilityZone,omitempty"`
	Attachments          []any          `json:"attachments"`
	Attributes           []any          `json:"attributes"`
	Tags                 []state.Tag    `json:"tags"`
	EnableExecuteCommand bool           `json:"enableExecuteCommand"`
	HealthStatus         string         `json:"healthStatus"`
}

// taskView is a task on the wire; its tags are shown only when withTags is set (RunTask,
// StartTask, DescribeTasks with include TAGS), else the list is empty.
func (s *Server) taskView(t state.Task, withTags bool) taskOut {
	out := taskOut{
		TaskArn:              t.Arn,
		ClusterArn:           t.ClusterArn,
		TaskDefinitionArn:    t.TaskDefinitionArn,
		ContainerInstanceArn: t.InstanceArn,
		Overrides: overridesOut{
			ContainerOverrides:            t.Overrides.ContainerOverrides,
			InferenceAcceleratorOverrides: []any{},
			CPU:                           t.Overrides.CPU,
			Memory:                        t.Overrides.Memory,
			TaskRoleArn:                   t.Overrides.TaskRoleArn,
			ExecutionRoleArn:              t.Overrides.ExecutionRoleArn,
		},
		LastStatus:         t.LastStatus,
		DesiredStatus:      t.DesiredStatus,
		StartedBy:          t.StartedBy,
		Version:            t.Version,
		StoppedReason:      t.StoppedReason,
		StopCode:           t.StopCode,
		ConnectivityAt:     epochOf(t.ConnectivityAt),
		PullStartedAt:      epochOf(t.PullStartedAt),
		PullStoppedAt:      epochOf(t.PullStoppedAt),
		ExecutionStoppedAt: epochOf(t.ExecutionStoppedAt),
		CreatedAt:          epoch(t.CreatedAt),
		StartedAt:          epochOf(t.StartedAt),
		StoppingAt:         epochOf(t.StoppingAt),
		StoppedAt:          epochOf(t.StoppedAt),
		Group:              t.Group,
		LaunchType:         launchType(t.LaunchType),
		AvailabilityZone:   s.zone(),
		Attachments:        []any{},
		Attributes:         []any{},
		Tags:               tagsOut(t.Tags, withTags),
		HealthStatus:       state.TaskHealth(t),
	}
	if out.Overrides.ContainerOverrides == nil {
		out.Overrides.ContainerOverrides = []taskdef.ContainerOverride{}
	}
	if t.ConnectivityAt != nil {
		out.Connectivity = "CONNECTED"
	}
	if t.Holds.CPU > 0 {
		out.CPU = strconv.FormatInt(t.Holds.CPU, 10)
	}
	if t.Holds.Memory > 0 {
		out.Memory = strconv.FormatInt(t.Holds.Memory, 10)
	}
	for _, c := range t.Containers {
		co := containerOut{
			ContainerArn:      c.Arn,
			TaskArn:           t.Arn,
			Name:              c.Name,
			Image:             c.Image,
			ImageDigest:       c.ImageDigest,
			RuntimeID:         c.RuntimeID,
			LastStatus:        c.LastStatus,
			ExitCode:          c.ExitCode,
			Reason:            c.Reason,
			NetworkBindings:   c.NetworkBindings,
			NetworkInterfaces: []any{},
			HealthStatus:      state.ContainerHealthOf(c),
			CPU:               strconv.FormatInt(c.CPU, 10),
		}
		if co.NetworkBindings == nil {
			co.NetworkBindings = []state.NetworkBinding{}
		}
		if c.Memory != nil {
			co.Memory = strconv.FormatInt(*c.Memory, 10)
		}
		if c.MemoryReserve != nil {
			co.MemoryReservation = strconv.FormatInt(*c.MemoryReserve, 10)
		}
		out.Containers = append(out.Containers, co)
	}
	if out.Containers == nil {
		out.Containers = []containerOut{}
	}
	return out
}

func (s *Server) tasksView(ts []state.Task, withTags bool) []taskOut {
	out := make([]taskOut, 0, len(ts))
	for _, t := range ts {
		out = append(out, s.taskView(t, withTags))
	}
	return out
}

// tagsOut is a tag list on the wire: never null, and empty unless shown.
func tagsOut(tags []state.Tag, show bool) []state.Tag {
	if !show || tags == nil {
		return []state.Tag{}
	}
	return tags
}

// zone is the availability zone the control plane reports for everything.
func (s *Server) zone() string { return s.cfg.Region + "a" }

func launchType(lt string) string {
	if lt == "" {
		return state.LaunchTypeEC2
	}
	return lt
}
