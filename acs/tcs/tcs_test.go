package tcs

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimeIsEpochSeconds(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 250e6, time.UTC)
	b, err := json.Marshal(struct {
		T *Time `json:"t"`
	}{At(at)})
	if err != nil || string(b) != `{"t":1796205600.25}` {
		t.Fatalf("%s %v", b, err)
	}
	for _, in := range []string{`1796205600.25`, `"2026-12-02T10:00:00.25Z"`} {
		var got Time
		if err := json.Unmarshal([]byte(in), &got); err != nil || !got.Equal(at) {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	var bad Time
	if err := json.Unmarshal([]byte(`"yesterday"`), &bad); err == nil {
		t.Error("a non-time accepted")
	}
}

func TestTaskHealthOf(t *testing.T) {
	for want, in := range map[string][]string{
		HealthHealthy:   {HealthHealthy, HealthHealthy},
		HealthUnhealthy: {HealthHealthy, HealthUnhealthy},
		HealthUnknown:   {HealthHealthy, HealthUnknown},
	} {
		if got := TaskHealthOf(in); got != want {
			t.Errorf("%v: %s, want %s", in, got, want)
		}
	}
	if TaskHealthOf(nil) != HealthUnknown {
		t.Error("no essential health check should be UNKNOWN")
	}
}
