package awsclient

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// Options are the agent's settings that decide how AWS is reached. Everything left
// empty is resolved by the SDK's default chain: the environment (AWS_ACCESS_KEY_ID,
// AWS_REGION, AWS_PROFILE, AWS_CA_BUNDLE…), the shared config and credentials files
// (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE), and on EC2 the instance role through
// IMDS (AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_EC2_METADATA_DISABLED).
type Options struct {
	// Region is the configured region (AWS_DEFAULT_REGION, AWS_REGION, the JSON
	// file's AWSRegion). Empty: the shared config file's, then the instance
	// identity document's.
	Region string
	// AccessKeyID, SecretAccessKey and SessionToken are keys given in the agent's
	// configuration (they may come from the env file, which the SDK does not read).
	// When both keys are set they win over the chain.
	AccessKeyID, SecretAccessKey, SessionToken string
	// Profile is ECS_ALTERNATE_CREDENTIAL_PROFILE: the shared files' profile to use
	// instead of AWS_PROFILE or "default".
	Profile string
	// External is ECS_EXTERNAL: off EC2, IMDS is never asked (neither for
	// credentials nor for the region).
	External bool
	// IMDSDisabled is AWS_EC2_METADATA_DISABLED as the agent's configuration has
	// it (the env file included): IMDS is not asked, as with External.
	IMDSDisabled bool
	// UserAgent replaces the SDK's User-Agent; SkipTLSVerify is -k; Timeout bounds
	// one round trip (RoundTripTimeout when zero).
	UserAgent     string
	SkipTLSVerify bool
	Timeout       time.Duration
}

// ErrNoRegion is returned when no source names a region.
var ErrNoRegion = errors.New("no AWS region")

// Config resolves the SDK configuration of the ECS clients once, for the session and
// the reporter alike: credentials and region from Options, else the SDK's default
// chain, else (for the region) the instance identity document. Its HTTP client is
// the SDK's buildable client (so that AWS_CA_BUNDLE applies) with this package's
// timeouts, TLS rules and User-Agent. The SDK's retries are off: callers back off
// themselves. Credentials are fetched lazily, at the first call.
func Config(ctx context.Context, o Options) (aws.Config, error) {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = RoundTripTimeout
	}
	hc := awshttp.NewBuildableClient().WithTimeout(timeout).WithDialerOptions(func(d *net.Dialer) {
		d.Timeout, d.KeepAlive = DialTimeout, 30*time.Second
	}).WithTransportOptions(func(tr *http.Transport) {
		tr.TLSHandshakeTimeout = TLSTimeout
		tr.Proxy = http.ProxyFromEnvironment
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{}
		}
		tr.TLSClientConfig.MinVersion = tls.VersionTLS12
		tr.TLSClientConfig.InsecureSkipVerify = o.SkipTLSVerify //nolint:gosec // -k asks for it
	})
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithHTTPClient(hc),
		awsconfig.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	if o.Region != "" {
		opts = append(opts, awsconfig.WithRegion(o.Region))
	}
	if o.AccessKeyID != "" && o.SecretAccessKey != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(o.AccessKeyID, o.SecretAccessKey, o.SessionToken)))
	}
	if o.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(o.Profile))
	}
	if o.External || o.IMDSDisabled {
		opts = append(opts, awsconfig.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	if cfg.Region == "" && !o.External && !o.IMDSDisabled {
		if doc, err := identityDocument(ctx, cfg); err == nil && doc.Region != "" {
			cfg.Region = doc.Region
		}
	}
	if cfg.Region == "" {
		where := "AWS_DEFAULT_REGION is not set, the shared config file names none"
		if o.External || o.IMDSDisabled {
			where += " (and the instance metadata service is not asked: ECS_EXTERNAL or AWS_EC2_METADATA_DISABLED)"
		} else {
			where += " and the instance metadata service gave no instance identity document"
		}
		return aws.Config{}, fmt.Errorf("%w: %s", ErrNoRegion, where)
	}
	cfg.HTTPClient = WithUserAgent(cfg.HTTPClient, o.UserAgent)
	return cfg, nil
}

// IdentityDocument is the part of the instance identity document the agent reads.
type IdentityDocument struct {
	InstanceID       string `json:"instanceId"`
	Region           string `json:"region"`
	AvailabilityZone string `json:"availabilityZone"`
	InstanceType     string `json:"instanceType"`
	AccountID        string `json:"accountId"`
}

// InstanceIdentity is what registration sends: the raw document, its signature, and
// the document parsed.
type InstanceIdentity struct {
	Document  string
	Signature string
	Parsed    IdentityDocument
}

// ErrIMDSDisabled is returned by FetchInstanceIdentity when IMDS is switched off
// (AWS_EC2_METADATA_DISABLED=true).
var ErrIMDSDisabled = errors.New("the instance metadata service is disabled (AWS_EC2_METADATA_DISABLED)")

// FetchInstanceIdentity reads the instance identity document and its signature from
// IMDS (IMDSv2 token first, as the SDK does), at AWS_EC2_METADATA_SERVICE_ENDPOINT
// when set. The IMDS client keeps its own short timeouts, not the ECS ones.
func FetchInstanceIdentity(ctx context.Context, cfg aws.Config) (InstanceIdentity, error) {
	if imdsOff(cfg) {
		return InstanceIdentity{}, ErrIMDSDisabled
	}
	c := imdsClient(cfg)
	doc, err := dynamic(ctx, c, "instance-identity/document")
	if err != nil {
		return InstanceIdentity{}, err
	}
	sig, err := dynamic(ctx, c, "instance-identity/signature")
	if err != nil {
		return InstanceIdentity{}, err
	}
	id := InstanceIdentity{Document: doc, Signature: strings.TrimSpace(sig)}
	if err := json.Unmarshal([]byte(doc), &id.Parsed); err != nil {
		return InstanceIdentity{}, fmt.Errorf("the instance identity document is not JSON: %w", err)
	}
	return id, nil
}

func identityDocument(ctx context.Context, cfg aws.Config) (IdentityDocument, error) {
	doc, err := dynamic(ctx, imdsClient(cfg), "instance-identity/document")
	if err != nil {
		return IdentityDocument{}, err
	}
	var d IdentityDocument
	err = json.Unmarshal([]byte(doc), &d)
	return d, err
}

// imdsOff reports whether the configuration switched IMDS off.
func imdsOff(cfg aws.Config) bool {
	for _, src := range cfg.ConfigSources {
		if lo, ok := src.(awsconfig.LoadOptions); ok && lo.EC2IMDSClientEnableState == imds.ClientDisabled {
			return true
		}
	}
	return false
}

func imdsClient(cfg aws.Config) *imds.Client {
	return imds.NewFromConfig(cfg, func(o *imds.Options) {
		o.HTTPClient = nil // the IMDS client's own, with its 5 s bound per operation
		o.Retryer = nil
	})
}

func dynamic(ctx context.Context, c *imds.Client, path string) (string, error) {
	out, err := c.GetDynamicData(ctx, &imds.GetDynamicDataInput{Path: path})
	if err != nil {
		if strings.Contains(err.Error(), "access disabled to EC2 IMDS") {
			return "", ErrIMDSDisabled
		}
		return "", fmt.Errorf("reading %s from the instance metadata service: %w", path, err)
	}
	defer out.Content.Close()
	b, err := io.ReadAll(io.LimitReader(out.Content, 64<<10))
	if err != nil {
		return "", fmt.Errorf("reading %s from the instance metadata service: %w", path, err)
	}
	return string(b), nil
}
