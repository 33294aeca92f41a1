package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-agent/ecs-agent/bus"
)

type cachedEndpoint struct {
	endpoint  string
	telemetry string // the TCS endpoint of the same answer
	expires   time.Time
}

// pollEndpoint returns the ACS endpoint of an instance. Answers are reused for
// EndpointCacheTTL, so reconnects do not call the API; when the API fails, an
// expired answer is better than none. The answer's telemetry endpoint is stored in
// the registration for the reporter's TCS client: the session is the one owner of
// the endpoint cache. Called from Run's goroutine only.
func (s *Service) pollEndpoint(ctx context.Context, arn string) (string, error) {
	cached, ok := s.endpoints[arn]
	if ok && s.now().Before(cached.expires) {
		s.storeTelemetryEndpoint(ctx, cached.telemetry)
		return cached.endpoint, nil
	}
	out, err := s.api.DiscoverPollEndpoint(ctx, &ecs.DiscoverPollEndpointInput{
		Cluster:           aws.String(s.cfg.Cluster),
		ContainerInstance: aws.String(arn),
	})
	if err == nil && aws.ToString(out.Endpoint) == "" {
		err = errors.New("the response has no endpoint")
	}
	if err != nil {
		if ok {
			s.log.Warn().Err(err).Msg("DiscoverPollEndpoint failed; using the expired cached endpoint")
			return cached.endpoint, nil
		}
		return "", fmt.Errorf("discovering the ACS endpoint: %w", err)
	}
	ep, tel := aws.ToString(out.Endpoint), aws.ToString(out.TelemetryEndpoint)
	s.endpoints[arn] = cachedEndpoint{endpoint: ep, telemetry: tel, expires: s.now().Add(s.cfg.Timers.EndpointCacheTTL)}
	s.storeTelemetryEndpoint(ctx, tel)
	return ep, nil
}

// storeTelemetryEndpoint puts a telemetry endpoint into the stored registration when
// it is not the one stored already. A failure is logged and tried again at the next
// connection: telemetry never holds up ACS.
func (s *Service) storeTelemetryEndpoint(ctx context.Context, tel string) {
	if tel == "" || tel == s.storedTelemetry || s.kv == nil {
		return
	}
	var reg bus.Registration
	err := bus.GetJSON(ctx, s.kv, bus.KeyRegistration, &reg)
	if err == nil && reg.TelemetryEndpoint != tel {
		reg.TelemetryEndpoint = tel
		err = bus.PutJSON(ctx, s.kv, bus.KeyRegistration, reg)
	}
	if err != nil {
		s.log.Warn().Err(err).Msg("storing the telemetry endpoint in the registration")
		return
	}
	s.storedTelemetry = tel
}
