package ecsapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"

	"github.com/ecs-agent/ecs-agent/awsclient"
	"github.com/ecs-agent/ecs-agent/bus"
)

// ErrRejected marks a state change the control plane refused for good
// (InvalidParameterException): sending it again cannot succeed, so the caller drops
// it.
var ErrRejected = errors.New("state change rejected by the control plane")

// ErrConfig marks a configuration that cannot make a client.
var ErrConfig = errors.New("invalid ECS client configuration")

// Config is what the client needs to reach and authenticate to the ECS API.
type Config struct {
	Region          string // AWS_DEFAULT_REGION; required
	AccessKeyID     string // AWS_ACCESS_KEY_ID; required
	SecretAccessKey string // AWS_SECRET_ACCESS_KEY; required
	SessionToken    string // AWS_SESSION_TOKEN; optional
	// Endpoint overrides the SDK's endpoint resolution (ECS_BACKEND_HOST).
	Endpoint string
	// SkipTLSVerify is the -k flag.
	SkipTLSVerify bool
	// UserAgent replaces the SDK's User-Agent header, as the real agent does.
	UserAgent string
}

// Validate names the first missing variable.
func (c Config) Validate() error {
	switch {
	case c.Region == "":
		return fmt.Errorf("%w: AWS_DEFAULT_REGION is not set; the reporter needs the region to sign SubmitTaskStateChange", ErrConfig)
	case c.AccessKeyID == "":
		return fmt.Errorf("%w: AWS_ACCESS_KEY_ID is not set", ErrConfig)
	case c.SecretAccessKey == "":
		return fmt.Errorf("%w: AWS_SECRET_ACCESS_KEY is not set", ErrConfig)
	}
	return nil
}

// api is the one SDK call the client makes; a seam for the SDK client.
type api interface {
	SubmitTaskStateChange(ctx context.Context, in *ecs.SubmitTaskStateChangeInput, opts ...func(*ecs.Options)) (*ecs.SubmitTaskStateChangeOutput, error)
}

var _ api = (*ecs.Client)(nil)

// Client submits task state changes.
type Client struct {
	api api
}

// New builds a client. Retries are left to the caller (the outbox's backoff), so
// the SDK makes exactly one attempt per call and every failure is visible and
// counted. The HTTP client is the agent's (awsclient): the real agent's 30 s dial,
// 10 s TLS and 42 s round trip, proxies, -k and its User-Agent.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts := ecs.Options{
		Region:      cfg.Region,
		Credentials: credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken),
		HTTPClient:  awsclient.HTTPClient(cfg.UserAgent, cfg.SkipTLSVerify),
		Retryer:     aws.NopRetryer{},
	}
	if cfg.Endpoint != "" {
		opts.BaseEndpoint = aws.String(cfg.Endpoint)
	}
	return &Client{api: ecs.New(opts)}, nil
}

// Submit sends one state change. It returns nil once the control plane accepted it,
// an error wrapping ErrRejected when it never will, and any other error for a
// failure worth retrying.
func (c *Client) Submit(ctx context.Context, sc bus.TaskStateChange) error {
	_, err := c.api.SubmitTaskStateChange(ctx, Input(sc))
	if err == nil {
		return nil
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "InvalidParameterException" {
		return fmt.Errorf("%w: %s: %s", ErrRejected, apiErr.ErrorCode(), apiErr.ErrorMessage())
	}
	return fmt.Errorf("submitting state change of %s: %w", sc.TaskArn, err)
}

// ErrorCode returns the AWS error code of err ("ThrottlingException"), or "" when
// err did not come from the API. Logs use it to say why a report is retried.
func ErrorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}
