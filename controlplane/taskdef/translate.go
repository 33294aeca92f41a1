package taskdef

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/ecs-agent/ecs-agent/acs"
)

// Placement identifies one task of a definition: what ToACS needs besides the
// definition itself.
type Placement struct {
	TaskArn       string
	ClusterArn    string
	Revision      int
	DesiredStatus string            // RUNNING or STOPPED
	Overrides     Overrides         // RunTask/StartTask overrides
	ContainerArns map[string]string // container name → container ARN
	// Region is the control plane's: the region of secrets and registry credentials
	// named without an ARN.
	Region string
	// LaunchType is the task's, EC2 or EXTERNAL.
	LaunchType string
}

// ToACS builds the ACS Task the agent receives for one task of d. It is total: whatever d
// holds, even members Validate would refuse (a definition from an older snapshot skipped
// today's checks), it neither panics nor produces a dockerConfig string that is not JSON,
// since a panic here would end the session that delivers every task of the instance.
func ToACS(d Definition, p Placement) acs.Task {
	t := acs.Task{
		Arn:            p.TaskArn,
		TaskClusterArn: p.ClusterArn,
		Family:         d.Family,
		Version:        strconv.Itoa(p.Revision),
		DesiredStatus:  p.DesiredStatus,
		Containers:     make([]acs.Container, 0, len(d.ContainerDefinitions)),
		Volumes:        make([]acs.Volume, 0, len(d.Volumes)),
		NetworkMode:    d.NetworkMode,
		PidMode:        d.PidMode,
		IpcMode:        d.IpcMode,
		LaunchType:     p.LaunchType,
	}
	if t.LaunchType == "" {
		t.LaunchType = "EC2"
	}
	if t.NetworkMode == "" {
		t.NetworkMode = "bridge"
	}
	if cpu, _ := parseCPU(firstNonEmpty(p.Overrides.CPU, d.CPU)); cpu > 0 {
		v := float64(cpu) / 1024
		t.CPU = &v
	}
	if mem, _ := parseMemory(firstNonEmpty(p.Overrides.Memory, d.Memory)); mem > 0 {
		t.Memory = &mem
	}
	for _, c := range d.ContainerDefinitions {
		t.Containers = append(t.Containers, containerToACS(d.NetworkMode, p.Region, c, p.Overrides.For(c.Name), p.ContainerArns[c.Name]))
	}
	for _, v := range d.Volumes {
		t.Volumes = append(t.Volumes, volumeToACS(v))
	}
	return t
}

// restartPolicyToACS sends the policy with its period filled in (300 s when the
// definition left it out), as the agent takes the period from the payload.
func restartPolicyToACS(p *RestartPolicy) *acs.RestartPolicy {
	if p == nil {
		return nil
	}
	period := defaultRestartPeriod
	if p.RestartAttemptPeriod != nil {
		period = *p.RestartAttemptPeriod
	}
	return &acs.RestartPolicy{Enabled: p.Enabled != nil && *p.Enabled, IgnoredExitCodes: p.IgnoredExitCodes, RestartAttemptPeriod: &period}
}

func containerToACS(networkMode, region string, c ContainerDefinition, o *ContainerOverride, arn string) acs.Container {
	out := acs.Container{
		Name:            c.Name,
		Image:           c.Image,
		CPU:             c.CPU,
		Essential:       c.IsEssential(),
		Command:         nonNil(c.Command),
		EntryPoint:      c.EntryPoint,
		Environment:     map[string]string{},
		Links:           nonNil(c.Links),
		PortMappings:    []acs.PortMapping{},
		MountPoints:     []acs.MountPoint{},
		VolumesFrom:     []acs.VolumeFrom{},
		StartTimeout:    c.StartTimeout,
		StopTimeout:     c.StopTimeout,
		Privileged:      c.Privileged,
		ContainerArn:    arn,
		LinuxParameters: linuxParametersToACS(c.LinuxParameters),
		Overrides:       "{}",

		Secrets:                secretsToACS(c.Secrets, region),
		RegistryAuthentication: registryAuthToACS(c.RepositoryCredentials, region),
		RestartPolicy:          restartPolicyToACS(c.RestartPolicy),
	}
	memory, reservation := c.Memory, c.MemoryReservation
	for _, kv := range c.Environment {
		out.Environment[kv.Name] = kv.Value
	}
	if o != nil {
		if o.CPU != nil {
			out.CPU = *o.CPU
		}
		if o.Memory != nil {
			memory = o.Memory
		}
		if o.MemoryReservation != nil {
			reservation = o.MemoryReservation
		}
		for _, kv := range o.Environment {
			out.Environment[kv.Name] = kv.Value
		}
		if o.Command != nil {
			// The agent replaces command with overrides.command; the command field carries
			// the same value so a reader of either sees the effective command.
			out.Command = o.Command
			raw, _ := json.Marshal(struct {
				Command []string `json:"command"`
			}{o.Command})
			out.Overrides = string(raw)
		}
	}
	if memory != nil {
		out.Memory = *memory
	}
	for _, pm := range c.PortMappings {
		m := acs.PortMapping{ContainerPort: pm.ContainerPort, ContainerPortRange: pm.ContainerPortRange, Protocol: pm.Protocol}
		if m.Protocol == "" {
			m.Protocol = "tcp"
		}
		if host := hostPortOf(networkMode, pm); host != 0 {
			m.HostPort = &host
		} else if pm.HostPort != nil {
			zero := int64(0)
			m.HostPort = &zero
		}
		out.PortMappings = append(out.PortMappings, m)
	}
	for _, mp := range c.MountPoints {
		out.MountPoints = append(out.MountPoints, acs.MountPoint(mp))
	}
	for _, vf := range c.VolumesFrom {
		out.VolumesFrom = append(out.VolumesFrom, acs.VolumeFrom(vf))
	}
	for _, dep := range c.DependsOn {
		out.DependsOn = append(out.DependsOn, acs.ContainerDependency(dep))
	}
	if c.HealthCheck != nil {
		out.HealthCheckType = "docker"
	}
	out.DockerConfig = dockerConfigOf(c, reservation)
	return out
}

// dockerConfig is the part of the Docker Engine API container Config that task
// definitions can set.
type dockerConfig struct {
	WorkingDir      string            `json:"WorkingDir,omitempty"`
	Hostname        string            `json:"Hostname,omitempty"`
	User            string            `json:"User,omitempty"`
	Labels          map[string]string `json:"Labels,omitempty"`
	Healthcheck     *dockerHealth     `json:"Healthcheck,omitempty"`
	NetworkDisabled bool              `json:"NetworkDisabled,omitempty"`
	OpenStdin       bool              `json:"OpenStdin,omitempty"`
	Tty             bool              `json:"Tty,omitempty"`
}

type dockerHealth struct {
	Test        []string `json:"Test"`
	Interval    int64    `json:"Interval"`
	Timeout     int64    `json:"Timeout"`
	Retries     int64    `json:"Retries"`
	StartPeriod int64    `json:"StartPeriod"`
}

// dockerHostConfig is the part of the Docker Engine API HostConfig that task definitions
// can set. CapAdd and CapDrop are always present, as in real payloads.
type dockerHostConfig struct {
	CapAdd            []string          `json:"CapAdd"`
	CapDrop           []string          `json:"CapDrop"`
	MemoryReservation int64             `json:"MemoryReservation,omitempty"`
	Ulimits           []dockerUlimit    `json:"Ulimits,omitempty"`
	LogConfig         *dockerLogConfig  `json:"LogConfig,omitempty"`
	ExtraHosts        []string          `json:"ExtraHosts,omitempty"`
	ReadonlyRootfs    bool              `json:"ReadonlyRootfs,omitempty"`
	DNS               []string          `json:"Dns,omitempty"`
	DNSSearch         []string          `json:"DnsSearch,omitempty"`
	SecurityOpt       []string          `json:"SecurityOpt,omitempty"`
	Sysctls           map[string]string `json:"Sysctls,omitempty"`
	Init              *bool             `json:"Init,omitempty"`
	ShmSize           int64             `json:"ShmSize,omitempty"`
	Devices           []dockerDevice    `json:"Devices,omitempty"`
	Tmpfs             map[string]string `json:"Tmpfs,omitempty"`
}

type dockerUlimit struct {
	Name string `json:"Name"`
	Soft int64  `json:"Soft"`
	Hard int64  `json:"Hard"`
}

type dockerLogConfig struct {
	Type   string            `json:"Type"`
	Config map[string]string `json:"Config"`
}

type dockerDevice struct {
	PathOnHost        string `json:"PathOnHost"`
	PathInContainer   string `json:"PathInContainer"`
	CgroupPermissions string `json:"CgroupPermissions"`
}

// Health-check defaults of the ECS API, in seconds.
const (
	defaultHealthInterval = 30
	defaultHealthTimeout  = 5
	defaultHealthRetries  = 3
)

// dockerConfigOf serialises the features without an ACS field and picks the lowest
// Docker API version that knows all of them.
func dockerConfigOf(c ContainerDefinition, reservation *int64) acs.DockerConfig {
	version := 17 // minor version of Docker API 1.x
	need := func(v int) {
		version = max(version, v)
	}
	cfg := dockerConfig{
		WorkingDir:      c.WorkingDirectory,
		Hostname:        c.Hostname,
		User:            c.User,
		Labels:          c.DockerLabels,
		NetworkDisabled: deref(c.DisableNetworking),
		OpenStdin:       deref(c.Interactive),
		Tty:             deref(c.PseudoTerminal),
	}
	if hc := c.HealthCheck; hc != nil {
		cfg.Healthcheck = &dockerHealth{
			Test:        hc.Command,
			Interval:    seconds(hc.Interval, defaultHealthInterval),
			Timeout:     seconds(hc.Timeout, defaultHealthTimeout),
			Retries:     valueOr(hc.Retries, defaultHealthRetries),
			StartPeriod: seconds(hc.StartPeriod, 0),
		}
		need(24)
	}
	host := dockerHostConfig{
		CapAdd:         []string{},
		CapDrop:        []string{},
		ReadonlyRootfs: deref(c.ReadonlyRootFilesystem),
		DNS:            c.DNSServers,
		DNSSearch:      c.DNSSearchDomains,
		SecurityOpt:    c.SecurityOptions,
	}
	if reservation != nil {
		host.MemoryReservation = *reservation * 1024 * 1024
		need(21)
	}
	for _, u := range c.Ulimits {
		host.Ulimits = append(host.Ulimits, dockerUlimit{Name: u.Name, Soft: u.SoftLimit, Hard: u.HardLimit})
		need(18)
	}
	if lc := c.LogConfiguration; lc != nil {
		opts := lc.Options
		if opts == nil {
			opts = map[string]string{}
		}
		host.LogConfig = &dockerLogConfig{Type: lc.LogDriver, Config: opts}
		need(18)
	}
	for _, h := range c.ExtraHosts {
		host.ExtraHosts = append(host.ExtraHosts, h.Hostname+":"+h.IPAddress)
	}
	for _, sc := range c.SystemControls {
		if host.Sysctls == nil {
			host.Sysctls = map[string]string{}
		}
		host.Sysctls[sc.Namespace] = sc.Value
		need(24)
	}
	if lp := c.LinuxParameters; lp != nil {
		if lp.Capabilities != nil {
			host.CapAdd = append(host.CapAdd, lp.Capabilities.Add...)
			host.CapDrop = append(host.CapDrop, lp.Capabilities.Drop...)
		}
		if lp.InitProcessEnabled != nil {
			host.Init = lp.InitProcessEnabled
			need(25)
		}
		if lp.SharedMemorySize != nil {
			host.ShmSize = *lp.SharedMemorySize * 1024 * 1024
		}
		for _, d := range lp.Devices {
			perms := cgroupPermissions(d.Permissions)
			cp := d.ContainerPath
			if cp == "" {
				cp = d.HostPath
			}
			host.Devices = append(host.Devices, dockerDevice{PathOnHost: d.HostPath, PathInContainer: cp, CgroupPermissions: perms})
		}
		for _, tm := range lp.Tmpfs {
			if host.Tmpfs == nil {
				host.Tmpfs = map[string]string{}
			}
			opt := "size=" + strconv.FormatInt(tm.Size, 10) + "m"
			for _, o := range tm.MountOptions {
				opt += "," + o
			}
			host.Tmpfs[tm.ContainerPath] = opt
			need(22)
		}
	}
	cfgJSON, _ := json.Marshal(cfg)
	hostJSON, _ := json.Marshal(host)
	c1, h1, v1 := string(cfgJSON), string(hostJSON), "1."+strconv.Itoa(version)
	return acs.DockerConfig{Config: &c1, HostConfig: &h1, Version: &v1}
}

// cgroupPermissions turns DeviceCgroupPermissions into Docker's "rwm" form. It is total:
// Validate refuses anything but read, write and mknod, but a definition from an older
// snapshot skipped that, and a value outside the set is dropped rather than trusted. No
// permission at all is Docker's default, all three.
func cgroupPermissions(perms []string) string {
	out := ""
	for _, p := range []struct{ name, letter string }{{"read", "r"}, {"write", "w"}, {"mknod", "m"}} {
		if slices.Contains(perms, p.name) {
			out += p.letter
		}
	}
	if out == "" {
		return "rwm"
	}
	return out
}

func linuxParametersToACS(lp *LinuxParameters) *acs.LinuxParameters {
	if lp == nil {
		return nil
	}
	out := &acs.LinuxParameters{InitProcessEnabled: lp.InitProcessEnabled, SharedMemorySize: lp.SharedMemorySize}
	if lp.Capabilities != nil {
		out.Capabilities = &acs.KernelCapabilities{Add: lp.Capabilities.Add, Drop: lp.Capabilities.Drop}
	}
	for _, d := range lp.Devices {
		dev := acs.Device{HostPath: d.HostPath, ContainerPath: d.ContainerPath}
		for _, p := range d.Permissions {
			if deviceCgroupPermissions.has(p) {
				dev.Permissions = append(dev.Permissions, p)
			}
		}
		out.Devices = append(out.Devices, dev)
	}
	return out
}

func volumeToACS(v Volume) acs.Volume {
	if dc := v.DockerVolumeConfiguration; dc != nil {
		out := acs.DockerVolumeConfiguration{
			Scope:         dc.Scope,
			Autoprovision: dc.Autoprovision,
			Driver:        dc.Driver,
			DriverOpts:    dc.DriverOpts,
			Labels:        dc.Labels,
		}
		if out.Scope == "" {
			out.Scope = "task"
		}
		if out.Driver == "" {
			out.Driver = "local"
		}
		return acs.Volume{Name: v.Name, Type: "docker", DockerVolumeConfiguration: &out}
	}
	host := acs.HostVolumeProperties{}
	if v.Host != nil {
		host.SourcePath = v.Host.SourcePath
	}
	return acs.Volume{Name: v.Name, Type: "host", Host: &host}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func deref(b *bool) bool { return b != nil && *b }

func valueOr(p *int64, def int64) int64 {
	if p == nil {
		return def
	}
	return *p
}

func seconds(p *int64, def int64) int64 {
	return int64(time.Duration(valueOr(p, def)) * time.Second)
}
