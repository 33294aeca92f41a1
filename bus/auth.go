package bus

import (
	"slices"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// User is a bus identity. Each service connects as its own user and may publish and
// subscribe only what it owns or consumes (Permissions), so that holding one service's
// password does not let a client send container commands, write another service's
// stream or read another service's replies.
type User string

// The bus users.
const (
	// UserAdmin may do anything: the bus itself (it creates every stream and bucket),
	// and operators' tools and tests that observe the whole bus.
	UserAdmin      User = "admin"
	UserSession    User = "session"
	UserScheduler  User = "scheduler"
	UserDockerexec User = "dockerexec"
	UserReporter   User = "reporter"
	// UserViewer may only watch: what the services tell each other and the task
	// records (amazon-ecs-agent events). It reads no credentials and sends nothing.
	UserViewer User = "viewer"
)

// Users lists every user, admin first.
func Users() []User {
	return []User{UserAdmin, UserSession, UserScheduler, UserDockerexec, UserReporter, UserViewer}
}

// InboxPrefix is where a user's replies arrive. Each user has its own, so that no
// service may subscribe to the replies another one waits for.
func (u User) InboxPrefix() string { return "_INBOX." + string(u) }

// responseTTL bounds how long a responder may keep answering one request (its
// progress messages and the final reply): longer than the longest Docker operation
// (a pull is bounded by ECS_IMAGE_PULL_TIMEOUT, 2 h by default).
const responseTTL = 24 * time.Hour

// Permissions are what u may publish and subscribe; nil (for admin) means anything.
//
//	who          publishes                                  subscribes / consumes
//	session      desired tasks, the registration, the       its inbox
//	             credentials, the docker list and info
//	scheduler    the outbox, task records, the ledger,      desired tasks, container events
//	             docker commands
//	dockerexec   container events, its event cursor,        docker commands, $SRV, stats demands
//	             replies to requests it received, stats
//	             samples
//	reporter     docker stats and ping, stats demands,      the outbox; registration, task records
//	             the docker info                            and credentials (sealed); stats samples
//	viewer       (nothing)                                  desired tasks, container events, the
//	                                                        outbox, registration and task records
func Permissions(u User) *server.Permissions {
	var pub, sub []string
	sub = append(sub, u.InboxPrefix()+".>")
	if u == UserAdmin {
		return nil
	}
	if slices.Contains(Users(), u) {
		// Health probes: a process asks the running service of its own user, which
		// answers on that user's inbox.
		sub = append(sub, HealthSubject(u))
		pub = append(pub, HealthSubject(u), u.InboxPrefix()+".>")
	}
	switch u {
	case UserSession:
		pub = append(pub, SubjectDesiredAll, kvWrite(BucketInstance), kvWrite(BucketCredentials), SubjectDockerList,
			"$SRV.INFO."+DockerService, "$SRV.INFO."+DockerService+".>")
		pub = append(pub, streamInfo(StreamDesired)...)
		pub = append(pub, kvRead(BucketInstance)...)
		pub = append(pub, kvRead(BucketTasks)...)
		pub = append(pub, kvRead(BucketCredentials)...)
	case UserScheduler:
		pub = append(pub, SubjectOutboxAll, kvWrite(BucketTasks), kvWrite(BucketLedger), DockerSubjectPrefix+".>")
		pub = append(pub, consume(StreamDesired, ConsumerSchedulerDesired)...)
		pub = append(pub, consume(StreamEvents, ConsumerSchedulerEvents)...)
		pub = append(pub, streamInfo(StreamOutbox)...)
		pub = append(pub, msgGet(StreamOutbox)...)
		pub = append(pub, kvRead(BucketTasks)...)
		pub = append(pub, kvRead(BucketLedger)...)
		pub = append(pub, kvRead(BucketInstance)...)
	case UserDockerexec:
		sub = append(sub, DockerSubjectPrefix+".>", "$SRV.>", SubjectStatsDemand)
		pub = append(pub, SubjectEventsAll, kvWrite(BucketDockerexec), SubjectStatsSamplesAll)
		pub = append(pub, streamInfo(StreamEvents)...)
		pub = append(pub, kvRead(BucketDockerexec)...)
		pub = append(pub, kvRead(BucketInstance)...)
		pub = append(pub, kvRead(BucketCredentials)...)
	case UserReporter:
		pub = append(pub, consume(StreamOutbox, ConsumerReporter)...)
		pub = append(pub, "$JS.API.CONSUMER.DELETE."+StreamOutbox+"."+ConsumerReporter)
		pub = append(pub, msgGet(StreamOutbox)...)
		pub = append(pub, kvRead(BucketInstance)...)
		pub = append(pub, kvRead(BucketTasks)...)
		pub = append(pub, kvRead(BucketCredentials)...)
		// Container stats for the task metadata endpoint, and nothing else of Docker.
		pub = append(pub, SubjectDockerStats, SubjectDockerPing)
		// The engine's version, for the TCS URL (as the session reads it).
		pub = append(pub, "$SRV.INFO."+DockerService, "$SRV.INFO."+DockerService+".>")
		// Stats samples for the TCS client, streamed while it asks for them.
		pub = append(pub, SubjectStatsDemand)
		sub = append(sub, SubjectStatsSamplesAll)
	case UserViewer:
		sub = append(sub, SubjectDesiredAll, SubjectEventsAll, SubjectOutboxAll,
			"$KV."+BucketTasks+".>", "$KV."+BucketInstance+".>")
	default:
		// An unknown user may do nothing but wait for replies that never come.
	}
	p := &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: pub},
		Subscribe: &server.SubjectPermission{Allow: sub},
	}
	if u == UserDockerexec {
		// Replies (and progress messages) go to the requester's inbox, which only a
		// request received from it allows.
		p.Response = &server.ResponsePermission{MaxMsgs: -1, Expires: responseTTL}
	}
	return p
}

// streamInfo lets a user look a stream up.
func streamInfo(stream string) []string {
	return []string{"$JS.API.STREAM.INFO." + stream}
}

// msgGet lets a user read single messages of a stream.
func msgGet(stream string) []string {
	return []string{
		"$JS.API.STREAM.MSG.GET." + stream,
		"$JS.API.DIRECT.GET." + stream, "$JS.API.DIRECT.GET." + stream + ".>",
	}
}

// consume lets a user create and read its durable pull consumer on a stream.
func consume(stream, durable string) []string {
	base := stream + "." + durable
	return append(streamInfo(stream),
		"$JS.API.CONSUMER.CREATE."+base, "$JS.API.CONSUMER.CREATE."+base+".>",
		"$JS.API.CONSUMER.DURABLE.CREATE."+base,
		"$JS.API.CONSUMER.INFO."+base,
		"$JS.API.CONSUMER.MSG.NEXT."+base,
		"$JS.ACK."+base+".>",
	)
}

// kvRead lets a user get keys of a bucket, list them and watch them (an ephemeral
// consumer with flow control).
func kvRead(bucket string) []string {
	s := "KV_" + bucket
	return append(append(streamInfo(s), msgGet(s)...),
		"$JS.API.CONSUMER.CREATE."+s, "$JS.API.CONSUMER.CREATE."+s+".>",
		"$JS.API.CONSUMER.INFO."+s+".>",
		"$JS.API.CONSUMER.DELETE."+s+".>",
		"$JS.FC."+s+".>",
	)
}

// kvWrite lets a user put and delete keys of a bucket.
func kvWrite(bucket string) string { return "$KV." + bucket + ".>" }
