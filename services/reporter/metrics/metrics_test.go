package metrics

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	busmetrics "github.com/ecs-agent/ecs-agent/bus/metrics"
)

func TestExported(t *testing.T) {
	for _, tc := range []struct {
		name    string
		backlog BacklogFunc
		queued  bool
	}{
		{"backlog known", func(context.Context) (uint64, time.Time, error) { return 7, time.Now().Add(-time.Minute), nil }, true},
		{"bus unavailable", func(context.Context) (uint64, time.Time, error) { return 0, time.Time{}, errors.New("no bus") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m Metrics
			reg := busmetrics.NewRegistry()
			if err := m.Register(reg, tc.backlog); err != nil {
				t.Fatal(err)
			}
			m.Submitted(1500 * time.Millisecond)
			m.Submitted(250 * time.Millisecond)
			m.Failed()
			m.Dropped()
			srv := httptest.NewServer(busmetrics.Handler(reg, false))
			defer srv.Close()
			fams, err := busmetrics.Scrape(context.Background(), srv.URL+"/metrics")
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range map[string]float64{
				"ecs_state_changes_submitted_total": 2, "ecs_state_change_failures_total": 1,
				"ecs_state_changes_dropped_total": 1, "ecs_state_change_delivery_seconds": 2,
			} {
				if v, ok := fams.Value(name, nil); !ok || v != want {
					t.Errorf("%s = %v (%v), want %v", name, v, ok, want)
				}
			}
			q, ok := fams.Value("ecs_state_changes_queued", nil)
			age, _ := fams.Value("ecs_state_change_oldest_undelivered_seconds", nil)
			if ok != tc.queued || (ok && (q != 7 || age < 59 || age > 120)) {
				t.Errorf("queued %v (%v), oldest %v s", q, ok, age)
			}
		})
	}
}
