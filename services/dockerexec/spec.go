package dockerexec

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/ecs-agent/ecs-agent/bus"
)

// Limits the real agent applies to a container's resources (PROTOCOL.md §4.7).
const (
	minCPUShares   = 2
	maxCPUShares   = 262144
	minMemoryBytes = 4 << 20
	mib            = 1 << 20
)

// createConfig builds the Docker create call of a request, in the real agent's
// order: the agent's own fields first, then dockerConfig.config and
// dockerConfig.hostConfig unmarshalled over them (their keys win), then the agent's
// labels (they win over everything). A problem the task definition can fix comes
// back as CodeCreateFailed; a malformed request as CodeBadRequest.
func createConfig(req bus.CreateRequest, bindIP string, secretEnv map[string]string) (*container.Config, *container.HostConfig, error) {
	c := req.Container
	cfg := &container.Config{
		Image:        c.Image,
		Env:          environment(c.Environment, req.ExtraEnv, secretEnv),
		ExposedPorts: nat.PortSet{},
		Labels:       map[string]string{},
	}
	if len(c.Command) > 0 {
		cfg.Cmd = append([]string(nil), c.Command...)
	}
	if len(c.EntryPoint) > 0 {
		cfg.Entrypoint = append([]string(nil), c.EntryPoint...)
	}
	mode, err := networkMode(req.NetworkMode)
	if err != nil {
		return nil, nil, err
	}
	host := &container.HostConfig{
		NetworkMode:  mode,
		Links:        append([]string(nil), req.Links...),
		VolumesFrom:  append([]string(nil), req.VolumesFrom...),
		Binds:        append([]string(nil), req.Binds...),
		Privileged:   c.Privileged,
		PortBindings: nat.PortMap{},
	}
	host.CPUShares = cpuShares(c.CPU)
	host.Memory = memoryBytes(c.Memory)
	host.CgroupParent = req.CgroupParent
	for _, pm := range req.PortBindings {
		ports, err := containerPorts(pm)
		if err != nil {
			return nil, nil, err
		}
		hostPort := ""
		if pm.HostPort != 0 && len(ports) == 1 {
			hostPort = strconv.Itoa(pm.HostPort)
		}
		for _, p := range ports {
			cfg.ExposedPorts[p] = struct{}{}
			// A host-network container has no port mapping: its ports are the
			// host's. Docker would only warn and drop them.
			if mode.IsHost() {
				continue
			}
			host.PortBindings[p] = append(host.PortBindings[p], nat.PortBinding{HostIP: bindIP, HostPort: hostPort})
		}
	}
	if s := strings.TrimSpace(c.DockerConfig.Config); s != "" {
		if err := json.Unmarshal([]byte(s), cfg); err != nil {
			return nil, nil, bus.Errorf(bus.CodeCreateFailed,
				"container %s: dockerConfig.config is not a Docker container configuration: %v", c.Name, err)
		}
	}
	if s := strings.TrimSpace(c.DockerConfig.HostConfig); s != "" {
		if err := json.Unmarshal([]byte(s), host); err != nil {
			return nil, nil, bus.Errorf(bus.CodeCreateFailed,
				"container %s: dockerConfig.hostConfig is not a Docker host configuration: %v", c.Name, err)
		}
	}
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	for k, v := range agentLabels(req) {
		cfg.Labels[k] = v
	}
	return cfg, host, nil
}

// agentLabels are the labels that tie a container to its task; they are how every
// command finds a container again after a crash (PROTOCOL.md §4.7).
func agentLabels(req bus.CreateRequest) map[string]string {
	l := map[string]string{
		bus.LabelTaskARN:        req.TaskArn,
		bus.LabelContainerName:  req.Container.Name,
		bus.LabelTaskDefFamily:  req.Family,
		bus.LabelTaskDefVersion: req.Version,
		bus.LabelCluster:        req.Cluster,
	}
	if req.ContainerInstanceArn != "" {
		l[bus.LabelContainerInstanceARN] = req.ContainerInstanceArn
	}
	if req.TaskSpec != "" {
		l[bus.LabelTaskSpec] = req.TaskSpec
	}
	if req.EndpointID != "" {
		l[bus.LabelEndpointID] = req.EndpointID
	}
	return l
}

// environment merges the container's environment, the agent's and the secrets',
// each winning over the ones before, sorted so that the same request always builds
// the same container.
func environment(layers ...map[string]string) []string {
	merged := map[string]string{}
	for _, l := range layers {
		for k, v := range l {
			merged[k] = v
		}
	}
	env := make([]string, 0, len(merged))
	for k, v := range merged {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// cpuShares clamps to what the kernel accepts; 0 and 1 would make Docker fall back
// to its default of 1024, which is not what a task asking for nothing means.
func cpuShares(cpu int64) int64 {
	return min(max(cpu, minCPUShares), maxCPUShares)
}

// memoryBytes converts MiB to bytes; 0 is no limit, anything below 4 MiB is raised
// to 4 MiB, the smallest limit Docker accepts.
func memoryBytes(mebibytes int64) int64 {
	if mebibytes <= 0 {
		return 0
	}
	return max(mebibytes*mib, minMemoryBytes)
}

func networkMode(m string) (container.NetworkMode, error) {
	switch {
	case m == "" || m == "bridge" || m == "default":
		return "bridge", nil
	case m == "host" || m == "none":
		return container.NetworkMode(m), nil
	case strings.HasPrefix(m, "container:"):
		return container.NetworkMode(m), nil
	case m == "awsvpc":
		return "", bus.Errorf(bus.CodeCreateFailed, "network mode awsvpc is not supported by this agent; use bridge, host or none")
	}
	return "", bus.Errorf(bus.CodeCreateFailed, "network mode %q is not supported; use bridge, host or none", m)
}

// containerPorts lists the Docker ports of one mapping: one port, or every port of
// a containerPortRange ("8000-8010").
func containerPorts(pm bus.PortMapping) ([]nat.Port, error) {
	proto := strings.ToLower(pm.Protocol)
	if proto == "" {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return nil, badRequest("port mapping protocol %q: want tcp or udp", pm.Protocol)
	}
	if pm.HostPort < 0 || pm.HostPort > 65535 {
		return nil, badRequest("host port %d is outside 0-65535", pm.HostPort)
	}
	if pm.ContainerPortRange == "" {
		if pm.ContainerPort < 1 || pm.ContainerPort > 65535 {
			return nil, badRequest("container port %d is outside 1-65535", pm.ContainerPort)
		}
		p, err := nat.NewPort(proto, strconv.Itoa(pm.ContainerPort))
		if err != nil {
			return nil, badRequest("container port %d: %v", pm.ContainerPort, err)
		}
		return []nat.Port{p}, nil
	}
	lo, hi, ok := strings.Cut(pm.ContainerPortRange, "-")
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if !ok || err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
		return nil, badRequest("container port range %q: want MIN-MAX within 1-65535", pm.ContainerPortRange)
	}
	ports := make([]nat.Port, 0, b-a+1)
	for n := a; n <= b; n++ {
		p, err := nat.NewPort(proto, strconv.Itoa(n))
		if err != nil {
			return nil, badRequest("container port %d: %v", n, err)
		}
		ports = append(ports, p)
	}
	return ports, nil
}

// validateCreate checks what no Docker call could make sense of.
func validateCreate(req bus.CreateRequest) error {
	switch {
	case req.TaskArn == "":
		return badRequest("create: taskArn is required")
	case req.Container.Name == "":
		return badRequest("create: container.name is required")
	case req.Container.Image == "":
		return badRequest("create: container %s has no image", req.Container.Name)
	}
	return nil
}

// describePorts is for logs.
func describePorts(m nat.PortMap) string {
	var parts []string
	for p, bs := range m {
		for _, b := range bs {
			parts = append(parts, fmt.Sprintf("%s:%s->%s", b.HostIP, b.HostPort, p))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
