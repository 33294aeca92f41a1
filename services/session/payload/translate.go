package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/bus"
)

// ErrInvalidTask classifies every translation failure: the task cannot be loaded as
// sent, and retrying the same payload will not change that.
var ErrInvalidTask = errors.New("invalid task")

// Task translates one ACS task. The error wraps ErrInvalidTask and says which field
// is wrong; the caller reports it as the real agent does
// ("UnrecogniedTaskError: Error loading task - <err>").
func Task(t acs.Task) (bus.TaskSpec, error) {
	if t.Arn == "" {
		return bus.TaskSpec{}, fmt.Errorf("%w: task has no arn", ErrInvalidTask)
	}
	desired, err := desiredStatus(t.DesiredStatus)
	if err != nil {
		return bus.TaskSpec{}, err
	}
	spec := bus.TaskSpec{
		Arn:            t.Arn,
		ClusterArn:     t.TaskClusterArn,
		Family:         t.Family,
		Version:        t.Version,
		DesiredStatus:  desired,
		NetworkMode:    t.NetworkMode,
		PidMode:        t.PidMode,
		IpcMode:        t.IpcMode,
		ServiceName:    t.ServiceName,
		LaunchType:     t.LaunchType,
		TaskDefAccount: t.TaskDefinitionAccountID,
	}
	if t.RoleCredentials != nil {
		spec.TaskCredentialsID = t.RoleCredentials.CredentialsID
	}
	if t.ExecutionRoleCredentials != nil {
		spec.ExecutionCredentialsID = t.ExecutionRoleCredentials.CredentialsID
	}
	if t.CPU != nil {
		spec.CPU = *t.CPU
	}
	if t.Memory != nil {
		spec.Memory = *t.Memory
	}
	for _, v := range t.Volumes {
		vs, err := volume(v)
		if err != nil {
			return bus.TaskSpec{}, err
		}
		spec.Volumes = append(spec.Volumes, vs)
	}
	seen := make(map[string]bool, len(t.Containers))
	for _, c := range t.Containers {
		if c.Name == "" {
			return bus.TaskSpec{}, fmt.Errorf("%w: a container has no name", ErrInvalidTask)
		}
		// Containers are addressed by task ARN and name everywhere downstream, so a
		// duplicate name would make two containers one.
		if seen[c.Name] {
			return bus.TaskSpec{}, fmt.Errorf("%w: container name %q appears twice", ErrInvalidTask, c.Name)
		}
		seen[c.Name] = true
		cs, err := container(c)
		if err != nil {
			return bus.TaskSpec{}, fmt.Errorf("container %s: %w", c.Name, err)
		}
		if (len(cs.Secrets) > 0 || cs.RegistryAuth != nil) && spec.ExecutionCredentialsID == "" {
			return bus.TaskSpec{}, fmt.Errorf("container %s: %w: secrets or registry authentication without executionRoleCredentials", c.Name, ErrInvalidTask)
		}
		spec.Containers = append(spec.Containers, cs)
	}
	return spec, nil
}

// desiredStatus accepts only the two statuses the control plane may ask for; the
// real agent rejects PENDING and anything else the same way.
func desiredStatus(s string) (bus.Status, error) {
	switch s {
	case "RUNNING":
		return bus.StatusRunning, nil
	case "STOPPED":
		return bus.StatusStopped, nil
	}
	return "", fmt.Errorf("%w: desired status %q is not RUNNING or STOPPED", ErrInvalidTask, s)
}

func volume(v acs.Volume) (bus.VolumeSpec, error) {
	if v.Name == "" {
		return bus.VolumeSpec{}, fmt.Errorf("%w: a volume has no name", ErrInvalidTask)
	}
	switch v.Type {
	case "", "host":
		vs := bus.VolumeSpec{Name: v.Name, Type: "host"}
		if v.Host != nil {
			vs.SourcePath = v.Host.SourcePath
		}
		return vs, nil
	case "docker":
		d := v.DockerVolumeConfiguration
		if d == nil {
			return bus.VolumeSpec{}, fmt.Errorf("%w: docker volume %q has no dockerVolumeConfiguration", ErrInvalidTask, v.Name)
		}
		scope := d.Scope
		if scope == "" {
			scope = "task"
		}
		if scope != "task" && scope != "shared" {
			return bus.VolumeSpec{}, fmt.Errorf("%w: docker volume %q has scope %q, want task or shared", ErrInvalidTask, v.Name, d.Scope)
		}
		return bus.VolumeSpec{Name: v.Name, Type: "docker", Docker: &bus.DockerVolumeSpec{
			Scope:         scope,
			Autoprovision: d.Autoprovision != nil && *d.Autoprovision,
			Driver:        d.Driver,
			DriverOpts:    d.DriverOpts,
			Labels:        d.Labels,
		}}, nil
	}
	return bus.VolumeSpec{}, fmt.Errorf("%w: volume %q has unsupported type %q", ErrInvalidTask, v.Name, v.Type)
}

func container(c acs.Container) (bus.ContainerSpec, error) {
	cs := bus.ContainerSpec{
		Name:            c.Name,
		Image:           c.Image,
		CPU:             c.CPU,
		Memory:          c.Memory,
		Essential:       c.Essential,
		Command:         c.Command,
		EntryPoint:      c.EntryPoint,
		Environment:     c.Environment,
		Links:           c.Links,
		Privileged:      c.Privileged != nil && *c.Privileged,
		HealthCheckType: c.HealthCheckType,
		DockerConfig: bus.DockerConfig{
			Config:     deref(c.DockerConfig.Config),
			HostConfig: deref(c.DockerConfig.HostConfig),
			Version:    deref(c.DockerConfig.Version),
		},
	}
	if c.StartTimeout != nil {
		cs.StartTimeout = *c.StartTimeout
	}
	if c.StopTimeout != nil {
		cs.StopTimeout = *c.StopTimeout
	}
	cmd, ok, err := overrideCommand(c.Overrides)
	if err != nil {
		return bus.ContainerSpec{}, err
	}
	if ok {
		cs.Command = cmd
	}
	for _, p := range c.PortMappings {
		pm, err := portMapping(p)
		if err != nil {
			return bus.ContainerSpec{}, err
		}
		cs.PortMappings = append(cs.PortMappings, pm)
	}
	for _, m := range c.MountPoints {
		cs.MountPoints = append(cs.MountPoints, bus.MountPoint{
			SourceVolume: m.SourceVolume, ContainerPath: m.ContainerPath, ReadOnly: m.ReadOnly,
		})
	}
	for _, v := range c.VolumesFrom {
		cs.VolumesFrom = append(cs.VolumesFrom, bus.VolumeFrom{
			SourceContainer: v.SourceContainer, ReadOnly: v.ReadOnly,
		})
	}
	for _, d := range c.DependsOn {
		cs.DependsOn = append(cs.DependsOn, bus.Dependency{
			ContainerName: d.ContainerName, Condition: d.Condition,
		})
	}
	for _, sec := range c.Secrets {
		bs, err := secret(sec)
		if err != nil {
			return bus.ContainerSpec{}, err
		}
		cs.Secrets = append(cs.Secrets, bs)
	}
	if ra := c.RegistryAuthentication; ra != nil {
		switch {
		case ra.Type != acs.AuthTypeASM:
			return bus.ContainerSpec{}, fmt.Errorf("%w: registry authentication type %q is not supported (only %q)", ErrInvalidTask, ra.Type, acs.AuthTypeASM)
		case ra.ASMAuthData == nil || ra.ASMAuthData.CredentialsParameter == "":
			return bus.ContainerSpec{}, fmt.Errorf("%w: registry authentication %q has no credentialsParameter", ErrInvalidTask, ra.Type)
		}
		cs.RegistryAuth = &bus.RegistryAuth{CredentialsParameter: ra.ASMAuthData.CredentialsParameter, Region: ra.ASMAuthData.Region}
	}
	if rp := c.RestartPolicy; rp != nil {
		period := 0
		if rp.RestartAttemptPeriod != nil {
			period = *rp.RestartAttemptPeriod
		}
		if period < 0 {
			return bus.ContainerSpec{}, fmt.Errorf("%w: container %s: restartPolicy.restartAttemptPeriod %d is negative", ErrInvalidTask, c.Name, period)
		}
		cs.RestartPolicy = &bus.RestartPolicy{Enabled: rp.Enabled, IgnoredExitCodes: rp.IgnoredExitCodes, RestartAttemptPeriod: period}
	}
	return cs, nil
}

// secret takes a secret reference as it is (its value is fetched by dockerexec);
// only environment-variable secrets of SSM and Secrets Manager are handled.
func secret(s acs.Secret) (bus.Secret, error) {
	switch {
	case s.Name == "" || s.ValueFrom == "":
		return bus.Secret{}, fmt.Errorf("%w: a secret needs a name and a valueFrom", ErrInvalidTask)
	case s.Type != "" && s.Type != acs.SecretTypeEnv:
		return bus.Secret{}, fmt.Errorf("%w: secret %s has type %q; only %s is supported", ErrInvalidTask, s.Name, s.Type, acs.SecretTypeEnv)
	}
	provider := s.Provider
	if provider == "" {
		provider = acs.SecretProviderSSM
	}
	if provider != acs.SecretProviderSSM && provider != acs.SecretProviderASM {
		return bus.Secret{}, fmt.Errorf("%w: secret %s has provider %q, want ssm or asm", ErrInvalidTask, s.Name, s.Provider)
	}
	return bus.Secret{Name: s.Name, ValueFrom: s.ValueFrom, Provider: provider, Region: s.Region}, nil
}

// overrideCommand reads a container's overrides string. Only a present, non-null
// "command" replaces the container's command; everything else in the overrides has
// already been applied by the control plane.
func overrideCommand(overrides string) ([]string, bool, error) {
	if len(bytes.TrimSpace([]byte(overrides))) == 0 {
		return nil, false, nil
	}
	var o struct {
		Command json.RawMessage `json:"command"`
	}
	if err := json.Unmarshal([]byte(overrides), &o); err != nil {
		return nil, false, fmt.Errorf("%w: overrides is not a JSON object: %v", ErrInvalidTask, err)
	}
	if len(o.Command) == 0 || string(o.Command) == "null" {
		return nil, false, nil
	}
	var cmd []string
	if err := json.Unmarshal(o.Command, &cmd); err != nil {
		return nil, false, fmt.Errorf("%w: overrides command is not a list of strings: %v", ErrInvalidTask, err)
	}
	return cmd, true, nil
}

func portMapping(p acs.PortMapping) (bus.PortMapping, error) {
	proto := p.Protocol
	switch proto {
	case "":
		proto = "tcp"
	case "tcp", "udp":
	default:
		return bus.PortMapping{}, fmt.Errorf("%w: port protocol %q is not tcp or udp", ErrInvalidTask, p.Protocol)
	}
	pm := bus.PortMapping{ContainerPortRange: p.ContainerPortRange, Protocol: proto}
	if p.ContainerPort != nil {
		pm.ContainerPort = int(*p.ContainerPort)
	}
	if p.HostPort != nil {
		pm.HostPort = int(*p.HostPort)
	}
	if pm.ContainerPort == 0 && pm.ContainerPortRange == "" {
		return bus.PortMapping{}, fmt.Errorf("%w: a port mapping has neither containerPort nor containerPortRange", ErrInvalidTask)
	}
	if pm.ContainerPort < 0 || pm.ContainerPort > 65535 || pm.HostPort < 0 || pm.HostPort > 65535 {
		return bus.PortMapping{}, fmt.Errorf("%w: port mapping %d:%d is outside 0-65535", ErrInvalidTask, pm.HostPort, pm.ContainerPort)
	}
	return pm, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
