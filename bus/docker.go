package bus

import (
	"encoding/json"
	"time"
)

// Requests and replies of the dockerexec micro service (DockerService). Every command
// is idempotent, keyed by task ARN and container name: a second create of the same
// container returns the existing one, a stop of a stopped container succeeds, a
// remove of a missing container succeeds.

// Docker labels the agent writes on every task container (PROTOCOL.md §4.7).
const (
	LabelTaskARN        = "com.amazonaws.ecs.task-arn"
	LabelContainerName  = "com.amazonaws.ecs.container-name"
	LabelTaskDefFamily  = "com.amazonaws.ecs.task-definition-family"
	LabelTaskDefVersion = "com.amazonaws.ecs.task-definition-version"
	LabelCluster        = "com.amazonaws.ecs.cluster"
)

// Labels of this project's own, beside the real agent's, so that a container can be
// tied to its instance and its task rebuilt from Docker alone when the agent's store is
// lost (DESIGN.md §4.3).
const (
	// LabelContainerInstanceARN is the ARN of the container instance whose agent
	// created the container. Several agents may share one engine; each acts only on
	// its own instance's containers.
	LabelContainerInstanceARN = "ecs-agent.container-instance-arn"
	// LabelTaskSpec is the task's TaskSpec as JSON, as the control plane sent it: with
	// it any one container of a task is enough to rebuild the task's record.
	LabelTaskSpec = "ecs-agent.task-spec"
	// LabelEndpointID is the container's task-metadata endpoint ID, kept so that a
	// rebuilt record serves the same paths.
	LabelEndpointID = "ecs-agent.metadata-endpoint-id"
)

// PullRequest asks for an image to be present locally. Behavior is
// ECS_IMAGE_PULL_BEHAVIOR (default, always, once, prefer-cached).
type PullRequest struct {
	TaskArn       string `json:"taskArn"`
	ContainerName string `json:"containerName"`
	Image         string `json:"image"`
	Behavior      string `json:"behavior,omitempty"`
	// RegistryAuth and ExecutionCredentialsID say how to log in to a private
	// registry: dockerexec reads the secret with the execution role's credentials.
	RegistryAuth           *RegistryAuth `json:"registryAuth,omitempty"`
	ExecutionCredentialsID string        `json:"executionCredentialsId,omitempty"`
}

// PullReply says what was done.
type PullReply struct {
	ImageID string `json:"imageId"`
	Digest  string `json:"digest,omitempty"`
	// Pulled is false when the local image was used without pulling (none was
	// needed, or the pull failed and the cached image was used: FellBack).
	Pulled bool `json:"pulled"`
	// FellBack is set when a pull failed and the cached image was used instead
	// (ECS_IMAGE_PULL_BEHAVIOR=default).
	FellBack bool `json:"fellBack,omitempty"`
	// StartedAt and StoppedAt are the times of the pull from the registry, set only
	// when one was made (failed or not): what the task reports as pullStartedAt and
	// pullStoppedAt. A pull shared with other callers carries its own times.
	StartedAt *time.Time `json:"startedAt,omitempty"`
	StoppedAt *time.Time `json:"stoppedAt,omitempty"`
	// Bytes is how much the pull downloaded, from the engine's progress stream.
	Bytes int64 `json:"bytes,omitempty"`
}

// CreateRequest creates a task's container. Host-side decisions (host ports from the
// ledger, the Docker names of linked and volumes-from containers, volume binds) are
// made by the scheduler and passed in resolved.
type CreateRequest struct {
	TaskArn     string        `json:"taskArn"`
	Cluster     string        `json:"cluster"`
	Family      string        `json:"family"`
	Version     string        `json:"version"`
	Container   ContainerSpec `json:"container"`
	NetworkMode string        `json:"networkMode,omitempty"`
	// DockerName is the name to give the container
	// (ecs-<family>-<version>-<name>-<randhex>).
	DockerName string `json:"dockerName"`
	// PortBindings are the resolved port mappings: HostPort is never 0 here except
	// for mappings that Docker itself should choose.
	PortBindings []PortMapping `json:"portBindings,omitempty"`
	// Links are "dockerName:alias" entries.
	Links []string `json:"links,omitempty"`
	// VolumesFrom are "dockerName[:ro]" entries.
	VolumesFrom []string `json:"volumesFrom,omitempty"`
	// Binds are "source:destination[:ro]" entries; source is a host path or a Docker
	// volume name.
	Binds []string `json:"binds,omitempty"`
	// ExtraEnv is environment the agent injects on top of the container's own.
	ExtraEnv map[string]string `json:"extraEnv,omitempty"`
	// ContainerInstanceArn and TaskSpec become the LabelContainerInstanceARN and
	// LabelTaskSpec labels (TaskSpec already JSON-encoded).
	ContainerInstanceArn string `json:"containerInstanceArn,omitempty"`
	TaskSpec             string `json:"taskSpec,omitempty"`
	// EndpointID becomes the LabelEndpointID label.
	EndpointID string `json:"endpointId,omitempty"`
	// ExecutionCredentialsID names the credentials dockerexec reads the container's
	// secrets with.
	ExecutionCredentialsID string `json:"executionCredentialsId,omitempty"`
	// CgroupParent is the task cgroup the container is created under (a
	// CgroupReply's Parent); empty for none.
	CgroupParent string `json:"cgroupParent,omitempty"`
}

// StatsRequest asks for one sample of a container's Docker stats.
type StatsRequest struct {
	ContainerRef
}

// StatsReply is a container's stats sample, in the Docker Engine API's own JSON
// (what the task metadata endpoint serves), opaque to the bus.
type StatsReply struct {
	DockerStats json.RawMessage `json:"dockerStats"`
}

// PingRequest asks dockerexec to ping the engine.
type PingRequest struct{}

// PingReply is the engine's answer to a ping.
type PingReply struct {
	APIVersion string `json:"apiVersion,omitempty"`
}

// CreateReply identifies the created (or already existing) container.
type CreateReply struct {
	DockerID   string `json:"dockerId"`
	DockerName string `json:"dockerName"`
	// Existed is true when the container was already there.
	Existed bool `json:"existed"`
}

// ContainerRef names one container: by Docker ID, or by task ARN and container name.
type ContainerRef struct {
	DockerID      string `json:"dockerId,omitempty"`
	TaskArn       string `json:"taskArn,omitempty"`
	ContainerName string `json:"containerName,omitempty"`
}

// StartRequest starts a created container.
type StartRequest struct {
	ContainerRef
	// RestartAfter, set when a restart policy restarts an exited container in
	// place, is the time of the exit being answered: a container that exited and
	// has not been started since is started again. A start retried after its reply
	// was lost finds the container started after that time and leaves it alone.
	RestartAfter *time.Time `json:"restartAfter,omitempty"`
}

// StopRequest stops a container, killing it after Timeout.
type StopRequest struct {
	ContainerRef
	Timeout time.Duration `json:"timeout"`
}

// RemoveRequest removes a container and its anonymous volumes.
type RemoveRequest struct {
	ContainerRef
}

// InspectRequest asks for one container's state.
type InspectRequest struct {
	ContainerRef
}

// ListRequest lists the agent's containers (those carrying LabelTaskARN), optionally
// only one task's, one cluster's or one container instance's.
type ListRequest struct {
	TaskArn              string `json:"taskArn,omitempty"`
	Cluster              string `json:"cluster,omitempty"`
	ContainerInstanceArn string `json:"containerInstanceArn,omitempty"`
}

// ListReply is the answer to ListRequest.
type ListReply struct {
	Containers []ContainerState `json:"containers"`
}

// ContainerState is a container as Docker reports it; start, stop and inspect reply
// with it.
type ContainerState struct {
	DockerID        string            `json:"dockerId"`
	DockerName      string            `json:"dockerName"`
	TaskArn         string            `json:"taskArn,omitempty"`
	ContainerName   string            `json:"containerName,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	Image           string            `json:"image,omitempty"`
	ImageID         string            `json:"imageId,omitempty"`
	Status          Status            `json:"status"` // CREATED, RUNNING or STOPPED
	ExitCode        *int              `json:"exitCode,omitempty"`
	OOMKilled       bool              `json:"oomKilled,omitempty"`
	Error           string            `json:"error,omitempty"`
	Health          Health            `json:"health,omitempty"`
	NetworkBindings []NetworkBinding  `json:"networkBindings,omitempty"`
	RestartCount    int               `json:"restartCount,omitempty"`
	CreatedAt       time.Time         `json:"createdAt"`
	StartedAt       *time.Time        `json:"startedAt,omitempty"`
	FinishedAt      *time.Time        `json:"finishedAt,omitempty"`
}

// MetadataDockerVersion is the key, in the dockerexec service's micro metadata
// ($SRV.INFO), of the Docker engine's version: the session reports it to ACS.
const MetadataDockerVersion = "docker_version"

// Volume scopes of a DockerVolumeSpec and a VolumeCreateRequest.
const (
	VolumeScopeTask   = "task"
	VolumeScopeShared = "shared"
)

// VolumeCreateRequest makes sure a Docker volume a task mounts is there, before the
// containers that mount it are created. A task-scoped volume (a docker volume of
// scope task, or the agent's scratch volume behind a host volume without a source
// path) is created with the agent's labels (LabelTaskARN, LabelCluster,
// LabelContainerInstanceARN) beside the task's own, so that it can be found and
// removed at the task's cleanup; a second create of it returns it. A shared volume
// is used as it is when it exists, created (with the task's labels only) when it is
// absent and Autoprovision is set, and a CodeResourceInit error when it is absent
// and Autoprovision is not.
type VolumeCreateRequest struct {
	TaskArn              string `json:"taskArn"`
	Cluster              string `json:"cluster,omitempty"`
	ContainerInstanceArn string `json:"containerInstanceArn,omitempty"`
	// Name is the Docker volume's name.
	Name          string            `json:"name"`
	Scope         string            `json:"scope"` // VolumeScopeTask or VolumeScopeShared
	Autoprovision bool              `json:"autoprovision,omitempty"`
	Driver        string            `json:"driver,omitempty"` // empty means local
	DriverOpts    map[string]string `json:"driverOpts,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
}

// VolumeReply describes the volume as Docker has it.
type VolumeReply struct {
	Name       string `json:"name"`
	Driver     string `json:"driver"`
	Mountpoint string `json:"mountpoint,omitempty"`
	// Created is true when this request created the volume.
	Created bool `json:"created"`
}

// VolumeRemoveRequest removes a task-scoped volume at its task's cleanup. Only a
// volume labelled with TaskArn is removed; a missing one is success.
type VolumeRemoveRequest struct {
	TaskArn string `json:"taskArn"`
	Name    string `json:"name"`
}

// CgroupCreateRequest asks for a task's cgroup (ECS_ENABLE_TASK_CPU_MEM_LIMIT):
// dockerexec creates it under ECS_CGROUP_PATH with these limits and replies with
// the cgroup parent the task's containers are created under. Zero fields set no
// limit. The limits are computed by the scheduler (the real agent's rules); where
// the cgroup is and how it is made is the host's business, dockerexec's.
type CgroupCreateRequest struct {
	TaskArn string `json:"taskArn"`
	// CPUShares is set when the task has no task-level CPU: the sum of its
	// containers' shares.
	CPUShares uint64 `json:"cpuShares,omitempty"`
	// CPUQuota and CPUPeriod (microseconds) cap the task at its task-level vCPUs.
	CPUQuota  int64  `json:"cpuQuota,omitempty"`
	CPUPeriod uint64 `json:"cpuPeriod,omitempty"`
	// MemoryBytes is the task-level memory limit.
	MemoryBytes int64 `json:"memoryBytes,omitempty"`
}

// CgroupReply says where the task's containers go. Parent is empty when the host
// cannot give tasks cgroups (Unmanaged then says why): the task runs without one.
type CgroupReply struct {
	Parent    string `json:"parent,omitempty"`
	Unmanaged string `json:"unmanaged,omitempty"`
}

// CgroupRemoveRequest removes a task's cgroup at its cleanup; a missing one is
// success.
type CgroupRemoveRequest struct {
	TaskArn string `json:"taskArn"`
}
