package bus

// Status is the known or desired status of a task or a container, in the task engine's
// order (PROTOCOL.md §4.1). Comparisons use Rank.
//
//	NONE → MANIFEST_PULLED → PULLED → CREATED → RUNNING → STOPPED
type Status string

// The statuses, in order.
const (
	StatusNone           Status = "NONE"
	StatusManifestPulled Status = "MANIFEST_PULLED"
	StatusPulled         Status = "PULLED"
	StatusCreated        Status = "CREATED"
	StatusRunning        Status = "RUNNING"
	StatusStopped        Status = "STOPPED"
)

var statusRank = map[Status]int{
	StatusNone: 0, StatusManifestPulled: 1, StatusPulled: 2, StatusCreated: 3,
	StatusRunning: 4, StatusStopped: 5,
}

// Rank orders statuses; an unknown or empty status ranks as NONE.
func (s Status) Rank() int { return statusRank[s] }

// Before reports whether s comes strictly before o.
func (s Status) Before(o Status) bool { return s.Rank() < o.Rank() }

// Backend is the status as the ECS API spells it: RUNNING and STOPPED as such,
// everything else PENDING.
func (s Status) Backend() string {
	switch s {
	case StatusRunning, StatusStopped:
		return string(s)
	}
	return "PENDING"
}

// Valid reports whether s is one of the declared statuses.
func (s Status) Valid() bool {
	_, ok := statusRank[s]
	return ok
}

// Health is a container's Docker health status.
type Health string

// Health values.
const (
	HealthUnknown   Health = "UNKNOWN"
	HealthHealthy   Health = "HEALTHY"
	HealthUnhealthy Health = "UNHEALTHY"
)
