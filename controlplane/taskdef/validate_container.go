package taskdef

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
)

// Limits of the model's documentation.
const (
	maxPort                              = 65535
	maxPortRanges                        = 100 // containerPortRange mappings per container
	minHealthInterval, maxHealthInterval = 5, 300
	minHealthTimeout, maxHealthTimeout   = 2, 60
	minHealthRetries, maxHealthRetries   = 1, 10
	maxHealthStartPeriod                 = 300
	// The restart policy's limits and default.
	minRestartPeriod, maxRestartPeriod = 60, 1800
	defaultRestartPeriod               = 300
	maxIgnoredExitCodes                = 50
)

// containerCheck validates one container definition against its task definition.
type containerCheck struct {
	def        Definition
	c          ContainerDefinition
	containers map[string]bool // names of the definition's containers
	volumes    map[string]bool // names of the definition's volumes
	taskMem    int64           // task-level memory in MiB, 0 when absent
}

func (v containerCheck) fail(field string, value any, rule string) error {
	return invalidIn(v.c.Name, field, value, rule)
}

func (v containerCheck) validate() error {
	for _, check := range []func() error{
		v.validateResources, v.validateLinks, v.validatePorts, v.validateMounts,
		v.validateHealthCheck, v.validateDocker, v.validateLinux, v.validateSecrets, v.validateRestartPolicy,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// validateRestartPolicy checks the ContainerRestartPolicy rules: enabled is
// required, at most 50 ignored exit codes, a period of 60 to 1800 seconds.
func (v containerCheck) validateRestartPolicy() error {
	p := v.c.RestartPolicy
	if p == nil {
		return nil
	}
	if p.Enabled == nil {
		return v.fail("restartPolicy.enabled", "null", "is required")
	}
	if len(p.IgnoredExitCodes) > maxIgnoredExitCodes {
		return v.fail("restartPolicy.ignoredExitCodes", len(p.IgnoredExitCodes), fmt.Sprintf("at most %d exit codes", maxIgnoredExitCodes))
	}
	if r := p.RestartAttemptPeriod; r != nil && (*r < minRestartPeriod || *r > maxRestartPeriod) {
		return v.fail("restartPolicy.restartAttemptPeriod", *r, fmt.Sprintf("must be between %d and %d seconds", minRestartPeriod, maxRestartPeriod))
	}
	return nil
}

func (v containerCheck) validateResources() error {
	c := v.c
	if c.Image == "" {
		return awserr.Client("Container.image should not be null or empty.")
	}
	if c.CPU < 0 || c.CPU > maxInteger {
		return v.fail("cpu", c.CPU, fmt.Sprintf("must be between 0 and %d", maxInteger))
	}
	for _, m := range []struct {
		field string
		value *int64
	}{{"memory", c.Memory}, {"memoryReservation", c.MemoryReservation}, {"startTimeout", c.StartTimeout}, {"stopTimeout", c.StopTimeout}} {
		if m.value != nil && (*m.value < 0 || *m.value > maxInteger) {
			return v.fail(m.field, *m.value, fmt.Sprintf("must be between 0 and %d", maxInteger))
		}
	}
	if valueOr(c.Memory, 0) == 0 && valueOr(c.MemoryReservation, 0) == 0 && v.taskMem == 0 {
		return awserr.Client("Invalid setting for container '%s'. At least one of 'memory' or 'memoryReservation' must be specified.", c.Name)
	}
	if c.Memory != nil && c.MemoryReservation != nil && *c.Memory < *c.MemoryReservation {
		return awserr.Client("Invalid setting for container '%s'. 'memory' must be greater than or equal to 'memoryReservation'.", c.Name)
	}
	for i, kv := range c.Environment {
		if kv.Name == "" {
			return v.fail(fmt.Sprintf("environment[%d].name", i), kv.Name, "must not be empty")
		}
	}
	return nil
}

// validateLinks checks "name" and "name:alias" links, which the agent splits at ":" and
// resolves to a container of the task; the model allows them in bridge mode only.
func (v containerCheck) validateLinks() error {
	if len(v.c.Links) > 0 && v.def.NetworkMode != "" && v.def.NetworkMode != "bridge" {
		return v.fail("links", strings.Join(v.c.Links, ","), "links need the bridge network mode")
	}
	for i, l := range v.c.Links {
		field := fmt.Sprintf("links[%d]", i)
		name, alias, hasAlias := strings.Cut(l, ":")
		switch {
		case !v.containers[name]:
			return v.fail(field, l, "must name another container of the task definition, as NAME or NAME:ALIAS")
		case name == v.c.Name:
			return v.fail(field, l, "a container cannot link to itself")
		case hasAlias && !namePattern.MatchString(alias):
			return v.fail(field, l, "the alias must be up to 255 letters, numbers, underscores and hyphens")
		}
	}
	return nil
}

func (v containerCheck) validatePorts() error {
	mode := v.def.NetworkMode
	if mode == "none" && len(v.c.PortMappings) > 0 {
		return v.fail("portMappings", len(v.c.PortMappings), "the none network mode has no port mappings")
	}
	ranges := 0
	for i, p := range v.c.PortMappings {
		field := func(m string) string { return fmt.Sprintf("portMappings[%d].%s", i, m) }
		if p.Protocol != "" && !transportProtocols.has(p.Protocol) {
			return v.fail(field("protocol"), p.Protocol, transportProtocols.String())
		}
		if p.ContainerPortRange != "" {
			ranges++
			switch {
			case p.ContainerPort != nil:
				return v.fail(field("containerPort"), *p.ContainerPort, "must not be set with containerPortRange")
			case p.HostPort != nil:
				return v.fail(field("hostPort"), *p.HostPort, "must not be set with containerPortRange")
			case mode != "" && mode != "bridge" && mode != "awsvpc":
				return v.fail(field("containerPortRange"), p.ContainerPortRange, "needs the bridge or awsvpc network mode")
			case ranges > maxPortRanges:
				return v.fail(field("containerPortRange"), p.ContainerPortRange, fmt.Sprintf("at most %d port ranges per container", maxPortRanges))
			}
			if _, _, ok := parsePortRange(p.ContainerPortRange); !ok {
				return v.fail(field("containerPortRange"), p.ContainerPortRange, "must be FIRST-LAST with 1 <= FIRST < LAST <= 65535")
			}
			continue
		}
		if p.ContainerPort == nil {
			return awserr.Client("Invalid %s in container '%s': containerPort or containerPortRange is required.", fmt.Sprintf("portMappings[%d]", i), v.c.Name)
		}
		if cp := *p.ContainerPort; cp < 1 || cp > maxPort {
			return v.fail(field("containerPort"), cp, "must be between 1 and 65535")
		}
		if p.HostPort != nil {
			hp := *p.HostPort
			if hp < 0 || hp > maxPort {
				return v.fail(field("hostPort"), hp, "must be between 0 and 65535")
			}
			if (mode == "host" || mode == "awsvpc") && hp != 0 && hp != *p.ContainerPort {
				return v.fail(field("hostPort"), hp, "must be absent or equal to containerPort in the "+mode+" network mode")
			}
		}
	}
	return nil
}

// parsePortRange reads "FIRST-LAST" with 1 <= FIRST < LAST <= 65535.
func parsePortRange(s string) (first, last int64, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first < 1 || last > maxPort || first >= last {
		return 0, 0, false
	}
	return first, last, true
}

func (v containerCheck) validateMounts() error {
	for i, m := range v.c.MountPoints {
		if !v.volumes[m.SourceVolume] {
			return v.fail(fmt.Sprintf("mountPoints[%d].sourceVolume", i), m.SourceVolume, "no volume of that name")
		}
		if m.ContainerPath == "" {
			return v.fail(fmt.Sprintf("mountPoints[%d].containerPath", i), m.ContainerPath, "must not be empty")
		}
	}
	for i, vf := range v.c.VolumesFrom {
		if !v.containers[vf.SourceContainer] || vf.SourceContainer == v.c.Name {
			return v.fail(fmt.Sprintf("volumesFrom[%d].sourceContainer", i), vf.SourceContainer, "must name another container of the task definition")
		}
	}
	for i, dep := range v.c.DependsOn {
		if !containerConditions.has(dep.Condition) {
			return v.fail(fmt.Sprintf("dependsOn[%d].condition", i), dep.Condition, containerConditions.String())
		}
		if !v.containers[dep.ContainerName] {
			return awserr.Client("Container '%s' depends on an unknown container '%s'.", v.c.Name, dep.ContainerName)
		}
	}
	return nil
}

func (v containerCheck) validateHealthCheck() error {
	hc := v.c.HealthCheck
	if hc == nil {
		return nil
	}
	if len(hc.Command) == 0 {
		return v.fail("healthCheck.command", "", "must not be empty")
	}
	if kind := hc.Command[0]; !healthCheckKinds.has(kind) {
		return v.fail("healthCheck.command[0]", kind, healthCheckKinds.String())
	} else if kind != "NONE" && len(hc.Command) < 2 {
		return v.fail("healthCheck.command", strings.Join(hc.Command, " "), kind+" needs a command after it")
	}
	for _, r := range []struct {
		field    string
		value    *int64
		min, max int64
	}{
		{"healthCheck.interval", hc.Interval, minHealthInterval, maxHealthInterval},
		{"healthCheck.timeout", hc.Timeout, minHealthTimeout, maxHealthTimeout},
		{"healthCheck.retries", hc.Retries, minHealthRetries, maxHealthRetries},
		{"healthCheck.startPeriod", hc.StartPeriod, 0, maxHealthStartPeriod},
	} {
		if r.value != nil && (*r.value < r.min || *r.value > r.max) {
			return v.fail(r.field, *r.value, fmt.Sprintf("must be between %d and %d", r.min, r.max))
		}
	}
	return nil
}

// validateDocker checks the members that become dockerConfig: ulimits, log
// configuration, extra hosts, sysctls and security options.
func (v containerCheck) validateDocker() error {
	c := v.c
	for i, u := range c.Ulimits {
		if !ulimitNames.has(u.Name) {
			return v.fail(fmt.Sprintf("ulimits[%d].name", i), u.Name, ulimitNames.String())
		}
	}
	if lc := c.LogConfiguration; lc != nil && !logDrivers.has(lc.LogDriver) {
		return v.fail("logConfiguration.logDriver", lc.LogDriver, logDrivers.String())
	}
	for i, h := range c.ExtraHosts {
		// Docker reads "HOSTNAME:IP" up to the first ":"; an address may hold more.
		if h.Hostname == "" || strings.ContainsAny(h.Hostname, ": \t\n") {
			return v.fail(fmt.Sprintf("extraHosts[%d].hostname", i), h.Hostname, "must be a non-empty name without ':' or spaces")
		}
		if h.IPAddress == "" || strings.ContainsAny(h.IPAddress, " \t\n") {
			return v.fail(fmt.Sprintf("extraHosts[%d].ipAddress", i), h.IPAddress, "must be a non-empty address without spaces")
		}
	}
	for i, sc := range c.SystemControls {
		if sc.Namespace == "" {
			return v.fail(fmt.Sprintf("systemControls[%d].namespace", i), sc.Namespace, "must not be empty")
		}
	}
	for i, o := range c.SecurityOptions {
		kind, value, hasValue := strings.Cut(o, ":")
		noValue := kind == "no-new-privileges"
		if !securityOptionKinds.has(kind) || noValue == hasValue || !noValue && value == "" {
			return v.fail(fmt.Sprintf("dockerSecurityOptions[%d]", i), o, `must be "no-new-privileges", "apparmor:PROFILE", "label:VALUE" or "credentialspec:PATH"`)
		}
	}
	return nil
}

func (v containerCheck) validateLinux() error {
	lp := v.c.LinuxParameters
	if lp == nil {
		return nil
	}
	if caps := lp.Capabilities; caps != nil {
		for _, l := range []struct {
			field string
			caps  []string
		}{{"add", caps.Add}, {"drop", caps.Drop}} {
			for i, cp := range l.caps {
				if !kernelCapabilities.has(cp) {
					return v.fail(fmt.Sprintf("linuxParameters.capabilities.%s[%d]", l.field, i), cp, "not a capability the model lists (ALL, CHOWN, NET_ADMIN, SYS_PTRACE, …)")
				}
			}
		}
	}
	for i, d := range lp.Devices {
		if d.HostPath == "" {
			return v.fail(fmt.Sprintf("linuxParameters.devices[%d].hostPath", i), d.HostPath, "is required")
		}
		for j, p := range d.Permissions {
			if !deviceCgroupPermissions.has(p) {
				return v.fail(fmt.Sprintf("linuxParameters.devices[%d].permissions[%d]", i, j), p, deviceCgroupPermissions.String())
			}
		}
	}
	if s := lp.SharedMemorySize; s != nil && (*s < 0 || *s > maxInteger) {
		return v.fail("linuxParameters.sharedMemorySize", *s, fmt.Sprintf("must be between 0 and %d", maxInteger))
	}
	for i, tm := range lp.Tmpfs {
		if tm.ContainerPath == "" || !strings.HasPrefix(tm.ContainerPath, "/") {
			return v.fail(fmt.Sprintf("linuxParameters.tmpfs[%d].containerPath", i), tm.ContainerPath, "must be an absolute path")
		}
		if tm.Size <= 0 || tm.Size > maxInteger {
			return v.fail(fmt.Sprintf("linuxParameters.tmpfs[%d].size", i), tm.Size, fmt.Sprintf("must be between 1 and %d", maxInteger))
		}
		for j, o := range tm.MountOptions {
			name, _, _ := strings.Cut(o, "=")
			if !tmpfsMountOptions.has(name) || strings.ContainsAny(o, ", \t\n") {
				return v.fail(fmt.Sprintf("linuxParameters.tmpfs[%d].mountOptions[%d]", i, j), o, "not a tmpfs mount option the model lists (ro, noexec, mode=…)")
			}
		}
	}
	return nil
}
