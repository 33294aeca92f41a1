package ledger

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ecs-agent/ecs-agent/bus"
)

func host() Host {
	return Host{CPU: 2048, MemoryMiB: 1000, ReservedTCP: []int{22, 51678}, ReservedUDP: []int{53},
		DynamicMin: 50000, DynamicMax: 50003}
}

func TestDemandOf(t *testing.T) {
	tests := []struct {
		name string
		spec bus.TaskSpec
		want Demand
	}{
		{"sums of containers", bus.TaskSpec{Containers: []bus.ContainerSpec{
			{Name: "a", CPU: 100, Memory: 64, PortMappings: []bus.PortMapping{{ContainerPort: 80, HostPort: 8080}}},
			{Name: "b", CPU: 20, Memory: 32, PortMappings: []bus.PortMapping{{ContainerPort: 53, Protocol: "udp"}}},
		}}, Demand{CPU: 120, MemoryMiB: 96, Ports: []PortReq{{"tcp", 8080}, {"udp", 0}}}},
		{"task level wins", bus.TaskSpec{CPU: 0.5, Memory: 512, Containers: []bus.ContainerSpec{{Name: "a", CPU: 10, Memory: 64}}},
			Demand{CPU: 512, MemoryMiB: 512}},
		{"memory reservation in bytes when memory is 0", bus.TaskSpec{Containers: []bus.ContainerSpec{
			{Name: "a", DockerConfig: bus.DockerConfig{HostConfig: `{"CapAdd":[],"MemoryReservation":134217728}`}},
		}}, Demand{MemoryMiB: 128}},
		{"host mode uses the container port", bus.TaskSpec{NetworkMode: "host", Containers: []bus.ContainerSpec{
			{Name: "a", PortMappings: []bus.PortMapping{{ContainerPort: 9000}}},
		}}, Demand{Ports: []PortReq{{"tcp", 9000}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DemandOf(tt.spec)
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("DemandOf = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	if _, err := DemandOf(bus.TaskSpec{Containers: []bus.ContainerSpec{{Name: "a", DockerConfig: bus.DockerConfig{HostConfig: "{"}}}}); err == nil {
		t.Fatal("bad hostConfig accepted")
	}
}

func TestReserve(t *testing.T) {
	tests := []struct {
		name    string
		held    []Demand // granted first, as t0, t1, …
		demand  Demand
		wantErr error
	}{
		{"fits", nil, Demand{CPU: 1024, MemoryMiB: 500}, nil},
		{"cpu never fits", nil, Demand{CPU: 4096}, ErrNeverFits},
		{"memory never fits", nil, Demand{MemoryMiB: 1001}, ErrNeverFits},
		{"reserved tcp port", nil, Demand{Ports: []PortReq{{"tcp", 22}}}, ErrNeverFits},
		{"reserved udp port", nil, Demand{Ports: []PortReq{{"udp", 53}}}, ErrNeverFits},
		{"same port twice", nil, Demand{Ports: []PortReq{{"tcp", 80}, {"tcp", 80}}}, ErrNeverFits},
		{"too many dynamic ports", nil, Demand{Ports: []PortReq{{"tcp", 0}, {"tcp", 0}, {"tcp", 0}, {"tcp", 0}, {"tcp", 0}}}, ErrNeverFits},
		{"udp 22 is not tcp 22", nil, Demand{Ports: []PortReq{{"udp", 22}}}, nil},
		{"cpu taken waits", []Demand{{CPU: 2000}}, Demand{CPU: 100}, ErrQueued},
		{"memory taken waits", []Demand{{MemoryMiB: 900}}, Demand{MemoryMiB: 200}, ErrQueued},
		{"static port taken waits", []Demand{{Ports: []PortReq{{"tcp", 8080}}}}, Demand{Ports: []PortReq{{"tcp", 8080}}}, ErrQueued},
		{"dynamic range exhausted waits", []Demand{{Ports: []PortReq{{"tcp", 0}, {"tcp", 0}, {"tcp", 0}}}},
			Demand{Ports: []PortReq{{"tcp", 0}, {"tcp", 0}}}, ErrQueued},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New(host())
			for i, d := range tt.held {
				if _, err := l.Reserve("held"+string(rune('0'+i)), d); err != nil {
					t.Fatalf("setup: %v", err)
				}
			}
			_, err := l.Reserve("t", tt.demand)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Reserve = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestDynamicPortsNoDoubleGrant(t *testing.T) {
	l := New(host())
	a, err := l.Reserve("a", Demand{Ports: []PortReq{{"tcp", 0}, {"tcp", 50001}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Reserve("b", Demand{Ports: []PortReq{{"tcp", 0}, {"udp", 0}}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[PortReq]string{}
	for _, g := range []Grant{a, b} {
		for _, p := range g.Ports {
			if p.HostPort < 50000 || p.HostPort > 50003 {
				t.Fatalf("port %d outside the range", p.HostPort)
			}
			if other, ok := seen[p]; ok {
				t.Fatalf("port %v granted to %s and %s", p, other, g.TaskArn)
			}
			seen[p] = g.TaskArn
		}
	}
	if a.Ports[0].HostPort == 50001 {
		t.Fatal("dynamic port collides with the task's own static port")
	}
	// Asking again returns the same grant.
	again, err := l.Reserve("a", Demand{Ports: []PortReq{{"tcp", 0}, {"tcp", 50001}}})
	if err != nil || !reflect.DeepEqual(again, a) {
		t.Fatalf("second Reserve = %+v, %v; want %+v", again, err, a)
	}
	// A restored ledger keeps the grants: a new task cannot get the same ports.
	l2 := New(host())
	l2.Restore(a)
	l2.Restore(b)
	c, err := l2.Reserve("c", Demand{Ports: []PortReq{{"tcp", 0}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, dup := seen[c.Ports[0]]; dup {
		t.Fatalf("restored ledger granted %v again", c.Ports[0])
	}
}

func TestFirstFitWait(t *testing.T) {
	l := New(host())
	if _, err := l.Reserve("big", Demand{MemoryMiB: 800}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Reserve("second", Demand{MemoryMiB: 500}); !errors.Is(err, ErrQueued) {
		t.Fatalf("second = %v, want queued", err)
	}
	if got := l.Shortfall("second"); !reflect.DeepEqual(got, []string{"500 MiB of memory (200 MiB free)"}) {
		t.Fatalf("shortfall = %q", got)
	}
	// third fits now: it does not wait behind second, which waits for big.
	if _, err := l.Reserve("third", Demand{MemoryMiB: 100}); err != nil {
		t.Fatalf("third = %v, want admitted at once", err)
	}
	if _, err := l.Reserve("fourth", Demand{MemoryMiB: 400}); !errors.Is(err, ErrQueued) {
		t.Fatalf("fourth = %v, want queued", err)
	}
	if _, err := l.Reserve("fifth", Demand{MemoryMiB: 50}); err != nil {
		t.Fatalf("fifth = %v, want admitted at once", err)
	}
	admitted := l.Release("big")
	var names []string
	for _, g := range admitted {
		names = append(names, g.TaskArn)
	}
	// 850 MiB free: second (500) first in queue order, then fourth (400) no longer fits.
	if !reflect.DeepEqual(names, []string{"second"}) || !l.Queued("fourth") {
		t.Fatalf("admitted = %v, want [second] and fourth still queued", names)
	}
	if g, ok := l.Granted("second"); !ok || g.MemoryMiB != 500 {
		t.Fatalf("second's grant = %+v, %v", g, ok)
	}
	l.Release("second")
	l.Release("fourth")
	// Releasing a queued task takes it out of the queue.
	if _, err := l.Reserve("x", Demand{MemoryMiB: 900}); !errors.Is(err, ErrQueued) {
		t.Fatal(err)
	}
	l.Release("x")
	if l.Queued("x") {
		t.Fatal("released task still queued")
	}
}

func TestShortfallPort(t *testing.T) {
	l := New(host())
	if _, err := l.Reserve("holder", Demand{Ports: []PortReq{{"tcp", 8080}, {"udp", 5353}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Reserve("waiter", Demand{Ports: []PortReq{{"tcp", 8080}, {"udp", 5353}, {"tcp", 9000}}}); !errors.Is(err, ErrQueued) {
		t.Fatal(err)
	}
	want := []string{"port 8080 (held by task holder)", "port 5353/udp (held by task holder)"}
	if got := l.Shortfall("waiter"); !reflect.DeepEqual(got, want) {
		t.Fatalf("shortfall = %q, want %q", got, want)
	}
	if got := l.Shortfall("holder"); got != nil {
		t.Fatalf("a granted task lacks %q", got)
	}
}

func TestPortStrings(t *testing.T) {
	g := Grant{Ports: []PortReq{{"tcp", 80}, {"udp", 53}}}
	if got := g.PortStrings(); !reflect.DeepEqual(got, []string{"tcp/80", "udp/53"}) {
		t.Fatalf("PortStrings = %v", got)
	}
}

func TestDynamicPortsSkipPortsInUseOnTheHost(t *testing.T) {
	busy := map[int]bool{40001: true, 40002: true}
	l := New(Host{DynamicMin: 40000, DynamicMax: 40005, InUse: func(proto string, p int) bool { return proto == "tcp" && busy[p] }})
	d := Demand{Ports: []PortReq{{Protocol: "tcp"}, {Protocol: "tcp"}, {Protocol: "udp"}}}
	g, err := l.Reserve("a", d)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.PortStrings(); strings.Join(got, ",") != "tcp/40000,tcp/40003,udp/40004" {
		t.Errorf("ports %v", got)
	}
}
