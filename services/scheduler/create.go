package scheduler

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"strconv"
	"strings"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/services/scheduler/ledger"
	"github.com/ecs-agent/ecs-agent/services/scheduler/task"
)

// randHex is the random suffix of a container's Docker name.
func randHex() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newEndpointID is a container's ID in the task metadata endpoint's paths: random
// (a UUID, as the real agent's), so that no container can guess another task's.
func newEndpointID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// The host the real agent's task endpoints are reached at from a container: a
// link-local address that its init NATs to 127.0.0.1:51679 (deploy/ has the rule).
const taskEndpointHost = "http://169.254.170.2"

// injectedEnv is the environment the agent gives every container (PROTOCOL.md
// §4.7): the task metadata endpoints, the agent API, the task role's credentials
// path, and the region unless the container sets it.
func injectedEnv(spec bus.TaskSpec, c *bus.ContainerSpec, endpointID, region string) map[string]string {
	env := map[string]string{}
	if endpointID != "" {
		env["ECS_CONTAINER_METADATA_URI"] = taskEndpointHost + "/v3/" + endpointID
		env["ECS_CONTAINER_METADATA_URI_V4"] = taskEndpointHost + "/v4/" + endpointID
		env["ECS_AGENT_URI"] = taskEndpointHost + "/api/" + endpointID
	}
	if spec.TaskCredentialsID != "" {
		env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/" + spec.TaskCredentialsID
	}
	if region != "" {
		for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
			if _, set := c.Environment[k]; !set {
				env[k] = region
			}
		}
	}
	return env
}

// volumeName is the Docker volume behind a task-scoped volume (a scratch host
// volume or a task-scoped docker volume). The suffix is derived from the task ARN
// rather than drawn at random, so that every container of the task, and a
// scheduler restarted halfway through creating them, names the same volume.
// A shared docker volume is named by the volume's own name.
func volumeName(spec bus.TaskSpec, v bus.VolumeSpec) string {
	if v.Docker != nil && v.Docker.Scope == "shared" {
		return v.Name
	}
	sum := sha256.Sum256([]byte(spec.Arn + "\x00" + v.Name))
	return task.DockerName(spec.Family, spec.Version, v.Name, hex.EncodeToString(sum[:10]))
}

// createRequest resolves everything host-side about one container: its injected
// environment, its granted host ports, the Docker names of the containers it links to or takes volumes
// from, and its volume binds.
func createRequest(rec *bus.TaskRecord, name string, grant *ledger.Grant, region string) bus.CreateRequest {
	spec := rec.Spec
	c := task.Spec(rec, name)
	cr := task.Container(rec, name)
	req := bus.CreateRequest{
		TaskArn:     spec.Arn,
		Cluster:     rec.Cluster,
		Family:      spec.Family,
		Version:     spec.Version,
		Container:   *c,
		NetworkMode: spec.NetworkMode,
		DockerName:  cr.DockerName,
		ExtraEnv:    injectedEnv(spec, c, cr.EndpointID, region),
		EndpointID:  cr.EndpointID,
	}
	if len(c.Secrets) > 0 {
		req.ExecutionCredentialsID = spec.ExecutionCredentialsID
	}
	// Ports: the grant lists every non-range mapping of every container in order.
	idx := 0
	for _, other := range spec.Containers {
		for _, pm := range other.PortMappings {
			if pm.ContainerPortRange != "" {
				if other.Name == name {
					req.PortBindings = append(req.PortBindings, pm)
				}
				continue
			}
			if other.Name == name {
				p := pm
				if p.Protocol == "" {
					p.Protocol = "tcp"
				}
				if grant != nil && idx < len(grant.Ports) {
					p.HostPort = grant.Ports[idx].HostPort
				}
				req.PortBindings = append(req.PortBindings, p)
			}
			idx++
		}
	}
	for _, l := range c.Links {
		target, alias, ok := strings.Cut(l, ":")
		if !ok {
			alias = target
		}
		if t := task.Container(rec, target); t != nil {
			req.Links = append(req.Links, t.DockerName+":"+alias)
		}
	}
	for _, vf := range c.VolumesFrom {
		if t := task.Container(rec, vf.SourceContainer); t != nil {
			v := t.DockerName
			if vf.ReadOnly {
				v += ":ro"
			}
			req.VolumesFrom = append(req.VolumesFrom, v)
		}
	}
	for _, m := range c.MountPoints {
		for _, v := range spec.Volumes {
			if v.Name != m.SourceVolume {
				continue
			}
			src := v.SourcePath
			if src == "" || v.Type == "docker" {
				src = volumeName(spec, v)
			}
			b := src + ":" + m.ContainerPath
			if m.ReadOnly {
				b += ":ro"
			}
			req.Binds = append(req.Binds, b)
		}
	}
	return req
}

// portInUse reports whether a host port is held by another program, by trying to
// bind it on bindIP (0.0.0.0 when empty) as Docker's proxy would.
func portInUse(bindIP string) func(protocol string, port int) bool {
	if bindIP == "" {
		bindIP = "0.0.0.0"
	}
	return func(protocol string, port int) bool {
		addr := net.JoinHostPort(bindIP, strconv.Itoa(port))
		if protocol == "udp" {
			c, err := net.ListenPacket("udp", addr)
			if err != nil {
				return true
			}
			c.Close()
			return false
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return true
		}
		l.Close()
		return false
	}
}
