package controlplane_test

import (
	"bytes"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/ecs-agent/ecs-agent/controlplane"
)

func asStatus(err error, out *interface{ HTTPStatusCode() int }) bool {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		*out = re
		return true
	}
	return false
}

func TestSignatureVerification(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	tests := []struct {
		name, key, secret, code, message string
	}{
		{"wrong secret", controlplane.DevAccessKey, "not-the-secret", "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."},
		{"unknown key", "AKIDUNKNOWN", "whatever", "UnrecognizedClientException", "The security token included in the request is invalid."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client := newClient(e.ts.URL, tc.key, tc.secret)
			_, err := client.ListClusters(ctx(t), &ecs.ListClustersInput{})
			if apiCode(err) != tc.code || apiMessage(err) != tc.message {
				t.Fatalf("error = %v", err)
			}
			var re interface{ HTTPStatusCode() int }
			if !asStatus(err, &re) || re.HTTPStatusCode() != http.StatusForbidden {
				t.Fatalf("status of %v", err)
			}
		})
	}
	resp, err := http.Post(e.ts.URL+"/", "application/x-amz-json-1.1", bytes.NewReader([]byte("{}")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unsigned request without target: %d", resp.StatusCode)
	}
}

func TestAllowUnsigned(t *testing.T) {
	e := newEnv(t, controlplane.Config{AllowUnsigned: true})
	req, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/", bytes.NewReader([]byte(`{"clusterName":"u"}`)))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.CreateCluster")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("unsigned CreateCluster: %d", resp.StatusCode)
	}
	// Any key pair works too.
	if _, err := newClient(e.ts.URL, "AKIDOTHER", "x").ListClusters(ctx(t), &ecs.ListClustersInput{}); err != nil {
		t.Fatal(err)
	}

	strict := newEnv(t, controlplane.Config{})
	req, _ = http.NewRequest(http.MethodPost, strict.ts.URL+"/", bytes.NewReader([]byte(`{}`)))
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Amzn-ErrorType") != "MissingAuthenticationTokenException" {
		t.Fatalf("unsigned call to a strict server: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
}
