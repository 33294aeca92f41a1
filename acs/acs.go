// Package acs holds the wire types of the Agent Communication Service websocket
// (PROTOCOL.md §2, model acs-api-2.json): one definition of each frame, imported by the
// agent's session (client) and the local control plane (server).
//
// Every text frame carries one envelope: {"type":"<TypeName>","message":{…}}.
package acs

import (
	"encoding/json"
	"fmt"
)

// Message type names, as they appear in the envelope's "type".
const (
	TypeHeartbeatMessage        = "HeartbeatMessage"
	TypeHeartbeatAckRequest     = "HeartbeatAckRequest"
	TypePayloadMessage          = "PayloadMessage"
	TypeAckRequest              = "AckRequest"
	TypeNackRequest             = "NackRequest"
	TypeCloseMessage            = "CloseMessage"
	TypeErrorMessage            = "ErrorMessage"
	TypeTaskManifestMessage     = "TaskManifestMessage"
	TypeTaskStopVerificationMsg = "TaskStopVerificationMessage"
	TypeTaskStopVerificationAck = "TaskStopVerificationAck"
	TypeIAMRoleCredentialsMsg   = "IAMRoleCredentialsMessage"
	TypeIAMRoleCredentialsAck   = "IAMRoleCredentialsAckRequest"
	TypeStageUpdateMessage      = "StageUpdateMessage"
	TypePerformUpdateMessage    = "PerformUpdateMessage"

	// Errors a server may answer the upgrade with (and the agent recognises).
	TypeInactiveInstanceException = "InactiveInstanceException"
	TypeServerException           = "ServerException"
	TypeBadRequestException       = "BadRequestException"
	TypeInvalidClusterException   = "InvalidClusterException"
	TypeInvalidInstanceException  = "InvalidInstanceException"
	TypeAccessDeniedException     = "AccessDeniedException"
)

// Envelope is one websocket frame.
type Envelope struct {
	Type    string          `json:"type"`
	Message json.RawMessage `json:"message"`
}

// Encode wraps a message in its envelope.
func Encode(typ string, msg any) ([]byte, error) {
	raw, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", typ, err)
	}
	return json.Marshal(Envelope{Type: typ, Message: raw})
}

// Decode splits a frame into its type and raw message.
func Decode(frame []byte) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(frame, &e); err != nil {
		return e, fmt.Errorf("decoding ACS frame: %w", err)
	}
	if e.Type == "" {
		return e, fmt.Errorf("decoding ACS frame: no type")
	}
	return e, nil
}

// HeartbeatMessage is sent by the server at least every ~50 s.
type HeartbeatMessage struct {
	Healthy   bool   `json:"healthy"`
	MessageID string `json:"messageId"`
}

// HeartbeatAckRequest answers a HeartbeatMessage.
type HeartbeatAckRequest struct {
	MessageID string `json:"messageId"`
}

// TaskIdentifier names one task in a manifest or a stop verification.
type TaskIdentifier struct {
	TaskArn        string `json:"taskArn"`
	TaskClusterArn string `json:"taskClusterArn,omitempty"`
	DesiredStatus  string `json:"desiredStatus,omitempty"`
}

// TaskManifestMessage lists every task the control plane has placed on the instance
// with its desired status (PROTOCOL.md §2.6). Timeline acts as its sequence number: a
// manifest whose timeline does not exceed every payload seqNum and manifest timeline
// already seen is stale and dropped without an ack.
type TaskManifestMessage struct {
	ClusterArn           string           `json:"clusterArn"`
	ContainerInstanceArn string           `json:"containerInstanceArn"`
	MessageID            string           `json:"messageId"`
	Tasks                []TaskIdentifier `json:"tasks"`
	GeneratedAt          int64            `json:"generatedAt,omitempty"` // epoch milliseconds
	Timeline             int64            `json:"timeline"`
}

// TaskStopVerificationMessage asks the control plane whether tasks the agent runs
// but the manifest did not list as RUNNING should be stopped. MessageID is the
// manifest's.
type TaskStopVerificationMessage struct {
	MessageID      string           `json:"messageId"`
	StopCandidates []TaskIdentifier `json:"stopCandidates"`
}

// TaskStopVerificationAck names the candidates to stop. The agent honours it only
// when MessageID is that of the last manifest it accepted.
type TaskStopVerificationAck struct {
	GeneratedAt int64            `json:"generatedAt,omitempty"`
	MessageID   string           `json:"messageId"`
	StopTasks   []TaskIdentifier `json:"stopTasks"`
}

// Role types of IAMRoleCredentialsMessage.
const (
	RoleTypeTaskApplication = "TaskApplication"
	RoleTypeTaskExecution   = "TaskExecution"
)

// IAMRoleCredentials are temporary credentials of a task or execution role.
// Expiration is RFC 3339. Never log a value of this type.
type IAMRoleCredentials struct {
	CredentialsID   string `json:"credentialsId"`
	RoleArn         string `json:"roleArn,omitempty"`
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	SessionToken    string `json:"sessionToken,omitempty"`
	Expiration      string `json:"expiration,omitempty"`
	CredentialScope string `json:"credentialScope,omitempty"`
}

// IAMRoleCredentialsMessage refreshes one role's credentials of a task.
type IAMRoleCredentialsMessage struct {
	MessageID       string             `json:"messageId"`
	TaskArn         string             `json:"taskArn"`
	TaskClusterArn  string             `json:"taskClusterArn,omitempty"`
	RoleType        string             `json:"roleType"`
	RoleCredentials IAMRoleCredentials `json:"roleCredentials"`
}

// IAMRoleCredentialsAckRequest acknowledges stored credentials (of a payload's task
// or of an IAMRoleCredentialsMessage; MessageID is that message's).
type IAMRoleCredentialsAckRequest struct {
	MessageID     string `json:"messageId"`
	Expiration    string `json:"expiration,omitempty"`
	CredentialsID string `json:"credentialsId"`
}

// PayloadMessage delivers tasks to an instance.
type PayloadMessage struct {
	ClusterArn           string `json:"clusterArn"`
	ContainerInstanceArn string `json:"containerInstanceArn"`
	MessageID            string `json:"messageId"`
	Tasks                []Task `json:"tasks"`
	SeqNum               int64  `json:"seqNum,omitempty"`
	GeneratedAt          int64  `json:"generatedAt,omitempty"` // epoch milliseconds
	Timeline             *int64 `json:"timeline,omitempty"`
}

// AckRequest acknowledges a PayloadMessage (or a manifest).
type AckRequest struct {
	Cluster           string `json:"cluster"`
	ContainerInstance string `json:"containerInstance"`
	MessageID         string `json:"messageId"`
}

// NackRequest refuses a message (updates disabled).
type NackRequest struct {
	Cluster           string `json:"cluster"`
	ContainerInstance string `json:"containerInstance"`
	MessageID         string `json:"messageId"`
	Reason            string `json:"reason"`
}

// UpdateMessage is the part of StageUpdateMessage and PerformUpdateMessage an agent
// that does not update itself needs to refuse it (NackRequest).
type UpdateMessage struct {
	ClusterArn           string      `json:"clusterArn"`
	ContainerInstanceArn string      `json:"containerInstanceArn"`
	MessageID            string      `json:"messageId"`
	UpdateInfo           *UpdateInfo `json:"updateInfo,omitempty"`
}

// UpdateInfo names an agent update.
type UpdateInfo struct {
	Location  string `json:"location,omitempty"`
	Signature string `json:"signature,omitempty"`
}

// CloseMessage, ErrorMessage and the exception types carry one message text.
type CloseMessage struct {
	Message string `json:"message"`
}

// ErrorMessage reports a server-side error.
type ErrorMessage struct {
	Message string `json:"message"`
}

// ExceptionMessage is the body of an exception frame and of a refused upgrade:
// {"type":"InactiveInstanceException","message":{"message":"…"}}.
type ExceptionMessage struct {
	Message string `json:"message"`
}

// Task is a task inside a PayloadMessage.
type Task struct {
	Arn                     string      `json:"arn"`
	TaskClusterArn          string      `json:"taskClusterArn,omitempty"`
	Family                  string      `json:"family"`
	Version                 string      `json:"version"`
	DesiredStatus           string      `json:"desiredStatus"`
	Containers              []Container `json:"containers"`
	Volumes                 []Volume    `json:"volumes"`
	Overrides               string      `json:"overrides,omitempty"`
	NetworkMode             string      `json:"networkMode,omitempty"`
	CPU                     *float64    `json:"cpu,omitempty"`
	Memory                  *int64      `json:"memory,omitempty"`
	PidMode                 string      `json:"pidMode,omitempty"`
	IpcMode                 string      `json:"ipcMode,omitempty"`
	LaunchType              string      `json:"launchType,omitempty"`
	ServiceName             string      `json:"serviceName,omitempty"`
	Group                   string      `json:"group,omitempty"`
	Zone                    string      `json:"zone,omitempty"`
	TaskDefinitionAccountID string      `json:"taskDefinitionAccountId,omitempty"`
	// RoleCredentials and ExecutionRoleCredentials are the task role's and the
	// execution role's credentials; each is acked with an IAMRoleCredentialsAckRequest
	// naming the payload's messageId.
	RoleCredentials          *IAMRoleCredentials `json:"roleCredentials,omitempty"`
	ExecutionRoleCredentials *IAMRoleCredentials `json:"executionRoleCredentials,omitempty"`
}

// Container is a container inside a Task.
type Container struct {
	Name            string                `json:"name"`
	Image           string                `json:"image"`
	CPU             int64                 `json:"cpu"`
	Memory          int64                 `json:"memory,omitempty"`
	Essential       bool                  `json:"essential"`
	Command         []string              `json:"command"`
	EntryPoint      []string              `json:"entryPoint,omitempty"`
	Environment     map[string]string     `json:"environment"`
	Links           []string              `json:"links"`
	PortMappings    []PortMapping         `json:"portMappings"`
	MountPoints     []MountPoint          `json:"mountPoints"`
	VolumesFrom     []VolumeFrom          `json:"volumesFrom"`
	DependsOn       []ContainerDependency `json:"dependsOn,omitempty"`
	StartTimeout    *int64                `json:"startTimeout,omitempty"`
	StopTimeout     *int64                `json:"stopTimeout,omitempty"`
	Privileged      *bool                 `json:"privileged,omitempty"`
	LinuxParameters *LinuxParameters      `json:"linuxParameters,omitempty"`
	HealthCheckType string                `json:"healthCheckType,omitempty"`
	DockerConfig    DockerConfig          `json:"dockerConfig"`
	Overrides       string                `json:"overrides,omitempty"`
	ContainerArn    string                `json:"containerArn,omitempty"`
	// Secrets are environment variables whose values the agent fetches with the
	// execution role; RegistryAuthentication says how to log in to the image's
	// registry.
	Secrets                []Secret                    `json:"secrets,omitempty"`
	RegistryAuthentication *RegistryAuthenticationData `json:"registryAuthentication,omitempty"`
	// RestartPolicy restarts the container in place when it exits.
	RestartPolicy *RestartPolicy `json:"restartPolicy,omitempty"`
}

// RestartPolicy is a container's restart policy (the RestartPolicy shape):
// restartAttemptPeriod is in seconds.
type RestartPolicy struct {
	Enabled              bool  `json:"enabled"`
	IgnoredExitCodes     []int `json:"ignoredExitCodes,omitempty"`
	RestartAttemptPeriod *int  `json:"restartAttemptPeriod,omitempty"`
}

// Secret is one secret of a container. Provider is "ssm" or "asm"; Type is
// "ENVIRONMENT_VARIABLE" (the only one this agent handles) or another target.
type Secret struct {
	Name          string `json:"name"`
	ValueFrom     string `json:"valueFrom"`
	ContainerPath string `json:"containerPath,omitempty"`
	Type          string `json:"type,omitempty"`
	Region        string `json:"region,omitempty"`
	Provider      string `json:"provider,omitempty"`
	Target        string `json:"target,omitempty"`
}

// Secret types, providers and registry authentication types.
const (
	SecretTypeEnv     = "ENVIRONMENT_VARIABLE"
	SecretProviderSSM = "ssm"
	SecretProviderASM = "asm"
	AuthTypeASM       = "asm"
	AuthTypeECR       = "ecr"
)

// RegistryAuthenticationData is a container's registry authentication: "asm" (a
// Secrets Manager secret of {"username","password"}) or "ecr".
type RegistryAuthenticationData struct {
	Type        string       `json:"type"`
	ECRAuthData *ECRAuthData `json:"ecrAuthData,omitempty"`
	ASMAuthData *ASMAuthData `json:"asmAuthData,omitempty"`
}

// ECRAuthData names an ECR registry.
type ECRAuthData struct {
	RegistryID       string `json:"registryId,omitempty"`
	Region           string `json:"region,omitempty"`
	EndpointOverride string `json:"endpointOverride,omitempty"`
	UseExecutionRole bool   `json:"useExecutionRole,omitempty"`
}

// ASMAuthData names the Secrets Manager secret of a private registry's credentials.
type ASMAuthData struct {
	CredentialsParameter string `json:"credentialsParameter"`
	Region               string `json:"region,omitempty"`
}

// PortMapping is a port to publish.
type PortMapping struct {
	ContainerPort      *int64 `json:"containerPort,omitempty"`
	HostPort           *int64 `json:"hostPort,omitempty"`
	ContainerPortRange string `json:"containerPortRange,omitempty"`
	Protocol           string `json:"protocol,omitempty"` // tcp or udp
}

// MountPoint mounts a task volume.
type MountPoint struct {
	SourceVolume  string `json:"sourceVolume"`
	ContainerPath string `json:"containerPath"`
	ReadOnly      bool   `json:"readOnly,omitempty"`
}

// VolumeFrom mounts another container's volumes.
type VolumeFrom struct {
	SourceContainer string `json:"sourceContainer"`
	ReadOnly        bool   `json:"readOnly,omitempty"`
}

// ContainerDependency is a dependsOn entry.
type ContainerDependency struct {
	ContainerName string `json:"containerName"`
	Condition     string `json:"condition"`
}

// DockerConfig carries Docker Engine API JSON strings (PROTOCOL.md §2.7).
type DockerConfig struct {
	Config     *string `json:"config,omitempty"`
	HostConfig *string `json:"hostConfig,omitempty"`
	Version    *string `json:"version,omitempty"`
}

// LinuxParameters is the subset of Linux parameters the payload carries.
type LinuxParameters struct {
	Capabilities       *KernelCapabilities `json:"capabilities,omitempty"`
	Devices            []Device            `json:"devices,omitempty"`
	InitProcessEnabled *bool               `json:"initProcessEnabled,omitempty"`
	SharedMemorySize   *int64              `json:"sharedMemorySize,omitempty"`
}

// KernelCapabilities adds and drops capabilities.
type KernelCapabilities struct {
	Add  []string `json:"add,omitempty"`
	Drop []string `json:"drop,omitempty"`
}

// Device is a host device mapped into a container.
type Device struct {
	HostPath      string   `json:"hostPath"`
	ContainerPath string   `json:"containerPath,omitempty"`
	Permissions   []string `json:"permissions,omitempty"`
}

// Volume is a task volume. Type is "host" (default) or "docker".
type Volume struct {
	Name                      string                     `json:"name"`
	Type                      string                     `json:"type,omitempty"`
	Host                      *HostVolumeProperties      `json:"host,omitempty"`
	DockerVolumeConfiguration *DockerVolumeConfiguration `json:"dockerVolumeConfiguration,omitempty"`
}

// HostVolumeProperties names a host path; empty means a scratch volume.
type HostVolumeProperties struct {
	SourcePath string `json:"sourcePath,omitempty"`
}

// DockerVolumeConfiguration configures a Docker volume.
type DockerVolumeConfiguration struct {
	Scope         string            `json:"scope,omitempty"` // task or shared
	Autoprovision *bool             `json:"autoprovision,omitempty"`
	Driver        string            `json:"driver,omitempty"`
	DriverOpts    map[string]string `json:"driverOpts,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
}
