package bus

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"
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
