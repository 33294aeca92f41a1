package creds

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// MinDuration is the shortest lifetime the control plane hands out; STSMinDuration is
// the shortest that STS grants (a shorter configured lifetime is advertised as such but
// asked of STS as this).
const (
	MinDuration    = time.Minute
	STSMinDuration = 15 * time.Minute
)

// Request says whose credentials to mint.
type Request struct {
	RoleArn string
	// SessionName names the session (the task ID): it shows in the assumed role's ARN.
	SessionName string
}

// Credentials are one set of temporary keys. Expiration is what the agent is told.
// String hides the keys so that a stray %v cannot print them.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

// String shows the expiration only.
func (c Credentials) String() string {
	return "credentials(expiring " + c.Expiration.UTC().Format(time.RFC3339) + ")"
}

// GoString is String, for %#v.
func (c Credentials) GoString() string { return c.String() }

// Minter makes credentials for a role. Implementations are safe for concurrent use.
type Minter interface {
	Mint(ctx context.Context, r Request) (Credentials, error)
}

var (
	_ Minter = (*Local)(nil)
	_ Minter = (*STS)(nil)
)

// Local invents credentials: an ASIA access key, a 40-character secret and a session
// token, valid (as far as the agent knows) for Duration.
type Local struct {
	Duration time.Duration
	Now      func() time.Time // nil means time.Now
}

const upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// Mint returns fresh random keys.
func (l *Local) Mint(_ context.Context, _ Request) (Credentials, error) {
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	var key [16]byte
	var secret [30]byte // 40 characters of base64
	var token [96]byte
	for _, b := range [][]byte{key[:], secret[:], token[:]} {
		if _, err := rand.Read(b); err != nil {
			return Credentials{}, fmt.Errorf("minting credentials: %w", err)
		}
	}
	id := make([]byte, len(key))
	for i, b := range key {
		id[i] = upperAlnum[int(b)%len(upperAlnum)]
	}
	return Credentials{
		AccessKeyID:     "ASIA" + string(id),
		SecretAccessKey: base64.StdEncoding.EncodeToString(secret[:]),
		SessionToken:    base64.StdEncoding.EncodeToString(token[:]),
		Expiration:      now().Add(l.Duration).UTC(),
	}, nil
}

// STS mints credentials with AssumeRole against an STS endpoint, signed with the control
// plane's own credentials from the SDK's default chain.
type STS struct {
	client   *sts.Client
	duration time.Duration
	now      func() time.Time
}

// NewSTS builds an STS minter for endpoint (a URL such as http://127.0.0.1:5000) in
// region. The credentials it hands out are advertised as expiring after duration even
// when STS granted more (STS grants no less than STSMinDuration).
func NewSTS(ctx context.Context, endpoint, region string, duration time.Duration) (*STS, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("loading the control plane's AWS configuration: %w", err)
	}
	client := sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(endpoint) })
	return &STS{client: client, duration: duration, now: time.Now}, nil
}

// Mint assumes the role.
func (s *STS) Mint(ctx context.Context, r Request) (Credentials, error) {
	ask := max(s.duration, STSMinDuration)
	out, err := s.client.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String(r.RoleArn),
		RoleSessionName: aws.String(r.SessionName),
		DurationSeconds: aws.Int32(int32(ask / time.Second)),
	})
	if err != nil {
		return Credentials{}, fmt.Errorf("assuming role %s: %w", r.RoleArn, err)
	}
	if out.Credentials == nil {
		return Credentials{}, fmt.Errorf("assuming role %s: no credentials in the answer", r.RoleArn)
	}
	c := out.Credentials
	exp := s.now().Add(s.duration).UTC()
	if c.Expiration != nil && c.Expiration.Before(exp) {
		exp = c.Expiration.UTC()
	}
	return Credentials{
		AccessKeyID:     aws.ToString(c.AccessKeyId),
		SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken:    aws.ToString(c.SessionToken),
		Expiration:      exp,
	}, nil
}
