package session

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-agent/ecs-agent/awsclient/imdstest"
	"github.com/ecs-agent/ecs-agent/bus/bustest"
)

func identityDoc(instanceID, region string) string {
	return fmt.Sprintf(`{"accountId":"123456789012","architecture":"x86_64","availabilityZone":"%sa","imageId":"ami-12345678",`+
		`"instanceId":"%s","instanceType":"t3.micro","pendingTime":"2026-01-01T00:00:00Z","privateIp":"10.0.0.5",`+
		`"region":"%s","version":"2017-09-30"}`, region, instanceID, region)
}

// On EC2 (IMDS answers, not external) the session takes its credentials from the
// instance role and its region from the identity document, and registers with the
// document and its signature.
func TestRegistrationOnEC2SendsTheIdentityDocument(t *testing.T) {
	doc := identityDoc("i-0abc1234def567890", "us-west-2")
	fake := imdstest.Start(t, doc)
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	h := newHarness(t, "test")
	h.cp.creds = aws.Credentials{AccessKeyID: imdstest.RoleAccessKeyID, SecretAccessKey: imdstest.RoleSecret, SessionToken: imdstest.RoleToken}
	h.cfg.Region, h.cfg.AccessKeyID, h.cfg.SecretAccessKey, h.cfg.SessionToken = "", "", "", ""
	h.start()
	// The ACS upgrade is signed with the instance role's credentials too.
	if sock := h.cp.next(t, 10*time.Second); sock.sigErr != nil {
		t.Fatalf("upgrade signature: %v", sock.sigErr)
	}
	req := h.register(0)
	if req["instanceIdentityDocument"] != doc || req["instanceIdentityDocumentSignature"] != imdstest.Signature {
		t.Fatalf("identity sent: %q / %q", req["instanceIdentityDocument"], req["instanceIdentityDocumentSignature"])
	}
	if reg := h.registration(); reg.Region != "us-west-2" {
		t.Fatalf("registration region %q, want the document's", reg.Region)
	}
	if fake.RoleFetches.Load() == 0 {
		t.Fatal("the instance role was not used")
	}
	if !strings.Contains(h.logs.String(), "i-0abc1234def567890") {
		t.Error("the log does not name the EC2 instance")
	}
}

// In external mode the document and signature are sent empty and IMDS is not
// asked; the same with IMDS disabled.
func TestRegistrationOffEC2SendsNoIdentityDocument(t *testing.T) {
	for _, mode := range []string{"external", "imds disabled", "NoIID"} {
		t.Run(mode, func(t *testing.T) {
			fake := imdstest.Start(t, identityDoc("i-0abc1234def567890", "us-west-2"))
			h := newHarness(t, "test")
			switch mode {
			case "external":
				h.cfg.External = true
			case "imds disabled":
				h.cfg.IMDSDisabled = true
			case "NoIID":
				h.cfg.NoIID = true
			}
			h.start()
			waitFor(t, 10*time.Second, func() bool { h.cp.mu.Lock(); defer h.cp.mu.Unlock(); return h.cp.dpeCalls > 0 })
			req := h.register(0)
			if req["instanceIdentityDocument"] != "" || req["instanceIdentityDocumentSignature"] != "" {
				t.Fatalf("identity sent: %q", req["instanceIdentityDocument"])
			}
			if mode != "NoIID" && fake.Tokens.Load() != 0 {
				t.Fatalf("IMDS asked %d times", fake.Tokens.Load())
			}
		})
	}
}

// A third-party ECS API: moto's. The EC2 instance is created in moto, the fake IMDS
// serves its identity document, and the session registers with moto's ECS. Moto
// keeps none of the attributes the agent sends, which the real agent treats as
// terminal: the log must say that registration itself succeeded and why the
// session stops there.
func TestRegisterWithMoto(t *testing.T) {
	moto := bustest.StartMoto(t)
	const region = "us-east-1"
	instanceID := motoRunInstance(t, moto.URL, region)
	imdstest.Start(t, identityDoc(instanceID, region))

	h := newHarness(t)
	h.cfg.BackendHost, h.cfg.Region, h.cfg.Cluster = moto.URL, "", "moto-cluster"
	h.cfg.Timers.RegisterRetryFor = 2 * time.Second
	ac, err := awsConfig(context.Background(), h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if ac.Region != region {
		t.Fatalf("region %q, want the identity document's %s", ac.Region, region)
	}
	api := newECSClient(ac, h.cfg)
	if _, err := api.CreateCluster(context.Background(), &ecs.CreateClusterInput{ClusterName: aws.String("moto-cluster")}); err != nil {
		t.Fatal(err)
	}
	h.start()
	err = h.runErr(30 * time.Second)
	if !errors.Is(err, ErrTerminal) || !strings.Contains(err.Error(), "missing from the registration response") {
		t.Fatalf("Run = %v, want the terminal attribute check", err)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "RegisterContainerInstance succeeded") || !strings.Contains(logs, moto.URL) {
		t.Fatalf("the log does not say how far registration got:\n%s", logs)
	}
	list, err := api.ListContainerInstances(context.Background(), &ecs.ListContainerInstancesInput{Cluster: aws.String("moto-cluster")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.ContainerInstanceArns) != 1 {
		t.Fatalf("moto has %d container instances", len(list.ContainerInstanceArns))
	}
	desc, err := api.DescribeContainerInstances(context.Background(), &ecs.DescribeContainerInstancesInput{
		Cluster: aws.String("moto-cluster"), ContainerInstances: list.ContainerInstanceArns,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(desc.ContainerInstances[0].Ec2InstanceId); got != instanceID {
		t.Fatalf("moto registered EC2 instance %q, want %s", got, instanceID)
	}
}

// motoRunInstance creates an EC2 instance in moto (EC2 Query API, signed) and
// returns its ID.
func motoRunInstance(t *testing.T, endpoint, region string) string {
	t.Helper()
	call := func(form url.Values) string {
		form.Set("Version", "2016-11-15")
		body := form.Encode()
		req, _ := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		hash := fmt.Sprintf("%x", sha256Sum([]byte(body)))
		if err := v4.NewSigner().SignHTTP(context.Background(), testCreds, req, hash, "ec2", region, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("moto EC2 %s: %d %s", form.Get("Action"), resp.StatusCode, b)
		}
		return string(b)
	}
	images := call(url.Values{"Action": {"DescribeImages"}})
	ami := regexp.MustCompile(`<imageId>(ami-[0-9a-f]+)</imageId>`).FindStringSubmatch(images)
	if ami == nil {
		t.Fatalf("moto has no AMI: %.300s", images)
	}
	out := call(url.Values{"Action": {"RunInstances"}, "ImageId": {ami[1]}, "MinCount": {"1"}, "MaxCount": {"1"}, "InstanceType": {"t3.micro"}})
	id := regexp.MustCompile(`<instanceId>(i-[0-9a-f]+)</instanceId>`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("RunInstances: %.300s", out)
	}
	return id[1]
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

// A failure of a third-party ECS API (an HTTP 500 with an HTML page) is described by
// the call, the status and the endpoint, not by the SDK's decoding error alone.
func TestDescribeCallError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("<!doctype html><title>500 Internal Server Error</title>"))
	}))
	defer srv.Close()
	cfg := Config{Region: "us-east-1", AccessKeyID: "a", SecretAccessKey: "b", BackendHost: srv.URL, External: true,
		Timers: DefaultTimers()}
	ac, err := awsConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = newECSClient(ac, cfg).RegisterContainerInstance(context.Background(), &ecs.RegisterContainerInstanceInput{})
	if err == nil {
		t.Fatal("no error")
	}
	got := describeCallError("RegisterContainerInstance", srv.URL, err)
	if want := "RegisterContainerInstance answered HTTP 500 at " + srv.URL; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	if !isTransient(err) {
		t.Error("a 500 should be retried")
	}
}

// An ECS API without ACS (moto answers DiscoverPollEndpoint with http://localhost):
// the log says registration succeeded and which endpoint cannot be reached, and
// reconnects back off.
func TestUnusableACSEndpointIsNamed(t *testing.T) {
	h := newHarness(t, "test")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String() + "/"
	l.Close()
	h.cp.endpoint = dead
	h.start()
	waitFor(t, 10*time.Second, func() bool { return strings.Count(h.logs.String(), "ACS connection failed") >= 3 })
	logs := h.logs.String()
	want := "connecting to ACS at ws://" + strings.TrimPrefix(dead, "http://") + "ws (the endpoint DiscoverPollEndpoint gave; registration succeeded)"
	if !strings.Contains(logs, want) {
		t.Fatalf("the log does not name the endpoint (%s):\n%s", want, logs)
	}
	if !strings.Contains(logs, `"retry_in"`) {
		t.Fatal("no backoff in the log")
	}
}
