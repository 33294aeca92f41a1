package taskdef

// Definition is the RegisterTaskDefinition input, as far as the control plane reads it.
// Fields it does not read are still kept verbatim by the store and described back.
type Definition struct {
	Family                  string                `json:"family"`
	ContainerDefinitions    []ContainerDefinition `json:"containerDefinitions"`
	Volumes                 []Volume              `json:"volumes,omitempty"`
	NetworkMode             string                `json:"networkMode,omitempty"`
	CPU                     string                `json:"cpu,omitempty"`
	Memory                  string                `json:"memory,omitempty"`
	PidMode                 string                `json:"pidMode,omitempty"`
	IpcMode                 string                `json:"ipcMode,omitempty"`
	TaskRoleArn             string                `json:"taskRoleArn,omitempty"`
	ExecutionRoleArn        string                `json:"executionRoleArn,omitempty"`
	RequiresCompatibilities []string              `json:"requiresCompatibilities,omitempty"`
	PlacementConstraints    []PlacementConstraint `json:"placementConstraints,omitempty"`
}

// PlacementConstraint is a placement constraint of a task definition or a RunTask
// request; the placement package checks and evaluates it.
type PlacementConstraint struct {
	Type       string `json:"type"`
	Expression string `json:"expression,omitempty"`
}

// ContainerDefinition is one container of a task definition.
type ContainerDefinition struct {
	Name                   string            `json:"name"`
	Image                  string            `json:"image"`
	CPU                    int64             `json:"cpu,omitempty"`
	Memory                 *int64            `json:"memory,omitempty"`
	MemoryReservation      *int64            `json:"memoryReservation,omitempty"`
	Essential              *bool             `json:"essential,omitempty"`
	Command                []string          `json:"command,omitempty"`
	EntryPoint             []string          `json:"entryPoint,omitempty"`
	Environment            []KeyValue        `json:"environment,omitempty"`
	Links                  []string          `json:"links,omitempty"`
	PortMappings           []PortMapping     `json:"portMappings,omitempty"`
	MountPoints            []MountPoint      `json:"mountPoints,omitempty"`
	VolumesFrom            []VolumeFrom      `json:"volumesFrom,omitempty"`
	DependsOn              []Dependency      `json:"dependsOn,omitempty"`
	StartTimeout           *int64            `json:"startTimeout,omitempty"`
	StopTimeout            *int64            `json:"stopTimeout,omitempty"`
	WorkingDirectory       string            `json:"workingDirectory,omitempty"`
	Hostname               string            `json:"hostname,omitempty"`
	User                   string            `json:"user,omitempty"`
	DockerLabels           map[string]string `json:"dockerLabels,omitempty"`
	HealthCheck            *HealthCheck      `json:"healthCheck,omitempty"`
	Ulimits                []Ulimit          `json:"ulimits,omitempty"`
	LogConfiguration       *LogConfiguration `json:"logConfiguration,omitempty"`
	ExtraHosts             []HostEntry       `json:"extraHosts,omitempty"`
	ReadonlyRootFilesystem *bool             `json:"readonlyRootFilesystem,omitempty"`
	Privileged             *bool             `json:"privileged,omitempty"`
	LinuxParameters        *LinuxParameters  `json:"linuxParameters,omitempty"`
	DNSServers             []string          `json:"dnsServers,omitempty"`
	DNSSearchDomains       []string          `json:"dnsSearchDomains,omitempty"`
	DisableNetworking      *bool             `json:"disableNetworking,omitempty"`
	Interactive            *bool             `json:"interactive,omitempty"`
	PseudoTerminal         *bool             `json:"pseudoTerminal,omitempty"`
	SecurityOptions        []string          `json:"dockerSecurityOptions,omitempty"`
	SystemControls         []SystemControl   `json:"systemControls,omitempty"`
	// Secrets and RepositoryCredentials are read by the agent with the task's execution
	// role, so a definition with either must name one.
	Secrets               []Secret               `json:"secrets,omitempty"`
	RepositoryCredentials *RepositoryCredentials `json:"repositoryCredentials,omitempty"`
	// RestartPolicy restarts the container in place when it exits.
	RestartPolicy *RestartPolicy `json:"restartPolicy,omitempty"`
}

// RestartPolicy is a container's restart policy (ContainerRestartPolicy):
// restartAttemptPeriod is in seconds, 60 to 1800, 300 when absent.
type RestartPolicy struct {
	Enabled              *bool `json:"enabled"`
	IgnoredExitCodes     []int `json:"ignoredExitCodes,omitempty"`
	RestartAttemptPeriod *int  `json:"restartAttemptPeriod,omitempty"`
}

// Secret is an environment variable whose value the agent fetches from SSM Parameter
// Store or Secrets Manager (valueFrom names the parameter or the secret).
type Secret struct {
	Name      string `json:"name"`
	ValueFrom string `json:"valueFrom"`
}

// RepositoryCredentials names the Secrets Manager secret holding a private registry's
// {"username","password"}.
type RepositoryCredentials struct {
	CredentialsParameter string `json:"credentialsParameter"`
}

// IsEssential applies the API default: a container is essential unless it says not.
func (c ContainerDefinition) IsEssential() bool { return c.Essential == nil || *c.Essential }

// KeyValue is an environment entry.
type KeyValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// PortMapping publishes a container port.
type PortMapping struct {
	ContainerPort      *int64 `json:"containerPort,omitempty"`
	HostPort           *int64 `json:"hostPort,omitempty"`
	Protocol           string `json:"protocol,omitempty"`
	ContainerPortRange string `json:"containerPortRange,omitempty"`
	Name               string `json:"name,omitempty"`
}

// MountPoint mounts a task volume.
type MountPoint struct {
	SourceVolume  string `json:"sourceVolume"`
	ContainerPath string `json:"containerPath"`
	ReadOnly      bool   `json:"readOnly,omitempty"`
}

// VolumeFrom mounts the volumes of another container.
type VolumeFrom struct {
	SourceContainer string `json:"sourceContainer"`
	ReadOnly        bool   `json:"readOnly,omitempty"`
}

// Dependency is a dependsOn entry.
type Dependency struct {
	ContainerName string `json:"containerName"`
	Condition     string `json:"condition"`
}

// HealthCheck is the container health check; durations are in seconds.
type HealthCheck struct {
	Command     []string `json:"command"`
	Interval    *int64   `json:"interval,omitempty"`
	Timeout     *int64   `json:"timeout,omitempty"`
	Retries     *int64   `json:"retries,omitempty"`
	StartPeriod *int64   `json:"startPeriod,omitempty"`
}

// Ulimit is a resource limit.
type Ulimit struct {
	Name      string `json:"name"`
	SoftLimit int64  `json:"softLimit"`
	HardLimit int64  `json:"hardLimit"`
}

// LogConfiguration selects a Docker log driver.
type LogConfiguration struct {
	LogDriver string            `json:"logDriver"`
	Options   map[string]string `json:"options,omitempty"`
}

// HostEntry is an /etc/hosts line.
type HostEntry struct {
	Hostname  string `json:"hostname"`
	IPAddress string `json:"ipAddress"`
}

// SystemControl is a namespaced kernel parameter.
type SystemControl struct {
	Namespace string `json:"namespace"`
	Value     string `json:"value"`
}

// LinuxParameters are Linux-specific container options.
type LinuxParameters struct {
	Capabilities       *Capabilities `json:"capabilities,omitempty"`
	Devices            []Device      `json:"devices,omitempty"`
	InitProcessEnabled *bool         `json:"initProcessEnabled,omitempty"`
	SharedMemorySize   *int64        `json:"sharedMemorySize,omitempty"`
	Tmpfs              []Tmpfs       `json:"tmpfs,omitempty"`
}

// Capabilities adds and drops kernel capabilities.
type Capabilities struct {
	Add  []string `json:"add,omitempty"`
	Drop []string `json:"drop,omitempty"`
}

// Device maps a host device.
type Device struct {
	HostPath      string   `json:"hostPath"`
	ContainerPath string   `json:"containerPath,omitempty"`
	Permissions   []string `json:"permissions,omitempty"`
}

// Tmpfs is a tmpfs mount; size in MiB.
type Tmpfs struct {
	ContainerPath string   `json:"containerPath"`
	Size          int64    `json:"size"`
	MountOptions  []string `json:"mountOptions,omitempty"`
}

// Volume is a task volume.
type Volume struct {
	Name                      string                     `json:"name"`
	Host                      *HostVolume                `json:"host,omitempty"`
	DockerVolumeConfiguration *DockerVolumeConfiguration `json:"dockerVolumeConfiguration,omitempty"`
}

// HostVolume names a host path; empty or absent means a scratch volume.
type HostVolume struct {
	SourcePath string `json:"sourcePath,omitempty"`
}

// DockerVolumeConfiguration configures a Docker volume.
type DockerVolumeConfiguration struct {
	Scope         string            `json:"scope,omitempty"`
	Autoprovision *bool             `json:"autoprovision,omitempty"`
	Driver        string            `json:"driver,omitempty"`
	DriverOpts    map[string]string `json:"driverOpts,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
}

// Overrides is the RunTask/StartTask `overrides` member.
type Overrides struct {
	ContainerOverrides []ContainerOverride `json:"containerOverrides,omitempty"`
	CPU                string              `json:"cpu,omitempty"`
	Memory             string              `json:"memory,omitempty"`
	TaskRoleArn        string              `json:"taskRoleArn,omitempty"`
	ExecutionRoleArn   string              `json:"executionRoleArn,omitempty"`
}

// ContainerOverride changes one container for one task.
type ContainerOverride struct {
	Name              string     `json:"name,omitempty"`
	Command           []string   `json:"command,omitempty"`
	Environment       []KeyValue `json:"environment,omitempty"`
	CPU               *int64     `json:"cpu,omitempty"`
	Memory            *int64     `json:"memory,omitempty"`
	MemoryReservation *int64     `json:"memoryReservation,omitempty"`
}

// Roles returns the task role and execution role ARNs a task of d runs with: the
// overrides' win over the definition's.
func (d Definition) Roles(o Overrides) (taskRole, executionRole string) {
	return firstNonEmpty(o.TaskRoleArn, d.TaskRoleArn), firstNonEmpty(o.ExecutionRoleArn, d.ExecutionRoleArn)
}

// For returns the override of the named container, if any.
func (o Overrides) For(name string) *ContainerOverride {
	for i := range o.ContainerOverrides {
		if o.ContainerOverrides[i].Name == name {
			return &o.ContainerOverrides[i]
		}
	}
	return nil
}
