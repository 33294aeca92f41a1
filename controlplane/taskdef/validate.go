package taskdef

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
)

// namePattern is what the model allows for families, container and volume names and link
// aliases: up to 255 letters, numbers, underscores and hyphens. The agent builds Docker
// names from them and splits links at ":", so nothing else may pass.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// maxInteger is the largest value of the model's Integer: the SDKs hold these members in
// 32 bits, and the translation multiplies some of them (MiB to bytes, seconds to
// nanoseconds), which must not overflow.
const maxInteger = math.MaxInt32

// Validate checks a definition the way RegisterTaskDefinition does and returns a
// ClientException naming the first problem: the member (with its index) and the value.
//
// Every member the translation (ToACS, RequirementsOf) or the agent interprets is checked
// here, because a definition accepted once is delivered to agents for as long as tasks of
// it run: a value the agent cannot load makes it withhold the payload's ack.
func Validate(d Definition) error {
	if !namePattern.MatchString(d.Family) {
		return awserr.Client("Family contains invalid characters or is not between 1 and 255 characters: %q", d.Family)
	}
	if len(d.ContainerDefinitions) == 0 {
		return awserr.Client("Container list cannot be empty.")
	}
	if d.NetworkMode != "" && !networkModes.has(d.NetworkMode) {
		return invalidTask("networkMode", d.NetworkMode, networkModes.String())
	}
	if d.PidMode != "" && !pidModes.has(d.PidMode) {
		return invalidTask("pidMode", d.PidMode, pidModes.String())
	}
	if d.IpcMode != "" && !ipcModes.has(d.IpcMode) {
		return invalidTask("ipcMode", d.IpcMode, ipcModes.String())
	}
	for i, c := range d.RequiresCompatibilities {
		if !compatibilities.has(c) {
			return invalidTask(fmt.Sprintf("requiresCompatibilities[%d]", i), c, compatibilities.String())
		}
	}
	if err := validateRoles(d); err != nil {
		return err
	}
	taskMem, err := parseMemory(d.Memory)
	if err != nil {
		return err
	}
	if _, err := parseCPU(d.CPU); err != nil {
		return err
	}
	volumes, err := validateVolumes(d.Volumes)
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for i, c := range d.ContainerDefinitions {
		switch {
		case c.Name == "":
			return awserr.Client("Container.name should not be null or empty.")
		case !namePattern.MatchString(c.Name):
			return invalidTask(fmt.Sprintf("containerDefinitions[%d].name", i), c.Name, "up to 255 letters, numbers, underscores and hyphens")
		case names[c.Name]:
			return awserr.Client("Duplicate container name %q.", c.Name)
		}
		names[c.Name] = true
	}
	for _, c := range d.ContainerDefinitions {
		cv := containerCheck{def: d, c: c, containers: names, volumes: volumes, taskMem: taskMem}
		if err := cv.validate(); err != nil {
			return err
		}
	}
	return nil
}

func validateVolumes(vs []Volume) (map[string]bool, error) {
	volumes := map[string]bool{}
	for i, v := range vs {
		switch {
		case v.Name == "":
			return nil, awserr.Client("Volume name should not be null or empty.")
		case !namePattern.MatchString(v.Name):
			return nil, invalidTask(fmt.Sprintf("volumes[%d].name", i), v.Name, "up to 255 letters, numbers, underscores and hyphens")
		case volumes[v.Name]:
			return nil, awserr.Client("Duplicate volume name %q.", v.Name)
		}
		if dc := v.DockerVolumeConfiguration; dc != nil {
			if dc.Scope != "" && !volumeScopes.has(dc.Scope) {
				return nil, invalidTask(fmt.Sprintf("volumes[%d].dockerVolumeConfiguration.scope", i), dc.Scope, volumeScopes.String())
			}
		}
		volumes[v.Name] = true
	}
	return volumes, nil
}

// invalidTask names a task-level member and its value.
func invalidTask(field string, value any, rule string) error {
	return awserr.Client("Invalid %s %s: %s.", field, show(value), rule)
}

// invalidIn names a member of a container definition and its value.
func invalidIn(container, field string, value any, rule string) error {
	return awserr.Client("Invalid %s %s in container '%s': %s.", field, show(value), container, rule)
}

func show(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

// parseCPU turns a task-level cpu ("256", "1 vcpu", "0.5 vCPU") into CPU units.
func parseCPU(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" {
		return 0, nil
	}
	if v, ok := strings.CutSuffix(s, "vcpu"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(f > 0) || f*1024 > maxInteger {
			return 0, awserr.Client("Invalid 'cpu' setting for task: %q", s)
		}
		return int64(f * 1024), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > maxInteger {
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
		if err != nil || !(f > 0) || f*1024 > maxInteger {
			return 0, awserr.Client("Invalid 'memory' setting for task: %q", s)
		}
		return int64(f * 1024), nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(s, "mb")), 10, 64)
	if err != nil || n <= 0 || n > maxInteger {
		return 0, awserr.Client("Invalid 'memory' setting for task: %q", s)
	}
	return n, nil
}

// ValidateOverrides checks that every container override names a container of d and
// that the values the translation reads are in range.
func ValidateOverrides(d Definition, o Overrides) error {
	for _, co := range o.ContainerOverrides {
		found := false
		for _, c := range d.ContainerDefinitions {
			found = found || c.Name == co.Name
		}
		if !found {
			return awserr.InvalidParameter("Override for container named %s is not a container in the TaskDefinition.", co.Name)
		}
		for _, m := range []struct {
			field string
			value *int64
		}{{"cpu", co.CPU}, {"memory", co.Memory}, {"memoryReservation", co.MemoryReservation}} {
			if m.value != nil && (*m.value < 0 || *m.value > maxInteger) {
				return awserr.InvalidParameter("Invalid %s %d in the override of container %s.", m.field, *m.value, co.Name)
			}
		}
		for i, kv := range co.Environment {
			if kv.Name == "" {
				return awserr.InvalidParameter("Invalid environment[%d].name \"\" in the override of container %s: must not be empty.", i, co.Name)
			}
		}
	}
	if err := validateRoleOverrides(o); err != nil {
		return err
	}
	if _, err := parseCPU(o.CPU); err != nil {
		return awserr.InvalidParameter("%s", awserr.As(err).Message)
	}
	if _, err := parseMemory(o.Memory); err != nil {
		return awserr.InvalidParameter("%s", awserr.As(err).Message)
	}
	return nil
}
