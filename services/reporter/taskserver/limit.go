package taskserver

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter throttles requests per task, with a token bucket each (steady rps, burst),
// as ECS_TASK_METADATA_RPS_LIMIT asks. The real agent keys its buckets by the client's
// address, which on a bridge network is a task's own; here the task is known from the
// path, so tasks sharing the host network do not share a bucket. A request whose path
// names no known task is keyed by its client's address.
type limiter struct {
	rps    float64
	burst  int
	taskOf func(*http.Request) string

	mu      sync.Mutex
	buckets map[string]*bucket
	pruned  time.Time
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

func newLimiter(rps, burst int, taskOf func(*http.Request) string) *limiter {
	return &limiter{rps: float64(rps), burst: burst, taskOf: taskOf, buckets: map[string]*bucket{}}
}

// The real agent's answer when a client is throttled (its rate limiter's default).
const limitMessage = "You have reached maximum request limit."

func (l *limiter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := l.taskOf(r)
		if key == "" {
			host, _, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				host = r.RemoteAddr
			}
			key = "addr:" + host
		}
		w.Header().Set("X-Rate-Limit-Limit", fmt.Sprintf("%.2f", l.rps))
		w.Header().Set("X-Rate-Limit-Duration", "1")
		if !l.allow(key, time.Now()) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(limitMessage))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// allow takes a token from key's bucket. Buckets idle long enough to be full again
// are dropped now and then, so that stopped tasks leave nothing behind.
func (l *limiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	idle := time.Duration(float64(l.burst)/l.rps*float64(time.Second)) + time.Minute
	if now.Sub(l.pruned) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.last) > idle {
				delete(l.buckets, k)
			}
		}
		l.pruned = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(l.rps), l.burst)}
		l.buckets[key] = b
	}
	b.last = now
	return b.lim.AllowN(now, 1)
}
