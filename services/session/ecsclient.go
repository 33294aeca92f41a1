package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/ecs-agent/ecs-agent/awsclient"
)

// ECSAPI is the part of the ECS API the session calls. *ecs.Client implements it.
type ECSAPI interface {
	RegisterContainerInstance(ctx context.Context, in *ecs.RegisterContainerInstanceInput, opts ...func(*ecs.Options)) (*ecs.RegisterContainerInstanceOutput, error)
	CreateCluster(ctx context.Context, in *ecs.CreateClusterInput, opts ...func(*ecs.Options)) (*ecs.CreateClusterOutput, error)
	DiscoverPollEndpoint(ctx context.Context, in *ecs.DiscoverPollEndpointInput, opts ...func(*ecs.Options)) (*ecs.DiscoverPollEndpointOutput, error)
}

var _ ECSAPI = (*ecs.Client)(nil)

// Error classes of the session.
var (
	// ErrTerminal means registration can never succeed as configured (a bad
	// cluster, a rejected parameter, attributes the control plane did not keep):
	// restarting the agent would only repeat it. The real agent exits with code 5.
	ErrTerminal = errors.New("terminal registration error")
	// ErrInactiveInstance means the control plane refused the ACS connection
	// because the instance was deregistered.
	ErrInactiveInstance = errors.New("instance is inactive")
)

// awsConfig resolves the session's credentials and region (awsclient.Config: the
// configured ones, else the SDK's default chain, else the identity document's
// region). The SDK's own retries are off: the session's backoffs (whose timers are
// in Config) are the one retry layer, so a test or an operator can reason about how
// long a call may take.
func awsConfig(ctx context.Context, cfg Config) (aws.Config, error) {
	ac, err := awsclient.Config(ctx, awsclient.Options{
		Region: cfg.Region, AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey,
		SessionToken: cfg.SessionToken, Profile: cfg.CredentialProfile, External: cfg.External, IMDSDisabled: cfg.IMDSDisabled,
		UserAgent: awsclient.UserAgent(cfg.AgentVersionString), SkipTLSVerify: cfg.SkipTLSVerify,
		Timeout: cfg.Timers.APITimeout,
	})
	if err != nil {
		return aws.Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return ac, nil
}

// newECSClient builds the SDK client of ac.
func newECSClient(ac aws.Config, cfg Config) *ecs.Client {
	return ecs.NewFromConfig(ac, func(o *ecs.Options) {
		if cfg.BackendHost != "" {
			o.BaseEndpoint = aws.String(cfg.BackendHost)
		}
	})
}

// describeCallError says which call failed and what the ECS API answered: the HTTP
// status, the error code and message when it sent one, the endpoint it was asked
// at. A third-party ECS API's failures (an HTTP 500 with an HTML page) read as well
// as ECS's own.
func describeCallError(call, endpoint string, err error) string {
	var b strings.Builder
	b.WriteString(call)
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		fmt.Fprintf(&b, " answered HTTP %d", re.HTTPStatusCode())
	} else {
		b.WriteString(" failed")
	}
	if endpoint != "" {
		fmt.Fprintf(&b, " at %s", endpoint)
	}
	if code, msg, ok := apiError(err); ok {
		fmt.Fprintf(&b, ": %s", code)
		if msg != "" {
			fmt.Fprintf(&b, ": %s", msg)
		}
	} else if re == nil {
		var inner error = err
		for u := errors.Unwrap(inner); u != nil; u = errors.Unwrap(inner) {
			inner = u
		}
		fmt.Fprintf(&b, ": %v", inner)
	}
	return b.String()
}

// withClientToken adds "clientToken" to the request body. The public SDK model
// lacks this agent-only member of RegisterContainerInstance (it is in the agent's
// own model), so it is inserted after serialisation, before the body is hashed and
// signed.
func withClientToken(token string) func(*ecs.Options) {
	return func(o *ecs.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Build.Add(middleware.BuildMiddlewareFunc("ClientToken", func(
				ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler,
			) (middleware.BuildOutput, middleware.Metadata, error) {
				req, ok := in.Request.(*smithyhttp.Request)
				if !ok {
					return middleware.BuildOutput{}, middleware.Metadata{}, fmt.Errorf("client token: unexpected request type %T", in.Request)
				}
				body := map[string]json.RawMessage{}
				if s := req.GetStream(); s != nil {
					raw, err := io.ReadAll(s)
					if err != nil {
						return middleware.BuildOutput{}, middleware.Metadata{}, fmt.Errorf("client token: reading body: %w", err)
					}
					if len(bytes.TrimSpace(raw)) > 0 {
						if err := json.Unmarshal(raw, &body); err != nil {
							return middleware.BuildOutput{}, middleware.Metadata{}, fmt.Errorf("client token: decoding body: %w", err)
						}
					}
				}
				tok, _ := json.Marshal(token)
				body["clientToken"] = tok
				raw, err := json.Marshal(body)
				if err != nil {
					return middleware.BuildOutput{}, middleware.Metadata{}, fmt.Errorf("client token: encoding body: %w", err)
				}
				nreq, err := req.SetStream(bytes.NewReader(raw))
				if err != nil {
					return middleware.BuildOutput{}, middleware.Metadata{}, fmt.Errorf("client token: %w", err)
				}
				nreq.ContentLength = int64(len(raw))
				in.Request = nreq
				return next.HandleBuild(ctx, in)
			}), middleware.Before)
		})
	}
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// apiError returns the ECS error code and message of err, if it carries one.
func apiError(err error) (code, msg string, ok bool) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), ae.ErrorMessage(), true
	}
	return "", "", false
}

// isTransient reports whether an ECS API call may succeed if simply repeated:
// throttling and server-side failures, and a control plane that cannot be reached
// (still starting, or restarting).
func isTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if code, _, ok := apiError(err); ok {
		switch code {
		case "ThrottlingException", "ServerException", "LimitExceededException":
			return true
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return true
	}
	var se *smithyhttp.RequestSendError
	if errors.As(err, &se) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}
