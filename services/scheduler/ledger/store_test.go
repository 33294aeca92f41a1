package ledger

import (
	"context"
	"reflect"
	"testing"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/bustest"
)

func TestStoreRoundTrip(t *testing.T) {
	b := bustest.Start(t)
	nc := b.Conn(t, "test")
	js, err := bus.JetStream(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	kv, err := bus.OpenBucket(ctx, js, bus.BucketLedger)
	if err != nil {
		t.Fatal(err)
	}
	s := Store{KV: kv}
	g := Grant{TaskArn: "arn:aws:ecs:r:1:task/c/abc", CPU: 10, MemoryMiB: 20, Ports: []PortReq{{"tcp", 50000}}}
	if err := s.Save(ctx, g); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, Grant{TaskArn: "other"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "never-there"); err != nil {
		t.Fatalf("deleting a missing grant: %v", err)
	}
	got, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []Grant{g}) {
		t.Fatalf("Load = %+v, want [%+v]", got, g)
	}
}
