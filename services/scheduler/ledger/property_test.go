package ledger

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestLedgerProperties drives ledgers through random arrivals, exits and restarts
// (the grants saved and restored into a new ledger, as a restarted scheduler does) and
// checks after every step that no port is ever held twice, no reserved port is ever
// handed out, static ports are granted as asked and dynamic ones from the range, the
// totals equal the sum over admitted tasks and stay within the host, and no task is
// both granted and queued.
func TestLedgerProperties(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, seed*7919))
			h := Host{CPU: 4096, MemoryMiB: 2048, ReservedTCP: []int{22, 8081}, ReservedUDP: []int{53},
				DynamicMin: 40000, DynamicMax: 40000 + r.IntN(12)}
			l := New(h)
			demands := map[string]Demand{}
			var live []string
			next := 0
			for step := 0; step < 300; step++ {
				switch op := r.IntN(10); {
				case op < 5: // a task arrives
					arn := fmt.Sprintf("task-%d", next)
					next++
					d := randomDemand(r)
					demands[arn] = d
					_, err := l.Reserve(arn, d)
					if err != nil && !errors.Is(err, ErrQueued) && !errors.Is(err, ErrNeverFits) {
						t.Fatalf("step %d: Reserve: %v", step, err)
					}
					if !errors.Is(err, ErrNeverFits) {
						live = append(live, arn)
					}
				case op < 9 && len(live) > 0: // a task exits (admitted or waiting)
					i := r.IntN(len(live))
					l.Release(live[i])
					live = slices.Delete(live, i, i+1)
				default: // the scheduler restarts: grants are restored, the queue rebuilt in order
					grants := l.Grants()
					var queued []string
					for _, q := range l.queue {
						queued = append(queued, q.arn)
					}
					l = New(h)
					for _, g := range grants {
						l.Restore(g)
					}
					for _, arn := range queued {
						if _, err := l.Reserve(arn, demands[arn]); err != nil && !errors.Is(err, ErrQueued) {
							t.Fatalf("step %d: re-admitting %s after the restart: %v", step, arn, err)
						}
					}
				}
				checkLedger(t, step, l, h, demands)
			}
		})
	}
}

func randomDemand(r *rand.Rand) Demand {
	d := Demand{CPU: int64(r.IntN(1500)), MemoryMiB: int64(r.IntN(800))}
	for range r.IntN(4) {
		p := PortReq{Protocol: "tcp"}
		if r.IntN(4) == 0 {
			p.Protocol = "udp"
		}
		if r.IntN(2) == 0 {
			// Static ports from a small set, so that tasks clash, reserved ones included.
			p.HostPort = []int{80, 443, 8080, 8081, 22, 53, 40001}[r.IntN(7)]
		}
		d.Ports = append(d.Ports, p)
	}
	return d
}

func checkLedger(t *testing.T, step int, l *Ledger, h Host, demands map[string]Demand) {
	t.Helper()
	held := map[PortReq]string{}
	var cpu, mem int64
	for arn, g := range l.grants {
		d := demands[arn]
		cpu += g.CPU
		mem += g.MemoryMiB
		if g.CPU != d.CPU || g.MemoryMiB != d.MemoryMiB || len(g.Ports) != len(d.Ports) {
			t.Fatalf("step %d: grant %+v does not match demand %+v", step, g, d)
		}
		for i, p := range g.Ports {
			if owner, ok := held[p]; ok {
				t.Fatalf("step %d: port %d/%s held by %s and %s", step, p.HostPort, p.Protocol, owner, arn)
			}
			held[p] = arn
			if l.reserved(p) {
				t.Fatalf("step %d: reserved port %d/%s granted to %s", step, p.HostPort, p.Protocol, arn)
			}
			want := d.Ports[i]
			switch {
			case want.Protocol != p.Protocol:
				t.Fatalf("step %d: %s asked %s, got %s", step, arn, want.Protocol, p.Protocol)
			case want.HostPort != 0 && want.HostPort != p.HostPort:
				t.Fatalf("step %d: %s asked port %d, got %d", step, arn, want.HostPort, p.HostPort)
			case want.HostPort == 0 && (p.HostPort < h.DynamicMin || p.HostPort > h.DynamicMax):
				t.Fatalf("step %d: %s got dynamic port %d outside %d-%d", step, arn, p.HostPort, h.DynamicMin, h.DynamicMax)
			}
		}
		if l.Queued(arn) {
			t.Fatalf("step %d: %s is both granted and queued", step, arn)
		}
	}
	if cpu > h.CPU || mem > h.MemoryMiB {
		t.Fatalf("step %d: grants hold %d CPU and %d MiB, the host has %d and %d", step, cpu, mem, h.CPU, h.MemoryMiB)
	}
	ucpu, umem, uports := l.used()
	if ucpu != cpu || umem != mem || len(uports) != len(held) {
		t.Fatalf("step %d: the ledger's totals %d/%d/%d ports differ from the sum over grants %d/%d/%d", step, ucpu, umem, len(uports), cpu, mem, len(held))
	}
}
