package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

type cachedEndpoint struct {
	endpoint string
	expires  time.Time
}

// pollEndpoint returns the ACS endpoint of an instance. Answers are reused for
// EndpointCacheTTL, so reconnects do not call the API; when the API fails, an
// expired answer is better than none. Called from Run's goroutine only.
func (s *Service) pollEndpoint(ctx context.Context, arn string) (string, error) {
	cached, ok := s.endpoints[arn]
	if ok && s.now().Before(cached.expires) {
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
	ep := aws.ToString(out.Endpoint)
	s.endpoints[arn] = cachedEndpoint{endpoint: ep, expires: s.now().Add(s.cfg.Timers.EndpointCacheTTL)}
	return ep, nil
}
