package e2e

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// dockerProxy stands between dockerexec and the Docker engine on a Unix socket of its
// own, so that a test can break dockerexec at the one moment no other fault reaches:
// after the engine has done a call and before dockerexec has heard the answer. While
// armed, the first container start the engine completes runs onStart (which kills
// dockerexec) before the answer is passed on.
type dockerProxy struct {
	Socket string
	srv    *http.Server

	armed   atomic.Bool
	mu      sync.Mutex
	onStart func()
	match   *regexp.Regexp
	fired   chan struct{}
	// calls counts the engine calls that passed through, by "METHOD path" without
	// the API version (POST /images/create is a pull).
	calls map[string]int
}

// apiVersion is the version prefix of an engine call's path.
var apiVersion = regexp.MustCompile(`^/v[0-9.]+`)

// count is how many engine calls of method and path (without the API version, e.g.
// "POST", "/images/create") passed through the proxy.
func (p *dockerProxy) count(method, path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[method+" "+path]
}

// The engine calls a test may break dockerexec after.
var (
	containerStart  = regexp.MustCompile(`^(/v[0-9.]+)?/containers/[^/]+/start$`)
	containerCreate = regexp.MustCompile(`^(/v[0-9.]+)?/containers/create$`)
)

// startDockerProxy serves a proxy to the engine at /var/run/docker.sock until the test
// ends.
func startDockerProxy(t *testing.T) *dockerProxy {
	t.Helper()
	p := &dockerProxy{Socket: filepath.Join(t.TempDir(), "docker.sock"), fired: make(chan struct{}, 1), calls: map[string]int{}}
	ln, err := net.Listen("unix", p.Socket)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			p.mu.Lock()
			p.calls[r.In.Method+" "+apiVersion.ReplaceAllString(r.In.URL.Path, "")]++
			p.mu.Unlock()
			r.SetURL(&url.URL{Scheme: "http", Host: "docker"})
			r.Out.Host = "docker"
		},
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", "/var/run/docker.sock")
			},
			MaxIdleConnsPerHost: 64,
		},
		// Event streams and pull progress pass through as they come.
		FlushInterval: -1,
		ModifyResponse: func(resp *http.Response) error {
			req := resp.Request
			p.mu.Lock()
			f, match := p.onStart, p.match
			p.mu.Unlock()
			if req.Method == http.MethodPost && match != nil && match.MatchString(req.URL.Path) &&
				resp.StatusCode < 300 && p.armed.CompareAndSwap(true, false) {
				if f != nil {
					f()
				}
				select {
				case p.fired <- struct{}{}:
				default:
				}
			}
			return nil
		},
		ErrorLog: nil,
	}
	p.srv = &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	t.Cleanup(func() { _ = p.srv.Close() })
	return p
}

// armStart makes the next completed container start run f before its answer goes
// back, and reports whether that happened within timeout.
func (p *dockerProxy) armStart(f func(), timeout time.Duration) bool {
	return p.arm(containerStart, f, timeout)
}

// arm makes the next completed engine call whose path matches run f before its
// answer goes back, and reports whether that happened within timeout.
func (p *dockerProxy) arm(match *regexp.Regexp, f func(), timeout time.Duration) bool {
	p.mu.Lock()
	p.onStart, p.match = f, match
	p.mu.Unlock()
	select {
	case <-p.fired:
	default:
	}
	p.armed.Store(true)
	select {
	case <-p.fired:
		return true
	case <-time.After(timeout):
		return !p.armed.CompareAndSwap(true, false)
	}
}
