package metrics

import (
	"testing"

	"github.com/ecs-agent/ecs-agent/bus/bustest"
)

// Several connections of one process (the all-in-one's services) share the one
// collector of the registry.
func TestBusRTTOfSeveralConnections(t *testing.T) {
	b := bustest.Start(t)
	reg := NewRegistry()
	for _, name := range []string{"one", "two"} {
		if err := RegisterBusRTT(reg, b.Conn(t, name)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == Namespace+"_bus_connected" && len(mf.GetMetric()) != 2 {
			t.Errorf("%d connections exported, want 2", len(mf.GetMetric()))
		}
	}
}
