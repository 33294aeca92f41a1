package bus

import "time"

// Message type names, carried in every message's "type" field.
const (
	TypeDesiredTask     = "DesiredTask"
	TypeContainerEvent  = "ContainerEvent"
	TypeTaskStateChange = "TaskStateChange"
	TypeRegistration    = "Registration"
	TypeTaskRecord      = "TaskRecord"
	TypeRoleCredentials = "RoleCredentials"
)

// DesiredTask is what the control plane wants of one task (session → scheduler,
// stream ECS_DESIRED, subject DesiredSubject). Session stores it before it acks the
// ACS payload that carried it. A task's desired status only ever rises; the scheduler
// ignores a DesiredTask that would lower it.
type DesiredTask struct {
	Type string `json:"type"`
	// Cluster is the configured cluster string (name or ARN), as reports need it.
	Cluster string   `json:"cluster"`
	Task    TaskSpec `json:"task"`
	// LoadError, when set, says why the session could not load the task from its
	// payload (the real agent's "UnrecogniedTaskError: Error loading task - …"); Task
	// then holds only what could be read (at least its ARN), and the scheduler reports
	// the task STOPPED with this reason.
	LoadError string `json:"loadError,omitempty"`
	// MessageID and SeqNum identify the ACS payload that delivered the task.
	MessageID  string    `json:"messageId,omitempty"`
	SeqNum     int64     `json:"seqNum,omitempty"`
	ReceivedAt time.Time `json:"receivedAt"`
}

// TaskSpec is a task as the control plane describes it, translated from the ACS
// Task shape at the session's edge.
type TaskSpec struct {
	Arn            string          `json:"arn"`
	ClusterArn     string          `json:"clusterArn,omitempty"`
	Family         string          `json:"family"`
	Version        string          `json:"version"`
	DesiredStatus  Status          `json:"desiredStatus"`
	NetworkMode    string          `json:"networkMode,omitempty"`
	CPU            float64         `json:"cpu,omitempty"`    // task-level vCPU, 0 if unset
	Memory         int64           `json:"memory,omitempty"` // task-level MiB, 0 if unset
	PidMode        string          `json:"pidMode,omitempty"`
	IpcMode        string          `json:"ipcMode,omitempty"`
	Containers     []ContainerSpec `json:"containers"`
	Volumes        []VolumeSpec    `json:"volumes,omitempty"`
	ServiceName    string          `json:"serviceName,omitempty"`
	LaunchType     string          `json:"launchType,omitempty"`
	TaskDefAccount string          `json:"taskDefinitionAccountId,omitempty"`
	// TaskCredentialsID and ExecutionCredentialsID name the task's role credentials
	// in BucketCredentials (the credentials themselves never travel in a TaskSpec):
	// the task role's are served to its containers, the execution role's are used
	// by dockerexec for secrets and registry authentication.
	TaskCredentialsID      string `json:"taskCredentialsId,omitempty"`
	ExecutionCredentialsID string `json:"executionCredentialsId,omitempty"`
}

// ContainerSpec is one container of a TaskSpec.
type ContainerSpec struct {
	Name         string            `json:"name"`
	Image        string            `json:"image"`
	CPU          int64             `json:"cpu,omitempty"`    // CPU shares
	Memory       int64             `json:"memory,omitempty"` // hard limit, MiB
	Essential    bool              `json:"essential"`
	Command      []string          `json:"command,omitempty"`
	EntryPoint   []string          `json:"entryPoint,omitempty"`
	Environment  map[string]string `json:"environment,omitempty"`
	Links        []string          `json:"links,omitempty"`
	PortMappings []PortMapping     `json:"portMappings,omitempty"`
	MountPoints  []MountPoint      `json:"mountPoints,omitempty"`
	VolumesFrom  []VolumeFrom      `json:"volumesFrom,omitempty"`
	DependsOn    []Dependency      `json:"dependsOn,omitempty"`
	StartTimeout int64             `json:"startTimeout,omitempty"` // seconds
	StopTimeout  int64             `json:"stopTimeout,omitempty"`  // seconds
	Privileged   bool              `json:"privileged,omitempty"`
	// DockerConfig holds the Docker Engine API JSON strings the control plane
	// serialised from task-definition features (PROTOCOL.md §2.7).
	DockerConfig DockerConfig `json:"dockerConfig"`
	// Secrets are environment variables whose values dockerexec fetches (from SSM
	// Parameter Store or Secrets Manager) just before the container is created.
	Secrets []Secret `json:"secrets,omitempty"`
	// RegistryAuth names the credentials of a private registry.
	RegistryAuth *RegistryAuth `json:"registryAuth,omitempty"`
	// HealthCheckType is "docker" when the container has a Docker health check
	// (ACS healthCheckType): only such containers' health is reported to TCS.
	HealthCheckType string `json:"healthCheckType,omitempty"`
	// RestartPolicy, when enabled, restarts the container in place when it exits.
	RestartPolicy *RestartPolicy `json:"restartPolicy,omitempty"`
}

// RestartPolicy is a container's restart policy (the real agent's 1.86 feature): an
// exited container is started again, in the same task and under the same record,
// unless its exit code is ignored, the task is meant to stop, or it ran for less than
// RestartAttemptPeriod seconds since its last start or restart.
type RestartPolicy struct {
	Enabled              bool  `json:"enabled"`
	IgnoredExitCodes     []int `json:"ignoredExitCodes,omitempty"`
	RestartAttemptPeriod int   `json:"restartAttemptPeriod,omitempty"` // seconds
}

// HealthCheckDocker is the HealthCheckType of a container with a Docker health check.
const HealthCheckDocker = "docker"

// Secret is one secret of a container: a reference, never a value.
type Secret struct {
	Name      string `json:"name"`      // the environment variable
	ValueFrom string `json:"valueFrom"` // SSM parameter name or ARN, Secrets Manager ARN[:json-key:version-stage:version-id]
	Provider  string `json:"provider"`  // ssm or asm
	Region    string `json:"region,omitempty"`
}

// Secret providers.
const (
	SecretProviderSSM = "ssm"
	SecretProviderASM = "asm"
)

// RegistryAuth is a container's private-registry authentication: a Secrets Manager
// secret holding {"username","password"}, read with the execution role.
type RegistryAuth struct {
	CredentialsParameter string `json:"credentialsParameter"`
	Region               string `json:"region,omitempty"`
}

// PortMapping asks for a container port to be published. HostPort 0 means the agent
// picks one.
type PortMapping struct {
	ContainerPort      int    `json:"containerPort,omitempty"`
	HostPort           int    `json:"hostPort,omitempty"`
	ContainerPortRange string `json:"containerPortRange,omitempty"`
	Protocol           string `json:"protocol,omitempty"` // tcp (default) or udp
}

// MountPoint mounts a task volume into a container.
type MountPoint struct {
	SourceVolume  string `json:"sourceVolume"`
	ContainerPath string `json:"containerPath"`
	ReadOnly      bool   `json:"readOnly,omitempty"`
}

// VolumeFrom mounts every volume of another container of the task.
type VolumeFrom struct {
	SourceContainer string `json:"sourceContainer"`
	ReadOnly        bool   `json:"readOnly,omitempty"`
}

// Dependency is an explicit dependsOn entry; Condition is START, COMPLETE, SUCCESS or
// HEALTHY.
type Dependency struct {
	ContainerName string `json:"containerName"`
	Condition     string `json:"condition"`
}

// DockerConfig carries JSON strings merged over the create call's Config and
// HostConfig.
type DockerConfig struct {
	Config     string `json:"config,omitempty"`
	HostConfig string `json:"hostConfig,omitempty"`
	Version    string `json:"version,omitempty"`
}

// VolumeSpec is a task volume. Type is "host" (default) or "docker"; a host volume
// with an empty SourcePath is an agent-managed scratch volume.
type VolumeSpec struct {
	Name       string            `json:"name"`
	Type       string            `json:"type,omitempty"`
	SourcePath string            `json:"sourcePath,omitempty"`
	Docker     *DockerVolumeSpec `json:"docker,omitempty"`
}

// DockerVolumeSpec is a Docker volume's configuration.
type DockerVolumeSpec struct {
	Scope         string            `json:"scope,omitempty"` // task or shared
	Autoprovision bool              `json:"autoprovision,omitempty"`
	Driver        string            `json:"driver,omitempty"`
	DriverOpts    map[string]string `json:"driverOpts,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
}

// NetworkBinding is a published port as Docker reports it.
type NetworkBinding struct {
	BindIP        string `json:"bindIP"`
	ContainerPort int    `json:"containerPort"`
	HostPort      int    `json:"hostPort"`
	Protocol      string `json:"protocol"` // tcp or udp
}

// ContainerEvent is a Docker event about a task's container (dockerexec → scheduler,
// stream ECS_EVENTS, subject EventSubject). Containers without the agent's labels
// produce no events.
type ContainerEvent struct {
	Type          string `json:"type"`
	TaskArn       string `json:"taskArn"`
	ContainerName string `json:"containerName"`
	DockerID      string `json:"dockerId"`
	// Action is the Docker action: create, start, die, stop, oom, destroy,
	// health_status.
	Action string `json:"action"`
	// Status is the container status the action implies (CREATED, RUNNING, STOPPED),
	// empty for actions that change no status (oom, health_status).
	Status    Status `json:"status,omitempty"`
	ExitCode  *int   `json:"exitCode,omitempty"`
	OOMKilled bool   `json:"oomKilled,omitempty"`
	Health    Health `json:"health,omitempty"`
	// TimeNano is Docker's event time, used with DockerID and Action as the event's
	// message ID.
	TimeNano int64 `json:"timeNano"`
}

// TaskStateChange is one report for the control plane (scheduler → reporter, stream
// ECS_OUTBOX, subject OutboxSubject): the task's backend status and the container
// changes batched since the last report. Reports of one task are published in order.
type TaskStateChange struct {
	Type               string                 `json:"type"`
	Cluster            string                 `json:"cluster"`
	TaskArn            string                 `json:"taskArn"`
	Status             string                 `json:"status"` // PENDING, RUNNING or STOPPED
	Reason             string                 `json:"reason"`
	Containers         []ContainerStateChange `json:"containers,omitempty"`
	PullStartedAt      *time.Time             `json:"pullStartedAt,omitempty"`
	PullStoppedAt      *time.Time             `json:"pullStoppedAt,omitempty"`
	ExecutionStoppedAt *time.Time             `json:"executionStoppedAt,omitempty"`
	// Seq numbers a task's reports from 1; with TaskArn it is the message ID.
	Seq uint64 `json:"seq"`
}

// ContainerStateChange is one container's change inside a TaskStateChange.
type ContainerStateChange struct {
	ContainerName   string           `json:"containerName"`
	RuntimeID       string           `json:"runtimeId,omitempty"`
	Status          string           `json:"status"` // PENDING, RUNNING or STOPPED
	ExitCode        *int             `json:"exitCode,omitempty"`
	Reason          string           `json:"reason,omitempty"`
	ImageDigest     string           `json:"imageDigest,omitempty"`
	NetworkBindings []NetworkBinding `json:"networkBindings,omitempty"`
}

// Registration is the instance's identity (session → everyone, bucket ecs_instance,
// key KeyRegistration).
type Registration struct {
	Type                 string    `json:"type"`
	Cluster              string    `json:"cluster"` // as configured
	ContainerInstanceArn string    `json:"containerInstanceArn"`
	Region               string    `json:"region"`
	AvailabilityZone     string    `json:"availabilityZone,omitempty"`
	RegisteredAt         time.Time `json:"registeredAt"`
	// AgentVersion is the version string the introspection API reports.
	AgentVersion string `json:"agentVersion,omitempty"`
	// TelemetryEndpoint is DiscoverPollEndpoint's telemetryEndpoint (TCS), stored by
	// the session, the one owner of the endpoint cache, whenever it learns a new one;
	// empty until then.
	TelemetryEndpoint string `json:"telemetryEndpoint,omitempty"`
	// Resources are what the instance was registered with: the scheduler admits
	// tasks against exactly these, so that it and the control plane agree.
	Resources HostResources `json:"resources"`
}

// HostResources are the totals an instance offers tasks (its registered
// totalResources, PROTOCOL.md §1.2).
type HostResources struct {
	CPU              int64 `json:"cpu"`       // CPU units: logical CPUs × 1024
	MemoryMiB        int64 `json:"memoryMiB"` // MemTotal minus ECS_RESERVED_MEMORY
	ReservedPorts    []int `json:"reservedPorts"`
	ReservedPortsUDP []int `json:"reservedPortsUdp"`
}

// TaskRecord is the scheduler's record of one task (bucket ecs_tasks, key
// TaskKey(arn)). The scheduler is its only writer; the reporter reads it to answer
// the introspection API.
type TaskRecord struct {
	Type          string   `json:"type"`
	Cluster       string   `json:"cluster"`
	Spec          TaskSpec `json:"spec"`
	DesiredStatus Status   `json:"desiredStatus"`
	KnownStatus   Status   `json:"knownStatus"`
	SentStatus    Status   `json:"sentStatus,omitempty"`
	Reason        string   `json:"reason,omitempty"`
	// StopCause says in words why the task is stopping, set once by what first
	// asked for the stop (the control plane, an essential container's exit, a
	// failure): for the log and an operator; only Reason is sent to the control plane.
	StopCause  string            `json:"stopCause,omitempty"`
	Containers []ContainerRecord `json:"containers"`
	// ReportSeq is the Seq of the last TaskStateChange published for this task.
	ReportSeq          uint64     `json:"reportSeq"`
	CreatedAt          time.Time  `json:"createdAt"`
	PullStartedAt      *time.Time `json:"pullStartedAt,omitempty"`
	PullStoppedAt      *time.Time `json:"pullStoppedAt,omitempty"`
	ExecutionStoppedAt *time.Time `json:"executionStoppedAt,omitempty"`
	StoppedAt          *time.Time `json:"stoppedAt,omitempty"`
	// HostPorts are the host ports the ledger granted this task, "tcp/8080" style.
	HostPorts []string `json:"hostPorts,omitempty"`
	// ResourcesReady is set once the task's resources (its Docker volumes, its
	// cgroup) are provisioned: no container is pulled or created before.
	ResourcesReady bool `json:"resourcesReady,omitempty"`
	// CgroupParent is the task cgroup its containers are created under, empty for
	// none.
	CgroupParent string `json:"cgroupParent,omitempty"`
	// Waiting says what the task waits for, for an operator ("waiting for 512 MiB
	// of memory", "pulling image x", "waiting for container db to be HEALTHY");
	// empty when it waits for nothing. Several reasons are joined with "; ".
	Waiting string `json:"waiting,omitempty"`
}

// ContainerRecord is one container of a TaskRecord.
type ContainerRecord struct {
	Name          string `json:"name"`
	Image         string `json:"image"`
	ImageID       string `json:"imageId,omitempty"`
	ImageDigest   string `json:"imageDigest,omitempty"`
	DockerID      string `json:"dockerId,omitempty"`
	DockerName    string `json:"dockerName,omitempty"`
	DesiredStatus Status `json:"desiredStatus"`
	KnownStatus   Status `json:"knownStatus"`
	SentStatus    Status `json:"sentStatus,omitempty"`
	ExitCode      *int   `json:"exitCode,omitempty"`
	Reason        string `json:"reason,omitempty"`
	Health        Health `json:"health,omitempty"`
	// HealthSince is when Health last changed (Docker's event time when known).
	HealthSince     *time.Time       `json:"healthSince,omitempty"`
	Essential       bool             `json:"essential"`
	NetworkBindings []NetworkBinding `json:"networkBindings,omitempty"`
	CreatedAt       *time.Time       `json:"createdAt,omitempty"`
	StartedAt       *time.Time       `json:"startedAt,omitempty"`
	FinishedAt      *time.Time       `json:"finishedAt,omitempty"`
	// PullProgress is how far the container's running pull has got
	// ("12.3MB of 40.1MB"), empty when none runs or nothing is known yet.
	PullProgress string `json:"pullProgress,omitempty"`
	// EndpointID is the container's ID in the task metadata endpoint's paths
	// (/v3/<id>, /v4/<id>): random, so that no container can guess another's.
	EndpointID string `json:"endpointId,omitempty"`
	// RestartCount and LastRestartAt are the restart policy's book: how many times
	// the container was restarted in place, and when last.
	RestartCount  int        `json:"restartCount,omitempty"`
	LastRestartAt *time.Time `json:"lastRestartAt,omitempty"`
	// RestartPending is set when an exit is to be answered with a start.
	RestartPending bool `json:"restartPending,omitempty"`
	// StopAgain is set when a STOPPED container was seen running again: it is
	// stopped once more. Restopped records that this happened, so it happens once.
	StopAgain bool `json:"stopAgain,omitempty"`
	Restopped bool `json:"restopped,omitempty"`
	// Stages are the container's steps with their times, oldest first (the last
	// MaxStages are kept): pull, create, start, run, stop.
	Stages []Stage `json:"stages,omitempty"`
}

// MaxStages bounds ContainerRecord.Stages (a container restarted by its policy
// adds a start and a run each time).
const MaxStages = 24

// Stage is one step of a container's life; EndedAt is nil while it lasts.
type Stage struct {
	Name      string     `json:"name"` // pull, create, start, run or stop
	StartedAt time.Time  `json:"startedAt"`
	EndedAt   *time.Time `json:"endedAt,omitempty"`
}

// RoleCredentials are one role's temporary credentials of a task (session →
// dockerexec and reporter, bucket BucketCredentials, key Token(CredentialsID),
// sealed with the Keyring). Never log a value of this type.
type RoleCredentials struct {
	Type            string    `json:"type"`
	TaskArn         string    `json:"taskArn"`
	RoleType        string    `json:"roleType"` // TaskApplication or TaskExecution
	CredentialsID   string    `json:"credentialsId"`
	RoleArn         string    `json:"roleArn,omitempty"`
	AccessKeyID     string    `json:"accessKeyId"`
	SecretAccessKey string    `json:"secretAccessKey"`
	SessionToken    string    `json:"sessionToken,omitempty"`
	Expiration      time.Time `json:"expiration"`
}

// Role types of RoleCredentials, as ACS names them.
const (
	RoleTypeTask      = "TaskApplication"
	RoleTypeExecution = "TaskExecution"
)
