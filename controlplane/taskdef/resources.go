package taskdef

// Requirements is what a task holds on its instance from placement until it is reported
// STOPPED: CPU units, memory in MiB and static host ports.
type Requirements struct {
	CPU      int64   `json:"cpu"`
	Memory   int64   `json:"memory"`
	TCPPorts []int64 `json:"tcpPorts,omitempty"`
	UDPPorts []int64 `json:"udpPorts,omitempty"`
}

// RequirementsOf computes what a task of d with overrides o needs: the task-level cpu and
// memory when set, else the containers' sum (memoryReservation where memory is absent),
// and every static host port. Both inputs must already be valid.
func RequirementsOf(d Definition, o Overrides) Requirements {
	var r Requirements
	taskCPU, _ := parseCPU(firstNonEmpty(o.CPU, d.CPU))
	taskMem, _ := parseMemory(firstNonEmpty(o.Memory, d.Memory))
	for _, c := range d.ContainerDefinitions {
		cpu, mem, res := c.CPU, c.Memory, c.MemoryReservation
		if co := o.For(c.Name); co != nil {
			if co.CPU != nil {
				cpu = *co.CPU
			}
			if co.Memory != nil {
				mem = co.Memory
			}
			if co.MemoryReservation != nil {
				res = co.MemoryReservation
			}
		}
		r.CPU += cpu
		switch {
		case mem != nil:
			r.Memory += *mem
		case res != nil:
			r.Memory += *res
		}
		for _, p := range c.PortMappings {
			host := hostPortOf(d.NetworkMode, p)
			if host == 0 {
				continue
			}
			if p.Protocol == "udp" {
				r.UDPPorts = append(r.UDPPorts, host)
			} else {
				r.TCPPorts = append(r.TCPPorts, host)
			}
		}
	}
	if taskCPU > 0 {
		r.CPU = taskCPU
	}
	if taskMem > 0 {
		r.Memory = taskMem
	}
	return r
}

// hostPortOf is the static host port a mapping takes: the explicit hostPort, or in host
// network mode the container port itself; 0 means dynamic (or none, for awsvpc).
func hostPortOf(networkMode string, p PortMapping) int64 {
	switch networkMode {
	case "awsvpc", "none":
		return 0
	case "host":
		if p.HostPort != nil && *p.HostPort != 0 {
			return *p.HostPort
		}
		if p.ContainerPort != nil {
			return *p.ContainerPort
		}
		return 0
	}
	if p.HostPort != nil {
		return *p.HostPort
	}
	return 0
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
