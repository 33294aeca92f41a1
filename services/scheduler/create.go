package scheduler

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
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

// createRequest resolves everything host-side about one container: its granted
// host ports, the Docker names of the containers it links to or takes volumes
// from, and its volume binds.
func createRequest(rec *bus.TaskRecord, name string, grant *ledger.Grant) bus.CreateRequest {
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
