// Package tcs holds the wire types of the telemetry websocket (TCS, PROTOCOL.md §3,
// model tcs-api-2.json): one definition of each frame, imported by the agent's
// telemetry client and the local control plane. Frames use the ACS envelope
// ({"type":"<TypeName>","message":{…}}): acs.Encode and acs.Decode.
package tcs

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Message type names.
const (
	TypePublishMetricsRequest        = "PublishMetricsRequest"
	TypePublishHealthRequest         = "PublishHealthRequest"
	TypePublishInstanceStatusRequest = "PublishInstanceStatusRequest"
	TypeStartTelemetrySession        = "StartTelemetrySessionRequest"
	TypeHeartbeatMessage             = "HeartbeatMessage"
	TypeAckPublishMetric             = "AckPublishMetric"
	TypeAckPublishHealth             = "AckPublishHealth"
	TypeAckPublishInstanceStatus     = "AckPublishInstanceStatus"
	TypeStopTelemetrySessionMessage  = "StopTelemetrySessionMessage"
	TypeServerException              = "ServerException"
	TypeBadRequestException          = "BadRequestException"
	TypeInvalidParameterException    = "InvalidParameterException"
	TypeResourceValidationException  = "ResourceValidationException"
)

// Health statuses of a container or a task.
const (
	HealthHealthy   = "HEALTHY"
	HealthUnhealthy = "UNHEALTHY"
	HealthUnknown   = "UNKNOWN"
)

// Time is a timestamp as TCS carries it: seconds since the epoch, a JSON number
// with a fraction. It also reads an RFC 3339 string.
type Time struct{ time.Time }

// At wraps t.
func At(t time.Time) *Time { return &Time{t} }

// MarshalJSON writes epoch seconds with millisecond precision.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)), nil
}

// UnmarshalJSON reads epoch seconds (a number) or an RFC 3339 string.
func (t *Time) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("timestamp %q: %w", s, err)
		}
		t.Time = v
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("timestamp %s is not epoch seconds", b)
	}
	sec, frac := math.Modf(f)
	t.Time = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	return nil
}

// HeartbeatMessage is the server's keep-alive.
type HeartbeatMessage struct {
	Healthy bool `json:"healthy"`
}

// Ack is the body of AckPublishMetric, AckPublishHealth and AckPublishInstanceStatus.
type Ack struct {
	Message string `json:"message,omitempty"`
}

// StopTelemetrySessionMessage asks the agent to close the socket.
type StopTelemetrySessionMessage struct {
	Message string `json:"message,omitempty"`
}

// ErrorMessage is the body of the exception frames.
type ErrorMessage struct {
	Message string `json:"message"`
}

// PublishMetricsRequest carries the tasks' CPU and memory statistics.
type PublishMetricsRequest struct {
	Metadata        *MetricsMetadata `json:"metadata"`
	InstanceMetrics *InstanceMetrics `json:"instanceMetrics,omitempty"`
	TaskMetrics     []TaskMetric     `json:"taskMetrics"`
	Timestamp       *Time            `json:"timestamp"`
}

// MetricsMetadata names the sender. Idle is true when no task has metrics; Fin
// marks the last request of one publication.
type MetricsMetadata struct {
	Cluster           string `json:"cluster"`
	ContainerInstance string `json:"containerInstance"`
	MessageID         string `json:"messageId,omitempty"`
	Idle              bool   `json:"idle"`
	Fin               bool   `json:"fin"`
}

// InstanceMetrics is the instance's own (unused by this agent beyond its shape).
type InstanceMetrics struct {
	Storage json.RawMessage `json:"storage,omitempty"`
}

// TaskMetric is one task's metrics.
type TaskMetric struct {
	TaskArn               string            `json:"taskArn"`
	ClusterArn            string            `json:"clusterArn,omitempty"`
	TaskDefinitionFamily  string            `json:"taskDefinitionFamily"`
	TaskDefinitionVersion string            `json:"taskDefinitionVersion"`
	ContainerMetrics      []ContainerMetric `json:"containerMetrics"`
}

// ContainerMetric is one container's statistics over the publication interval, one
// sample per stats reading: CPU in percent of one vCPU (100 is one core busy),
// memory in MiB.
type ContainerMetric struct {
	ContainerArn    string           `json:"containerArn,omitempty"`
	ContainerName   string           `json:"containerName"`
	CPUStatsSet     *CWStatsSet      `json:"cpuStatsSet"`
	MemoryStatsSet  *CWStatsSet      `json:"memoryStatsSet"`
	NetworkStatsSet *NetworkStatsSet `json:"networkStatsSet,omitempty"`
	StorageStatsSet *StorageStatsSet `json:"storageStatsSet,omitempty"`
	RestartStatsSet *RestartStatsSet `json:"restartStatsSet,omitempty"`
}

// CWStatsSet is a CloudWatch statistic set.
type CWStatsSet struct {
	Min         float64 `json:"min"`
	Max         float64 `json:"max"`
	SampleCount int64   `json:"sampleCount"`
	Sum         float64 `json:"sum"`
}

// ULongStatsSet is a statistic set of unsigned counters.
type ULongStatsSet struct {
	Min         uint64 `json:"min"`
	Max         uint64 `json:"max"`
	SampleCount uint64 `json:"sampleCount"`
	Sum         uint64 `json:"sum"`
	OverflowMin uint64 `json:"overflowMin"`
	OverflowMax uint64 `json:"overflowMax"`
	OverflowSum uint64 `json:"overflowSum"`
}

// NetworkStatsSet is a container's network statistics.
type NetworkStatsSet struct {
	RxBytes          *ULongStatsSet `json:"rxBytes,omitempty"`
	RxDropped        *ULongStatsSet `json:"rxDropped,omitempty"`
	RxErrors         *ULongStatsSet `json:"rxErrors,omitempty"`
	RxPackets        *ULongStatsSet `json:"rxPackets,omitempty"`
	TxBytes          *ULongStatsSet `json:"txBytes,omitempty"`
	TxDropped        *ULongStatsSet `json:"txDropped,omitempty"`
	TxErrors         *ULongStatsSet `json:"txErrors,omitempty"`
	TxPackets        *ULongStatsSet `json:"txPackets,omitempty"`
	RxBytesPerSecond *CWStatsSet    `json:"rxBytesPerSecond,omitempty"`
	TxBytesPerSecond *CWStatsSet    `json:"txBytesPerSecond,omitempty"`
}

// StorageStatsSet is a container's block I/O.
type StorageStatsSet struct {
	ReadSizeBytes  *ULongStatsSet `json:"readSizeBytes,omitempty"`
	WriteSizeBytes *ULongStatsSet `json:"writeSizeBytes,omitempty"`
}

// RestartStatsSet counts a container's restarts.
type RestartStatsSet struct {
	RestartCount int64 `json:"restartCount"`
}

// PublishHealthRequest carries the containers' health.
type PublishHealthRequest struct {
	Metadata  *HealthMetadata `json:"metadata"`
	Tasks     []TaskHealth    `json:"tasks"`
	Timestamp *Time           `json:"timestamp"`
}

// HealthMetadata names the sender.
type HealthMetadata struct {
	Cluster           string `json:"cluster"`
	ContainerInstance string `json:"containerInstance"`
	MessageID         string `json:"messageId,omitempty"`
	Fin               bool   `json:"fin"`
}

// TaskHealth is the health of a task's containers that have a health check.
type TaskHealth struct {
	TaskArn               string            `json:"taskArn"`
	ClusterArn            string            `json:"clusterArn,omitempty"`
	TaskDefinitionFamily  string            `json:"taskDefinitionFamily"`
	TaskDefinitionVersion string            `json:"taskDefinitionVersion"`
	Containers            []ContainerHealth `json:"containers"`
}

// ContainerHealth is one container's health.
type ContainerHealth struct {
	ContainerName string `json:"containerName"`
	HealthStatus  string `json:"healthStatus"`
	StatusSince   *Time  `json:"statusSince,omitempty"`
	StatusMessage string `json:"statusMessage,omitempty"`
}

// PublishInstanceStatusRequest carries the instance's health checks.
type PublishInstanceStatusRequest struct {
	Metadata  *InstanceStatusMetadata `json:"metadata"`
	Statuses  []InstanceStatus        `json:"statuses"`
	Timestamp *Time                   `json:"timestamp"`
}

// InstanceStatusMetadata names the sender.
type InstanceStatusMetadata struct {
	Cluster           string `json:"cluster"`
	ContainerInstance string `json:"containerInstance"`
	RequestID         string `json:"requestId"`
}

// InstanceStatus is one instance health check (type "CONTAINER_RUNTIME": the Docker
// engine answers), status OK or IMPAIRED.
type InstanceStatus struct {
	Type             string `json:"type"`
	Status           string `json:"status"`
	StatusReason     string `json:"statusReason,omitempty"`
	LastUpdated      *Time  `json:"lastUpdated,omitempty"`
	LastStatusChange *Time  `json:"lastStatusChange,omitempty"`
}

// Instance status values.
const (
	InstanceStatusOK       = "OK"
	InstanceStatusImpaired = "IMPAIRED"
)

// TaskHealthOf derives a task's health from its essential containers' as ECS does:
// any UNHEALTHY → UNHEALTHY; all HEALTHY → HEALTHY; otherwise UNKNOWN. A task whose
// essential containers have no health check is UNKNOWN.
func TaskHealthOf(essential []string) string {
	if len(essential) == 0 {
		return HealthUnknown
	}
	healthy := 0
	for _, h := range essential {
		switch h {
		case HealthUnhealthy:
			return HealthUnhealthy
		case HealthHealthy:
			healthy++
		}
	}
	if healthy == len(essential) {
		return HealthHealthy
	}
	return HealthUnknown
}
