package ledger

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ecs-agent/ecs-agent/bus"
)

// Classes of refusal; check with errors.Is.
var (
	// ErrQueued means the task waits for others to release resources.
	ErrQueued = errors.New("waiting for host resources")
	// ErrNeverFits means the task cannot run on this host at all.
	ErrNeverFits = errors.New("task can never fit on this host")
	// ErrConflict means an adopted task holds a port another grant holds too.
	ErrConflict = errors.New("port held twice")
)

// Host is what the host offers.
type Host struct {
	CPU       int64 // CPU shares: cores × 1024; 0 means unlimited
	MemoryMiB int64 // total memory minus ECS_RESERVED_MEMORY; 0 means unlimited
	// ReservedTCP and ReservedUDP are ports no task may use (ECS_RESERVED_PORTS…).
	ReservedTCP, ReservedUDP []int
	// DynamicMin and DynamicMax bound the ports handed out for hostPort 0.
	DynamicMin, DynamicMax int
	// InUse reports a port some other program of the host holds; a dynamic port is
	// never one of those (the range is shared with the kernel's ephemeral ports).
	// Nil means none is.
	InUse func(protocol string, port int) bool
}

// PortReq is one host port a task asks for; HostPort 0 asks for a dynamic port.
type PortReq struct {
	Protocol string `json:"protocol"`
	HostPort int    `json:"hostPort"`
}

// Demand is what a task needs.
type Demand struct {
	CPU       int64     `json:"cpu"`
	MemoryMiB int64     `json:"memoryMiB"`
	Ports     []PortReq `json:"ports,omitempty"`
}

// Grant is what a task was given. Ports follow the order of Demand.Ports, with
// every dynamic port resolved.
type Grant struct {
	TaskArn   string    `json:"taskArn"`
	CPU       int64     `json:"cpu"`
	MemoryMiB int64     `json:"memoryMiB"`
	Ports     []PortReq `json:"ports,omitempty"`
}

// PortStrings returns the granted ports as "tcp/8080" strings.
func (g Grant) PortStrings() []string {
	out := make([]string, 0, len(g.Ports))
	for _, p := range g.Ports {
		out = append(out, p.Protocol+"/"+strconv.Itoa(p.HostPort))
	}
	return out
}

// DemandOf computes a task's demand (PROTOCOL.md §4.5): task-level CPU (vCPU × 1024)
// and memory when set, else the sums over containers, a container's memory being
// its hard limit or, when that is 0, the MemoryReservation (bytes) of its
// dockerConfig.hostConfig. Ports are every mapping of every container in order;
// in host network mode the host port is the container port.
func DemandOf(spec bus.TaskSpec) (Demand, error) {
	var d Demand
	var cpu, mem int64
	for _, c := range spec.Containers {
		cpu += c.CPU
		m := c.Memory
		if m == 0 && c.DockerConfig.HostConfig != "" {
			var hc struct {
				MemoryReservation int64
			}
			if err := json.Unmarshal([]byte(c.DockerConfig.HostConfig), &hc); err != nil {
				return Demand{}, fmt.Errorf("container %s: reading dockerConfig.hostConfig: %w", c.Name, err)
			}
			m = hc.MemoryReservation / (1 << 20)
		}
		mem += m
		for _, pm := range c.PortMappings {
			if pm.ContainerPortRange != "" {
				continue // ranges are left to Docker
			}
			host := pm.HostPort
			if spec.NetworkMode == "host" && host == 0 {
				host = pm.ContainerPort
			}
			d.Ports = append(d.Ports, PortReq{Protocol: proto(pm.Protocol), HostPort: host})
		}
	}
	d.CPU, d.MemoryMiB = cpu, mem
	if spec.CPU > 0 {
		d.CPU = int64(spec.CPU * 1024)
	}
	if spec.Memory > 0 {
		d.MemoryMiB = spec.Memory
	}
	return d, nil
}

func proto(p string) string {
	if strings.EqualFold(p, "udp") {
		return "udp"
	}
	return "tcp"
}

type queued struct {
	arn    string
	demand Demand
}

// Ledger is the book of grants and the queue of waiting tasks.
type Ledger struct {
	host   Host
	grants map[string]Grant
	queue  []queued
	next   int // where the search for a dynamic port starts, so freed ports rest a while
}

// New returns an empty ledger for host.
func New(host Host) *Ledger {
	return &Ledger{host: host, grants: map[string]Grant{}, next: host.DynamicMin}
}

// Restore puts back a grant loaded from the store.
func (l *Ledger) Restore(g Grant) { l.grants[g.TaskArn] = g }

// Granted returns the task's grant, if it has one.
func (l *Ledger) Granted(arn string) (Grant, bool) {
	g, ok := l.grants[arn]
	return g, ok
}

// Grants returns every grant, for the owner to reconcile with its tasks.
func (l *Ledger) Grants() []Grant {
	out := make([]Grant, 0, len(l.grants))
	for _, g := range l.grants {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b Grant) int { return strings.Compare(a.TaskArn, b.TaskArn) })
	return out
}

// Queued reports whether the task waits in the queue.
func (l *Ledger) Queued(arn string) bool {
	return slices.ContainsFunc(l.queue, func(q queued) bool { return q.arn == arn })
}

// Reserve admits a task. It returns the task's grant (the same one when asked
// again), or an error wrapping ErrQueued (the task now waits in the queue, keeping
// its place when asked again) or ErrNeverFits (with the reason in the message).
//
// Admission is first-fit: a task that fits is admitted even when tasks that came
// before it wait, so that a task waiting for a stopping one never delays an
// unrelated task that fits. The queue's order is the order in which waiting tasks
// are tried when resources come back.
func (l *Ledger) Reserve(arn string, d Demand) (Grant, error) {
	if g, ok := l.grants[arn]; ok {
		return g, nil
	}
	if err := l.neverFits(d); err != nil {
		l.drop(arn)
		return Grant{}, err
	}
	if g, ok := l.tryGrant(arn, d); ok {
		l.drop(arn)
		return g, nil
	}
	if !l.Queued(arn) {
		l.queue = append(l.queue, queued{arn: arn, demand: d})
	}
	return Grant{}, fmt.Errorf("task %s: %w", arn, ErrQueued)
}

// Adopt grants a task whose containers already run (rebuilt after the agent lost its
// store): its CPU and memory count whatever is left, its static ports (those of the
// demand, set from what Docker has bound) are taken as they are, and dynamic ones
// still unresolved (containers not created yet) are picked as usual. It returns the
// grant, and an error wrapping ErrConflict, with the grant made all the same, when a
// port it takes is held by another grant: the containers hold it already, and only
// an operator can sort that out.
func (l *Ledger) Adopt(arn string, d Demand) (Grant, error) {
	if g, ok := l.grants[arn]; ok {
		return g, nil
	}
	l.drop(arn)
	_, _, held := l.used()
	var conflicts []string
	g := Grant{TaskArn: arn, CPU: d.CPU, MemoryMiB: d.MemoryMiB, Ports: make([]PortReq, len(d.Ports))}
	taken := func(p PortReq) bool { return held[p] || l.reserved(p) || slices.Contains(d.Ports, p) }
	next := l.next
	for i, p := range d.Ports {
		switch {
		case p.HostPort != 0 && held[p]:
			conflicts = append(conflicts, fmt.Sprintf("%d/%s", p.HostPort, p.Protocol))
		case p.HostPort == 0:
			if port, ok := l.dynamic(p.Protocol, &next, taken); ok {
				p.HostPort = port
			}
		}
		held[p] = true
		g.Ports[i] = p
	}
	l.next = next
	l.grants[arn] = g
	if len(conflicts) > 0 {
		return g, fmt.Errorf("task %s: %w: host ports %s are held by other tasks too", arn, ErrConflict, strings.Join(conflicts, ", "))
	}
	return g, nil
}

// Release gives back a task's grant (or takes it out of the queue) and admits, in
// queue order, every waiting task that now fits, returning their grants.
func (l *Ledger) Release(arn string) []Grant {
	delete(l.grants, arn)
	l.drop(arn)
	var admitted []Grant
	rest := l.queue[:0:0]
	for _, q := range l.queue {
		if g, ok := l.tryGrant(q.arn, q.demand); ok {
			admitted = append(admitted, g)
			continue
		}
		rest = append(rest, q)
	}
	l.queue = rest
	return admitted
}

// Shortfall says, for an operator, what a waiting task lacks: "512 MiB of memory
// (256 MiB free)", "port 8080 (held by task …)", one item per missing resource. It
// is empty for a task that does not wait.
func (l *Ledger) Shortfall(arn string) []string {
	i := slices.IndexFunc(l.queue, func(q queued) bool { return q.arn == arn })
	if i < 0 {
		return nil
	}
	d := l.queue[i].demand
	cpu, mem, _ := l.used()
	var out []string
	if l.host.CPU > 0 && cpu+d.CPU > l.host.CPU {
		out = append(out, fmt.Sprintf("%d CPU units (%d free)", d.CPU, l.host.CPU-cpu))
	}
	if l.host.MemoryMiB > 0 && mem+d.MemoryMiB > l.host.MemoryMiB {
		out = append(out, fmt.Sprintf("%d MiB of memory (%d MiB free)", d.MemoryMiB, l.host.MemoryMiB-mem))
	}
	holder := map[PortReq]string{}
	for _, g := range l.Grants() {
		for _, p := range g.Ports {
			holder[p] = g.TaskArn
		}
	}
	dynamic := 0
	for _, p := range d.Ports {
		if p.HostPort == 0 {
			dynamic++
			continue
		}
		if h, ok := holder[p]; ok {
			name := strconv.Itoa(p.HostPort)
			if p.Protocol == "udp" {
				name += "/udp"
			}
			out = append(out, fmt.Sprintf("port %s (held by task %s)", name, h))
		}
	}
	if len(out) == 0 && dynamic > 0 {
		out = append(out, fmt.Sprintf("%d free dynamic host ports", dynamic))
	}
	return out
}

func (l *Ledger) drop(arn string) {
	l.queue = slices.DeleteFunc(l.queue, func(q queued) bool { return q.arn == arn })
}

// neverFits checks what no release can fix.
func (l *Ledger) neverFits(d Demand) error {
	never := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrNeverFits, fmt.Sprintf(format, args...))
	}
	if l.host.CPU > 0 && d.CPU > l.host.CPU {
		return never("the task needs %d CPU units and the host has %d", d.CPU, l.host.CPU)
	}
	if l.host.MemoryMiB > 0 && d.MemoryMiB > l.host.MemoryMiB {
		return never("the task needs %d MiB of memory and the host offers %d MiB", d.MemoryMiB, l.host.MemoryMiB)
	}
	seen := map[PortReq]bool{}
	dynamic := 0
	for _, p := range d.Ports {
		if p.HostPort == 0 {
			dynamic++
			continue
		}
		if l.reserved(p) {
			return never("host port %d/%s is reserved on this instance (ECS_RESERVED_PORTS)", p.HostPort, p.Protocol)
		}
		if seen[p] {
			return never("host port %d/%s is mapped twice in the task", p.HostPort, p.Protocol)
		}
		seen[p] = true
	}
	if size := l.host.DynamicMax - l.host.DynamicMin + 1; dynamic > size {
		return never("the task needs %d dynamic host ports and ECS_DYNAMIC_HOST_PORT_RANGE holds %d", dynamic, size)
	}
	return nil
}

func (l *Ledger) reserved(p PortReq) bool {
	if p.Protocol == "udp" {
		return slices.Contains(l.host.ReservedUDP, p.HostPort)
	}
	return slices.Contains(l.host.ReservedTCP, p.HostPort)
}

// used sums what the current grants hold.
func (l *Ledger) used() (cpu, mem int64, ports map[PortReq]bool) {
	ports = map[PortReq]bool{}
	for _, g := range l.grants {
		cpu += g.CPU
		mem += g.MemoryMiB
		for _, p := range g.Ports {
			ports[p] = true
		}
	}
	return cpu, mem, ports
}

// tryGrant grants d if it fits now.
func (l *Ledger) tryGrant(arn string, d Demand) (Grant, bool) {
	cpu, mem, held := l.used()
	if l.host.CPU > 0 && cpu+d.CPU > l.host.CPU || l.host.MemoryMiB > 0 && mem+d.MemoryMiB > l.host.MemoryMiB {
		return Grant{}, false
	}
	for _, p := range d.Ports {
		if p.HostPort != 0 && held[p] {
			return Grant{}, false
		}
	}
	taken := func(p PortReq) bool {
		return held[p] || l.reserved(p) || slices.Contains(d.Ports, p)
	}
	g := Grant{TaskArn: arn, CPU: d.CPU, MemoryMiB: d.MemoryMiB, Ports: make([]PortReq, len(d.Ports))}
	next := l.next
	for i, p := range d.Ports {
		if p.HostPort == 0 {
			port, ok := l.dynamic(p.Protocol, &next, taken)
			if !ok {
				return Grant{}, false
			}
			p.HostPort = port
			held[p] = true
		}
		g.Ports[i] = p
	}
	l.next = next
	l.grants[arn] = g
	return g, true
}

// dynamic finds a free port of the range, starting at *next and wrapping once.
func (l *Ledger) dynamic(protocol string, next *int, taken func(PortReq) bool) (int, bool) {
	lo, hi := l.host.DynamicMin, l.host.DynamicMax
	size := hi - lo + 1
	if size <= 0 {
		return 0, false
	}
	start := *next
	if start < lo || start > hi {
		start = lo
	}
	for i := range size {
		port := lo + (start-lo+i)%size
		if !taken(PortReq{Protocol: protocol, HostPort: port}) && (l.host.InUse == nil || !l.host.InUse(protocol, port)) {
			*next = port + 1
			return port, true
		}
	}
	return 0, false
}
