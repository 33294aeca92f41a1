package dockerexec

import (
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/ecs-agent/ecs-agent/bus"
)

// containerState describes an inspected container in the bus's terms.
//
//	Docker:  created ──▶ running/paused/restarting ──▶ exited/dead/removing
//	bus:     CREATED ──▶ RUNNING                   ──▶ STOPPED (exit code)
func containerState(in container.InspectResponse, excludeIPv6 bool) bus.ContainerState {
	st := bus.ContainerState{Status: bus.StatusCreated}
	if in.ContainerJSONBase != nil {
		st.DockerID = in.ID
		st.DockerName = strings.TrimPrefix(in.Name, "/")
		st.ImageID = in.Image
		st.CreatedAt = parseDockerTime(in.Created)
		st.RestartCount = in.RestartCount
		if s := in.State; s != nil {
			st.Status = dockerStatus(s.Status)
			if st.Status == bus.StatusStopped {
				code := s.ExitCode
				st.ExitCode = &code
			}
			st.OOMKilled = s.OOMKilled
			st.Error = s.Error
			st.Health = dockerHealth(s.Health)
			if t := parseDockerTime(s.StartedAt); !t.IsZero() {
				st.StartedAt = &t
			}
			if t := parseDockerTime(s.FinishedAt); !t.IsZero() && st.Status == bus.StatusStopped {
				st.FinishedAt = &t
			}
		}
	}
	if in.Config != nil {
		st.Image = in.Config.Image
		st.Labels = in.Config.Labels
		st.TaskArn = in.Config.Labels[bus.LabelTaskARN]
		st.ContainerName = in.Config.Labels[bus.LabelContainerName]
	}
	if in.NetworkSettings != nil {
		st.NetworkBindings = networkBindings(in.NetworkSettings.Ports, excludeIPv6)
	}
	return st
}

// dockerStatus maps Docker's state string. A paused or restarting container still
// runs as far as a task is concerned; a container being removed has stopped.
func dockerStatus(s string) bus.Status {
	switch s {
	case container.StateCreated:
		return bus.StatusCreated
	case container.StateRunning, container.StatePaused, container.StateRestarting:
		return bus.StatusRunning
	case container.StateExited, container.StateDead, container.StateRemoving:
		return bus.StatusStopped
	}
	return bus.StatusCreated
}

// dockerHealth maps Docker's health status; a container without a health check has
// no health to report.
func dockerHealth(h *container.Health) bus.Health {
	if h == nil {
		return ""
	}
	return healthOf(h.Status)
}

func healthOf(s string) bus.Health {
	switch s {
	case container.Healthy:
		return bus.HealthHealthy
	case container.Unhealthy:
		return bus.HealthUnhealthy
	case container.NoHealthcheck, "":
		return ""
	}
	return bus.HealthUnknown
}

// networkBindings lists the published ports, sorted so that replies are stable;
// with excludeIPv6 (ECS_EXCLUDE_IPV6_PORTBINDING) the IPv6 ones ("::", which Docker
// adds beside "0.0.0.0") are left out, as the real agent leaves them out.
func networkBindings(ports nat.PortMap, excludeIPv6 bool) []bus.NetworkBinding {
	var out []bus.NetworkBinding
	for p, bindings := range ports {
		for _, b := range bindings {
			if ip := net.ParseIP(b.HostIP); excludeIPv6 && ip != nil && ip.To4() == nil {
				continue
			}
			hp, err := strconv.Atoi(b.HostPort)
			if err != nil || hp == 0 {
				continue
			}
			out = append(out, bus.NetworkBinding{
				BindIP:        b.HostIP,
				ContainerPort: p.Int(),
				HostPort:      hp,
				Protocol:      p.Proto(),
			})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.ContainerPort != b.ContainerPort {
			return a.ContainerPort < b.ContainerPort
		}
		if a.Protocol != b.Protocol {
			return a.Protocol < b.Protocol
		}
		return a.BindIP < b.BindIP
	})
	return out
}

// parseDockerTime reads Docker's RFC 3339 times; Docker writes the zero time
// ("0001-01-01T00:00:00Z") for events that have not happened.
func parseDockerTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}
