package taskdef

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
)

var familyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// Validate checks a definition the way RegisterTaskDefinition does and returns a
// ClientException naming the first problem.
func Validate(d Definition) error {
	if !familyPattern.MatchString(d.Family) {
		return awserr.Client("Family contains invalid characters or is not between 1 and 255 characters: %q", d.Family)
	}
	if len(d.ContainerDefinitions) == 0 {
		return awserr.Client("Container list cannot be empty.")
	}
	switch d.NetworkMode {
	case "", "bridge", "host", "awsvpc", "none":
	default:
		return awserr.Client("Network mode %q is not supported.", d.NetworkMode)
	}
	taskMem, err := parseMemory(d.Memory)
	if err != nil {
		return err
	}
	if _, err := parseCPU(d.CPU); err != nil {
		return err
	}
	volumes := map[string]bool{}
	for _, v := range d.Volumes {
		if v.Name == "" {
			return awserr.Client("Volume name should not be null or empty.")
		}
		if v.DockerVolumeConfiguration != nil {
			switch v.DockerVolumeConfiguration.Scope {
			case "", "task", "shared":
			default:
				return awserr.Client("Invalid scope %q for volume %q.", v.DockerVolumeConfiguration.Scope, v.Name)
			}
		}
		volumes[v.Name] = true
	}
	names := map[string]bool{}
	for _, c := range d.ContainerDefinitions {
		if c.Name == "" {
			return awserr.Client("Container.name should not be null or empty.")
		}
		if c.Image == "" {
			return awserr.Client("Container.image should not be null or empty.")
		}
		if names[c.Name] {
			return awserr.Client("Duplicate container name %q.", c.Name)
		}
		names[c.Name] = true
		if c.Memory == nil && c.MemoryReservation == nil && taskMem == 0 {
			return awserr.Client("Invalid setting for container '%s'. At least one of 'memory' or 'memoryReservation' must be specified.", c.Name)
		}
		if c.Memory != nil && c.MemoryReservation != nil && *c.Memory < *c.MemoryReservation {
			return awserr.Client("Invalid setting for container '%s'. 'memory' must be greater than or equal to 'memoryReservation'.", c.Name)
		}
		if c.CPU < 0 || (c.Memory != nil && *c.Memory < 0) {
			return awserr.Client("Invalid setting for container '%s'. 'cpu' and 'memory' must not be negative.", c.Name)
		}
		for _, p := range c.PortMappings {
			switch p.Protocol {
			case "", "tcp", "udp":
			default:
				return awserr.Client("Invalid protocol %q for container '%s'.", p.Protocol, c.Name)
			}
		}
		for _, m := range c.MountPoints {
			if !volumes[m.SourceVolume] {
				return awserr.Client("Invalid 'sourceVolume' %q for container '%s': no volume of that name.", m.SourceVolume, c.Name)
			}
		}
		for _, dep := range c.DependsOn {
			switch dep.Condition {
			case "START", "COMPLETE", "SUCCESS", "HEALTHY":
			default:
				return awserr.Client("Invalid dependsOn condition %q for container '%s'.", dep.Condition, c.Name)
			}
		}
	}
	for _, c := range d.ContainerDefinitions {
		for _, dep := range c.DependsOn {
			if !names[dep.ContainerName] {
				return awserr.Client("Container '%s' depends on an unknown container '%s'.", c.Name, dep.ContainerName)
			}
		}
	}
	return nil
}

// parseCPU turns a task-level cpu ("256", "1 vcpu", "0.5 vCPU") into CPU units.
func parseCPU(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" {
		return 0, nil
	}
	if v, ok := strings.CutSuffix(s, "vcpu"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f <= 0 {
			return 0, awserr.Client("Invalid 'cpu' setting for task: %q", s)
		}
		return int64(f * 1024), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, awserr.Client("Invalid 'cpu' setting for task: %q", s)
	}
	return n, nil
}

// parseMemory turns a task-level memory ("512", "1 GB", "2gb") into MiB.
func parseMemory(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" {
		return 0, nil
	}
	if v, ok := strings.CutSuffix(s, "gb"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f <= 0 {
			return 0, awserr.Client("Invalid 'memory' setting for task: %q", s)
		}
		return int64(f * 1024), nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(s, "mb")), 10, 64)
	if err != nil || n <= 0 {
		return 0, awserr.Client("Invalid 'memory' setting for task: %q", s)
	}
	return n, nil
}

// ValidateOverrides checks that every container override names a container of d.
func ValidateOverrides(d Definition, o Overrides) error {
	for _, co := range o.ContainerOverrides {
		found := false
		for _, c := range d.ContainerDefinitions {
			found = found || c.Name == co.Name
		}
		if !found {
			return awserr.InvalidParameter("Override for container named %s is not a container in the TaskDefinition.", co.Name)
		}
	}
	if _, err := parseCPU(o.CPU); err != nil {
		return awserr.InvalidParameter("%s", err.(*awserr.Error).Message)
	}
	if _, err := parseMemory(o.Memory); err != nil {
		return awserr.InvalidParameter("%s", err.(*awserr.Error).Message)
	}
	return nil
}
