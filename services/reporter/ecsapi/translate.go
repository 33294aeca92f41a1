package ecsapi

import (
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-agent/ecs-agent/bus"
)

// Field limits of the API (PROTOCOL.md §1.5).
const (
	maxReason   = 1024
	maxRuntime  = 255
	maxDigest   = 255
	maxBindings = 100
)

// Input translates a state change into the SDK's request. The task reason is always
// present, even when empty, because the real agent sends it that way; optional
// container fields are omitted when unknown.
func Input(sc bus.TaskStateChange) *ecs.SubmitTaskStateChangeInput {
	in := &ecs.SubmitTaskStateChangeInput{
		Cluster:            aws.String(sc.Cluster),
		Task:               aws.String(sc.TaskArn),
		Status:             aws.String(sc.Status),
		Reason:             aws.String(Truncate(sc.Reason, maxReason)),
		PullStartedAt:      utc(sc.PullStartedAt),
		PullStoppedAt:      utc(sc.PullStoppedAt),
		ExecutionStoppedAt: utc(sc.ExecutionStoppedAt),
	}
	for _, c := range sc.Containers {
		in.Containers = append(in.Containers, container(c))
	}
	return in
}

func container(c bus.ContainerStateChange) types.ContainerStateChange {
	out := types.ContainerStateChange{
		ContainerName: aws.String(c.ContainerName),
		Status:        aws.String(c.Status),
		RuntimeId:     optional(Truncate(c.RuntimeID, maxRuntime)),
		Reason:        optional(Truncate(c.Reason, maxReason)),
		ImageDigest:   optional(Truncate(c.ImageDigest, maxDigest)),
	}
	if c.ExitCode != nil {
		out.ExitCode = aws.Int32(int32(*c.ExitCode))
	}
	for i, b := range c.NetworkBindings {
		if i == maxBindings {
			break
		}
		nb := types.NetworkBinding{
			BindIP:        optional(b.BindIP),
			ContainerPort: aws.Int32(int32(b.ContainerPort)),
			HostPort:      aws.Int32(int32(b.HostPort)),
		}
		if b.Protocol != "" {
			nb.Protocol = types.TransportProtocol(b.Protocol)
		} else {
			nb.Protocol = types.TransportProtocolTcp
		}
		out.NetworkBindings = append(out.NetworkBindings, nb)
	}
	return out
}

// Truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	// At most UTFMax-1 bytes of a cut sequence can be left at the end.
	for i := 1; i < utf8.UTFMax && len(s) > 0; i++ {
		if r, size := utf8.DecodeLastRuneInString(s); r != utf8.RuneError || size != 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func utc(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
