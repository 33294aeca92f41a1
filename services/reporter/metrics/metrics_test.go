package metrics

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHandler(t *testing.T) {
	var m Metrics
	m.Submitted(1500 * time.Millisecond)
	m.Submitted(250 * time.Millisecond)
	m.Failed()
	m.Dropped()
	for _, tc := range []struct {
		name    string
		pending PendingFunc
		want    []string
		absent  string
	}{
		{"pending known", func(context.Context) (uint64, error) { return 7, nil }, []string{
			"ecs_reporter_state_changes_submitted_total 2\n", "ecs_reporter_state_change_failures_total 1\n",
			"ecs_reporter_state_changes_dropped_total 1\n", "ecs_reporter_outbox_pending 7\n",
			"ecs_reporter_last_delivery_latency_seconds 0.25\n",
		}, ""},
		{"bus unavailable", func(context.Context) (uint64, error) { return 0, errors.New("no bus") }, nil, "ecs_reporter_outbox_pending"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			m.Handler(tc.pending).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			body, _ := io.ReadAll(rec.Body)
			for _, w := range tc.want {
				if !strings.Contains(string(body), w) {
					t.Errorf("missing %q in\n%s", w, body)
				}
			}
			if tc.absent != "" && strings.Contains(string(body), tc.absent) {
				t.Errorf("%s must be left out when unknown", tc.absent)
			}
		})
	}
}
