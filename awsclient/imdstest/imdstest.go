// Package imdstest is a fake EC2 instance metadata service for tests, on
// 127.0.0.1: IMDSv2 tokens, the instance identity document and its signature, and
// an instance role's credentials. Start points the SDK at it through
// AWS_EC2_METADATA_SERVICE_ENDPOINT.
package imdstest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// Role credentials the fake serves (role RoleName).
const (
	RoleName        = "ecsInstanceRole"
	RoleAccessKeyID = "ASIAROLE"
	RoleSecret      = "rolesecret"
	RoleToken       = "roletoken"
	Signature       = "c2lnbmF0dXJl"
)

// IMDS is a running fake.
type IMDS struct {
	*httptest.Server
	Document string
	// Tokens and RoleFetches count the IMDSv2 tokens handed out and the role
	// credentials served.
	Tokens, RoleFetches atomic.Int32
}

// Start serves doc as the instance identity document until the test ends, and sets
// AWS_EC2_METADATA_SERVICE_ENDPOINT (and AWS_EC2_METADATA_DISABLED=false) for it.
func Start(t testing.TB, doc string) *IMDS {
	t.Helper()
	f := &IMDS{Document: doc}
	const token = "imds-token"
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /latest/api/token", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds") == "" {
			http.Error(w, "no TTL", http.StatusBadRequest)
			return
		}
		f.Tokens.Add(1)
		w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
		_, _ = w.Write([]byte(token))
	})
	authed := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Aws-Ec2-Metadata-Token") != token {
				http.Error(w, "", http.StatusUnauthorized)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /latest/dynamic/instance-identity/document", authed(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(f.Document))
	}))
	mux.HandleFunc("GET /latest/dynamic/instance-identity/signature", authed(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(Signature + "\n"))
	}))
	mux.HandleFunc("GET /latest/meta-data/iam/security-credentials/", authed(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(RoleName))
	}))
	mux.HandleFunc("GET /latest/meta-data/iam/security-credentials/"+RoleName, authed(func(w http.ResponseWriter, r *http.Request) {
		f.RoleFetches.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]string{
			"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": RoleAccessKeyID, "SecretAccessKey": RoleSecret,
			"Token": RoleToken, "LastUpdated": time.Now().UTC().Format(time.RFC3339),
			"Expiration": time.Now().Add(6 * time.Hour).UTC().Format(time.RFC3339),
		})
	}))
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", f.URL)
	return f
}
