package bus

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// Call sends req to a request/reply endpoint and decodes the reply into a Rep. An
// endpoint error comes back as *Error; a transport failure (no responders, timeout)
// as the nats error, wrapped.
func Call[Req, Rep any](ctx context.Context, nc *nats.Conn, subject string, req Req) (Rep, error) {
	var rep Rep
	data, err := json.Marshal(req)
	if err != nil {
		return rep, fmt.Errorf("encoding %s request: %w", subject, err)
	}
	msg, err := nc.RequestWithContext(ctx, subject, data)
	if err != nil {
		return rep, fmt.Errorf("calling %s: %w", subject, err)
	}
	if err := ErrorFromReply(msg); err != nil {
		return rep, err
	}
	if err := json.Unmarshal(msg.Data, &rep); err != nil {
		return rep, fmt.Errorf("decoding %s reply: %w", subject, err)
	}
	return rep, nil
}

// DockerEngineVersion asks a running dockerexec, through its service info, which
// Docker engine version it drives. It fails when no dockerexec answers.
func DockerEngineVersion(ctx context.Context, nc *nats.Conn) (string, error) {
	subject, err := micro.ControlSubject(micro.InfoVerb, DockerService, "")
	if err != nil {
		return "", err
	}
	msg, err := nc.RequestWithContext(ctx, subject, nil)
	if err != nil {
		return "", fmt.Errorf("asking %s for its info: %w", DockerService, err)
	}
	var info micro.Info
	if err := json.Unmarshal(msg.Data, &info); err != nil {
		return "", fmt.Errorf("decoding %s info: %w", DockerService, err)
	}
	v := info.Metadata[MetadataDockerVersion]
	if v == "" {
		return "", fmt.Errorf("%s does not know the engine's version", DockerService)
	}
	return v, nil
}
