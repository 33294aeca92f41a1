package ecsapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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
	// Region and the keys as configured (AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID…);
	// what is empty comes from the SDK's default chain (shared files, AWS_PROFILE,
	// the instance role) and, for the region, the instance identity document.
	Region          string
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// Profile is ECS_ALTERNATE_CREDENTIAL_PROFILE; External is ECS_EXTERNAL (IMDS
	// is never asked).
	Profile      string
	External     bool
	IMDSDisabled bool // AWS_EC2_METADATA_DISABLED
	// Endpoint overrides the SDK's endpoint resolution (ECS_BACKEND_HOST).
	Endpoint string
	// SkipTLSVerify is the -k flag.
	SkipTLSVerify bool
	// UserAgent replaces the SDK's User-Agent header, as the real agent does.
	UserAgent string
}

// Validate names the first inconsistent variable.
func (c Config) Validate() error {
	if (c.AccessKeyID == "") != (c.SecretAccessKey == "") {
		return fmt.Errorf("%w: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together: set both, or neither to use the shared credentials file or the instance role", ErrConfig)
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
	aws aws.Config
}

// AWS is the resolved SDK configuration (credentials, region) the client calls
// with, for the other clients of the reporter (the TCS websocket's signature).
func (c *Client) AWS() aws.Config { return c.aws }

// New builds a client. Retries are left to the caller (the outbox's backoff), so
// the SDK makes exactly one attempt per call and every failure is visible and
// counted. Credentials, region and the HTTP client come from awsclient.Config: the
// real agent's 30 s dial, 10 s TLS and 42 s round trip, proxies, AWS_CA_BUNDLE, -k
// and its User-Agent. Only a missing region may make a call here (IMDS).
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ac, err := awsclient.Config(ctx, awsclient.Options{
		Region: cfg.Region, AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey,
		SessionToken: cfg.SessionToken, Profile: cfg.Profile, External: cfg.External, IMDSDisabled: cfg.IMDSDisabled,
		UserAgent: cfg.UserAgent, SkipTLSVerify: cfg.SkipTLSVerify,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return &Client{aws: ac, api: ecs.NewFromConfig(ac, func(o *ecs.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})}, nil
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
