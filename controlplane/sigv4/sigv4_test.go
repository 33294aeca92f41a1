package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
)

func signed(t *testing.T, method, url string, body []byte, service, region, secret string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters")
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, region, time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestVerify(t *testing.T) {
	v := Verifier{Credentials: map[string]string{"AKID": "secret"}}
	body := []byte(`{"maxResults":10}`)
	tests := []struct {
		name string
		req  func() *http.Request
		body []byte
		code string
	}{
		{"api call", func() *http.Request {
			return signed(t, http.MethodPost, "http://127.0.0.1:1/", body, "ecs", "us-west-2", "secret")
		}, body, ""},
		{"other region", func() *http.Request {
			return signed(t, http.MethodPost, "http://127.0.0.1:1/", body, "ecs", "eu-central-1", "secret")
		}, body, ""},
		{"websocket upgrade with query", func() *http.Request {
			return signed(t, http.MethodGet, "http://127.0.0.1:1/ws?dockerVersion=DockerVersion%3A+25.0.3&containerInstanceArn=arn%3Aaws%3Aecs%3Ax%2Fy&seqNum=1", nil, "ecs", "us-west-2", "secret")
		}, nil, ""},
		{"tampered body", func() *http.Request {
			return signed(t, http.MethodPost, "http://127.0.0.1:1/", body, "ecs", "us-west-2", "secret")
		}, []byte(`{"maxResults":11}`), awserr.CodeInvalidSignature},
		{"wrong secret", func() *http.Request {
			return signed(t, http.MethodPost, "http://127.0.0.1:1/", body, "ecs", "us-west-2", "other")
		}, body, awserr.CodeInvalidSignature},
		{"wrong service", func() *http.Request {
			return signed(t, http.MethodPost, "http://127.0.0.1:1/", body, "s3", "us-west-2", "secret")
		}, body, awserr.CodeInvalidSignature},
		{"unsigned", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/", bytes.NewReader(body))
			return r
		}, body, awserr.CodeMissingAuthenticationToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Verify(tc.req(), tc.body)
			if tc.code == "" && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tc.code != "" && !awserr.IsCode(err, tc.code) {
				t.Fatalf("Verify = %v, want %s", err, tc.code)
			}
		})
	}
	unknown := Verifier{Credentials: map[string]string{"OTHER": "secret"}}
	err := unknown.Verify(signed(t, http.MethodPost, "http://127.0.0.1:1/", body, "ecs", "us-west-2", "secret"), body)
	if !awserr.IsCode(err, awserr.CodeUnrecognizedClient) || awserr.As(err).Status != http.StatusForbidden {
		t.Fatalf("unknown key: %v", err)
	}
}
