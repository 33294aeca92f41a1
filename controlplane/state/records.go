package state

import (
	"encoding/json"
	"time"

	"github.com/ecs-agent/ecs-agent/controlplane/taskdef"
)

// Status values.
const (
	StatusActive       = "ACTIVE"
	StatusInactive     = "INACTIVE"
	StatusDraining     = "DRAINING"
	StatusProvisioning = "PROVISIONING"
	StatusPending      = "PENDING"
	StatusRunning      = "RUNNING"
	StatusStopped      = "STOPPED"
)

// Reasons the store writes into stoppedReason.
const (
	ReasonEssentialExited = "Essential container in task exited"
	// ReasonUserStopped is what ECS records for a StopTask that gives no reason.
	ReasonUserStopped  = "Task stopped by user"
	ReasonInstanceGone = "Container instance deregistered"
)

// Cluster is an ECS cluster.
type Cluster struct {
	Name      string    `json:"name"`
	Arn       string    `json:"arn"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
	Tags      []Tag     `json:"tags,omitempty"`
}

// Attribute is a container-instance attribute.
type Attribute struct {
	Name       string  `json:"name"`
	Value      *string `json:"value,omitempty"`
	TargetType string  `json:"targetType,omitempty"`
	TargetID   string  `json:"targetId,omitempty"`
}

// Resource is a registered or remaining resource, in the API's shape.
type Resource struct {
	Name           string   `json:"name"`
	Type           string   `json:"type"`
	IntegerValue   int64    `json:"integerValue,omitempty"`
	LongValue      int64    `json:"longValue,omitempty"`
	DoubleValue    float64  `json:"doubleValue,omitempty"`
	StringSetValue []string `json:"stringSetValue,omitempty"`
}

// MarshalJSON writes a resource as ECS does: a STRINGSET always has its
// stringSetValue, [] when empty (PORTS_UDP of most instances).
func (r Resource) MarshalJSON() ([]byte, error) {
	type plain Resource
	if r.Type != "STRINGSET" {
		return json.Marshal(plain(r))
	}
	set := r.StringSetValue
	if set == nil {
		set = []string{}
	}
	return json.Marshal(struct {
		plain
		StringSetValue []string `json:"stringSetValue"`
	}{plain(r), set})
}

// Instance is a container instance.
type Instance struct {
	Arn            string          `json:"arn"`
	ClusterArn     string          `json:"clusterArn"`
	EC2InstanceID  string          `json:"ec2InstanceId,omitempty"`
	Status         string          `json:"status"`
	Attributes     []Attribute     `json:"attributes"`
	Registered     []Resource      `json:"registered"`
	RegisteredAt   time.Time       `json:"registeredAt"`
	Version        int64           `json:"version"`
	AgentConnected bool            `json:"agentConnected"`
	VersionInfo    json.RawMessage `json:"versionInfo,omitempty"`
	Tags           []Tag           `json:"tags,omitempty"`
	// SeqNum is the last sequence number sent to this instance: payload seqNums and
	// manifest timelines share it, so they are ordered by one sequence.
	SeqNum int64 `json:"seqNum"`
}

// TaskDefinition is one revision of a family.
type TaskDefinition struct {
	Arn            string             `json:"arn"`
	Family         string             `json:"family"`
	Revision       int                `json:"revision"`
	Status         string             `json:"status"`
	RegisteredAt   time.Time          `json:"registeredAt"`
	DeregisteredAt *time.Time         `json:"deregisteredAt,omitempty"`
	Def            taskdef.Definition `json:"def"`
	// Raw is the registration input without tags, described back verbatim so members the
	// control plane does not interpret survive a round trip.
	Raw  json.RawMessage `json:"raw"`
	Tags []Tag           `json:"tags,omitempty"`
}

// NetworkBinding is a published port reported by the agent.
type NetworkBinding struct {
	BindIP             string `json:"bindIP,omitempty"`
	ContainerPort      *int64 `json:"containerPort,omitempty"`
	HostPort           *int64 `json:"hostPort,omitempty"`
	Protocol           string `json:"protocol,omitempty"`
	ContainerPortRange string `json:"containerPortRange,omitempty"`
	HostPortRange      string `json:"hostPortRange,omitempty"`
}

// Container is one container of a task.
type Container struct {
	Name            string           `json:"name"`
	Arn             string           `json:"arn"`
	Image           string           `json:"image"`
	ImageDigest     string           `json:"imageDigest,omitempty"`
	RuntimeID       string           `json:"runtimeId,omitempty"`
	LastStatus      string           `json:"lastStatus"`
	ExitCode        *int64           `json:"exitCode,omitempty"`
	Reason          string           `json:"reason,omitempty"`
	NetworkBindings []NetworkBinding `json:"networkBindings,omitempty"`
	Essential       bool             `json:"essential"`
	CPU             int64            `json:"cpu"`
	Memory          *int64           `json:"memory,omitempty"`
	MemoryReserve   *int64           `json:"memoryReservation,omitempty"`
	// HasHealthCheck says the task definition gives the container a health check;
	// HealthStatus is the latest the agent published over TCS (UNKNOWN until then).
	HasHealthCheck bool       `json:"hasHealthCheck,omitempty"`
	HealthStatus   string     `json:"healthStatus,omitempty"`
	HealthSince    *time.Time `json:"healthSince,omitempty"`
}

// Task is a task placed on an instance.
type Task struct {
	Arn               string               `json:"arn"`
	ClusterArn        string               `json:"clusterArn"`
	InstanceArn       string               `json:"instanceArn"`
	TaskDefinitionArn string               `json:"taskDefinitionArn"`
	Family            string               `json:"family"`
	Revision          int                  `json:"revision"`
	LastStatus        string               `json:"lastStatus"`
	DesiredStatus     string               `json:"desiredStatus"`
	StartedBy         string               `json:"startedBy,omitempty"`
	Group             string               `json:"group,omitempty"`
	LaunchType        string               `json:"launchType,omitempty"` // EC2 when empty
	Overrides         taskdef.Overrides    `json:"overrides"`
	Containers        []Container          `json:"containers"`
	Holds             taskdef.Requirements `json:"holds"`
	Held              bool                 `json:"held"` // resources held on the instance
	Version           int64                `json:"version"`
	StoppedReason     string               `json:"stoppedReason,omitempty"`
	StopCode          string               `json:"stopCode,omitempty"`
	StopRequested     bool                 `json:"stopRequested,omitempty"`
	Tags              []Tag                `json:"tags,omitempty"`
	// Delivered is the desired status the agent has acknowledged ("" before the first
	// ack); EverSent says whether the task was in any payload at all.
	Delivered string `json:"delivered,omitempty"`
	EverSent  bool   `json:"everSent,omitempty"`
	// TaskRoleArn and ExecutionRoleArn are the roles the task runs with (overrides win
	// over the definition's); each has a credentials ID that stays the same through
	// every refresh of its credentials. The keys themselves are never stored.
	TaskRoleArn            string `json:"taskRoleArn,omitempty"`
	ExecutionRoleArn       string `json:"executionRoleArn,omitempty"`
	TaskCredentialsID      string `json:"taskCredentialsId,omitempty"`
	ExecutionCredentialsID string `json:"executionCredentialsId,omitempty"`

	CreatedAt          time.Time  `json:"createdAt"`
	PullStartedAt      *time.Time `json:"pullStartedAt,omitempty"`
	PullStoppedAt      *time.Time `json:"pullStoppedAt,omitempty"`
	StartedAt          *time.Time `json:"startedAt,omitempty"`
	StoppingAt         *time.Time `json:"stoppingAt,omitempty"`
	StoppedAt          *time.Time `json:"stoppedAt,omitempty"`
	ExecutionStoppedAt *time.Time `json:"executionStoppedAt,omitempty"`
	ConnectivityAt     *time.Time `json:"connectivityAt,omitempty"`
}

// Failure is an entry of an API `failures` list.
type Failure struct {
	Arn    string `json:"arn,omitempty"`
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// statusRank orders task and container statuses so reports only move forward.
func statusRank(s string) int {
	switch s {
	case StatusProvisioning:
		return 0
	case StatusPending:
		return 1
	case "ACTIVATING":
		return 2
	case StatusRunning:
		return 3
	case "DEACTIVATING", "STOPPING", "DEPROVISIONING":
		return 4
	case StatusStopped:
		return 5
	}
	return -1
}

// clone deep-copies a record so callers never share memory with the store. Records are
// plain data (strings, numbers, slices, maps, times), for which encoding/json cannot
// fail; should that ever change, the shallow copy is returned rather than nothing.
func clone[T any](v T) T {
	raw, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out T
	if err := json.Unmarshal(raw, &out); err != nil {
		return v
	}
	return out
}
