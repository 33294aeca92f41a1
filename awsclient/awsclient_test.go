package awsclient

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestUserAgentReplacesTheSDKs(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.UserAgent() }))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, nil)
	req.Header.Set("User-Agent", "aws-sdk-go-v2/1.0")
	resp, err := HTTPClient(UserAgent("Amazon ECS Agent - v1.105.1 (ecs-agent)"), false).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ua := <-got; ua != "Amazon ECS Agent - v1.105.1 (ecs-agent) (linux; LINUX) (+http://aws.amazon.com/ecs/)" {
		t.Fatalf("User-Agent %q", ua)
	}
	if req.Header.Get("User-Agent") != "aws-sdk-go-v2/1.0" {
		t.Fatal("the caller's request was modified")
	}
}

func TestTLSIsVerifiedUnlessAsked(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	if _, err := HTTPClient("", false).Get(srv.URL); err == nil {
		t.Fatal("a self-signed certificate was accepted without -k")
	}
	resp, err := HTTPClient("", true).Get(srv.URL)
	if err != nil {
		t.Fatalf("-k: %v", err)
	}
	resp.Body.Close()
}
