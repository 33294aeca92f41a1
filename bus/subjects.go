package bus

import "strings"

// Prefix is the version prefix of every subject the agent uses. A change that breaks
// the wire contract gets a new prefix.
const Prefix = "ecs.v1"

// Subjects. Each constant is the wildcard pattern a consumer subscribes to; the
// functions below build the concrete subject a publisher uses.
const (
	// SubjectDesiredAll carries DesiredTask messages (session → scheduler), one subject
	// per task: ecs.v1.desired.<task-id>.
	SubjectDesiredAll = Prefix + ".desired.>"
	// SubjectEventsAll carries ContainerEvent messages (dockerexec → scheduler):
	// ecs.v1.events.<task-id>.<container-name>.
	SubjectEventsAll = Prefix + ".events.>"
	// SubjectOutboxAll carries TaskStateChange messages (scheduler → reporter):
	// ecs.v1.outbox.<task-id>.
	SubjectOutboxAll = Prefix + ".outbox.>"

	// DockerService is the name of the dockerexec micro service; its endpoints live
	// under DockerSubjectPrefix.
	DockerService       = "ecs-dockerexec"
	DockerSubjectPrefix = Prefix + ".docker"
	// The dockerexec endpoints, each a request/reply subject.
	SubjectDockerPull    = DockerSubjectPrefix + ".pull"
	SubjectDockerCreate  = DockerSubjectPrefix + ".create"
	SubjectDockerStart   = DockerSubjectPrefix + ".start"
	SubjectDockerStop    = DockerSubjectPrefix + ".stop"
	SubjectDockerRemove  = DockerSubjectPrefix + ".remove"
	SubjectDockerInspect = DockerSubjectPrefix + ".inspect"
	SubjectDockerList    = DockerSubjectPrefix + ".list"
	SubjectDockerStats   = DockerSubjectPrefix + ".stats"
	// SubjectDockerPing asks whether the engine answers (PingRequest, PingReply): the
	// reporter's CONTAINER_RUNTIME instance status.
	SubjectDockerPing = DockerSubjectPrefix + ".ping"
	// A task's resources, provisioned before its containers and removed at its
	// cleanup: Docker volumes and the task cgroup.
	SubjectDockerVolumeCreate = DockerSubjectPrefix + ".volume.create"
	SubjectDockerVolumeRemove = DockerSubjectPrefix + ".volume.remove"
	SubjectDockerCgroupCreate = DockerSubjectPrefix + ".cgroup.create"
	SubjectDockerCgroupRemove = DockerSubjectPrefix + ".cgroup.remove"

	// SubjectStatsSamplesAll carries ContainerStatsSample messages (dockerexec →
	// reporter), plain NATS with no stream (a lost sample is replaced by the next
	// one): ecs.v1.stats.sample.<task-id>.<container-name>.
	SubjectStatsSamplesAll = Prefix + ".stats.sample.>"
	// SubjectStatsDemand carries StatsDemand messages (reporter → dockerexec): while
	// one was heard within StatsDemandTTL, dockerexec streams the stats of every
	// running managed container.
	SubjectStatsDemand = Prefix + ".stats.demand"
)

// HealthSubject is where the process connected as u answers health probes
// (`-healthcheck`): a request from u itself, answered on u's inbox.
func HealthSubject(u User) string {
	return Prefix + ".health." + Token(string(u))
}

// StatsSampleSubject is the subject of one container's stats samples.
func StatsSampleSubject(taskARN, container string) string {
	return Prefix + ".stats.sample." + Token(TaskID(taskARN)) + "." + Token(container)
}

// DesiredSubject is the subject of a task's desired state.
func DesiredSubject(taskARN string) string {
	return Prefix + ".desired." + Token(TaskID(taskARN))
}

// EventSubject is the subject of one container's Docker events.
func EventSubject(taskARN, container string) string {
	return Prefix + ".events." + Token(TaskID(taskARN)) + "." + Token(container)
}

// OutboxSubject is the subject of a task's state changes.
func OutboxSubject(taskARN string) string {
	return Prefix + ".outbox." + Token(TaskID(taskARN))
}

// TaskID returns the last path element of a task ARN
// ("arn:aws:ecs:r:a:task/cluster/ID" → "ID"); a string without "/" is returned as is.
func TaskID(taskARN string) string {
	if i := strings.LastIndexByte(taskARN, '/'); i >= 0 {
		return taskARN[i+1:]
	}
	return taskARN
}

// Token makes s safe as one subject token (and as a key-value key): characters that
// NATS gives a meaning to, and anything outside [A-Za-z0-9_-], become '_'.
func Token(s string) string {
	if s == "" {
		return "_"
	}
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}
