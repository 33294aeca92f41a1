package introspection

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestWaitingGolden is the /v1/tasks answer for tasks waiting on memory, on a port
// another task holds, and on a HEALTHY dependency, as the scheduler records them
// (testdata/waiting-records.json), with the stages of the containers that ran.
func TestWaitingGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/waiting-records.json")
	if err != nil {
		t.Fatal(err)
	}
	var recs []bus.TaskRecord
	if err := json.Unmarshal(data, &recs); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 29, 19, 16, 20, 0, time.UTC)
	resp := TasksResponse{}
	for _, r := range recs {
		resp.Tasks = append(resp.Tasks, NewTaskResponseAt(r, now))
	}
	got, err := json.MarshalIndent(resp, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	const golden = "testdata/waiting.golden.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestWaitingGolden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("/v1/tasks differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
}
