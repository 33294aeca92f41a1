package session

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-agent/ecs-agent/bus"
)

// Attribute names the session sets or reads.
const (
	attrOSType  = "ecs.os-type"
	attrOSFam   = "ecs.os-family"
	attrCPUArch = "ecs.cpu-architecture"
	attrAZ      = "ecs.availability-zone"

	capLegacy = "com.amazonaws.ecs.capability."
	capPrefix = "ecs.capability."
)

// dockerAPIVersions are the Docker remote API versions the real agent advertises
// (every supported version below 1.33 except 1.26, 1.27 and 1.31). Task definitions
// name them as requirements; dockerexec talks to the engine with a negotiated
// version that covers all of them.
var dockerAPIVersions = []string{
	"1.17", "1.18", "1.19", "1.20", "1.21", "1.22", "1.23", "1.24", "1.25",
	"1.28", "1.29", "1.30", "1.32",
}

// hostResources computes what the instance offers tasks (PROTOCOL.md §1.2): logical
// CPUs × 1024, MemTotal minus ECS_RESERVED_MEMORY, the reserved ports. The session is
// the one owner of this computation: it registers these totals, stores them in the
// registration, and the scheduler admits tasks against exactly them.
func hostResources(cfg Config) (bus.HostResources, error) {
	cpus := cfg.NumCPU
	if cpus <= 0 {
		cpus = runtime.NumCPU()
	}
	total, err := memTotalMiB(cfg.MemInfoPath)
	if err != nil {
		return bus.HostResources{}, err
	}
	mem := total - cfg.ReservedMemory
	if mem < 0 {
		return bus.HostResources{}, fmt.Errorf("%w: ECS_RESERVED_MEMORY=%d is more than the host's %d MiB", ErrConfig, cfg.ReservedMemory, total)
	}
	return bus.HostResources{
		CPU:              int64(cpus) * 1024,
		MemoryMiB:        mem,
		ReservedPorts:    append([]int{}, cfg.ReservedPorts...),
		ReservedPortsUDP: append([]int{}, cfg.ReservedPortsUDP...),
	}, nil
}

// totalResources are the four totalResources of a registration, in the real agent's
// order.
func totalResources(r bus.HostResources) []types.Resource {
	return []types.Resource{
		{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: int32(r.CPU)},
		{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: int32(r.MemoryMiB)},
		{Name: aws.String("PORTS"), Type: aws.String("STRINGSET"), StringSetValue: portStrings(r.ReservedPorts)},
		{Name: aws.String("PORTS_UDP"), Type: aws.String("STRINGSET"), StringSetValue: portStrings(r.ReservedPortsUDP)},
	}
}

func portStrings(ports []int) []string {
	out := make([]string, 0, len(ports))
	for _, p := range ports {
		out = append(out, strconv.Itoa(p))
	}
	return out
}

// memTotalMiB reads MemTotal (kB) from a meminfo file.
func memTotalMiB(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("reading host memory: %w", err)
	}
	defer f.Close()
	return parseMemTotal(f)
}

func parseMemTotal(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "MemTotal:" {
			continue
		}
		kb, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("reading host memory: MemTotal %q: %w", fields[1], err)
		}
		if len(fields) > 2 && fields[2] != "kB" {
			return 0, fmt.Errorf("reading host memory: MemTotal unit %q, want kB", fields[2])
		}
		return kb / 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("reading host memory: %w", err)
	}
	return 0, fmt.Errorf("reading host memory: no MemTotal line")
}

// attributes are the registration's attributes: custom ones first (first
// registration only), then the capabilities, then the OS attributes.
func attributes(cfg Config, first bool) []types.Attribute {
	var out []types.Attribute
	if first {
		keys := make([]string, 0, len(cfg.InstanceAttrs))
		for k := range cfg.InstanceAttrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, types.Attribute{Name: aws.String(k), Value: aws.String(cfg.InstanceAttrs[k])})
		}
	}
	for _, c := range capabilities(cfg) {
		out = append(out, types.Attribute{Name: aws.String(c)})
	}
	out = append(out,
		types.Attribute{Name: aws.String(attrOSType), Value: aws.String("linux")},
		types.Attribute{Name: aws.String(attrOSFam), Value: aws.String("LINUX")},
	)
	if cfg.External {
		out = append(out, types.Attribute{Name: aws.String(attrCPUArch), Value: aws.String(cpuArch())})
	}
	return out
}

// capabilities lists only what the agent really does: it runs containers through
// the Docker API, honours dependsOn ordering and health checks, runs privileged
// containers unless told not to, fetches secrets from SSM and Secrets Manager and
// private-registry credentials from Secrets Manager with the execution role, and
// serves task roles when enabled. Features it lacks (ECR auth, awsvpc, firelens…)
// are not claimed, so the control plane will not place such tasks here.
func capabilities(cfg Config) []string {
	var caps []string
	if !cfg.DisablePrivileged {
		caps = append(caps, capLegacy+"privileged-container")
	}
	for _, v := range dockerAPIVersions {
		caps = append(caps, capLegacy+"docker-remote-api."+v)
	}
	for _, d := range cfg.LoggingDrivers {
		caps = append(caps, capLegacy+"logging-driver."+d)
	}
	if cfg.TaskIAMRole {
		caps = append(caps, capLegacy+"task-iam-role")
	}
	if cfg.TaskIAMRoleNetworkHost {
		caps = append(caps, capLegacy+"task-iam-role-network-host")
	}
	caps = append(caps, capLegacy+"private-registry-authentication.secretsmanager",
		capPrefix+"secrets.ssm.environment-variables", capPrefix+"secrets.asm.environment-variables")
	caps = append(caps, capPrefix+"container-ordering")
	if !cfg.DisableHealthCheck {
		caps = append(caps, capPrefix+"container-health-check")
	}
	if cfg.External {
		caps = append(caps, capPrefix+"external")
	}
	return caps
}

func cpuArch() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "arm64"
	}
	return runtime.GOARCH
}

// checkEcho verifies that every attribute sent comes back with the same value; the
// control plane would otherwise place tasks on a view of the instance that differs
// from what the agent offers.
func checkEcho(sent, got []types.Attribute) error {
	have := make(map[string]*string, len(got))
	for _, a := range got {
		have[aws.ToString(a.Name)] = a.Value
	}
	for _, a := range sent {
		name := aws.ToString(a.Name)
		v, ok := have[name]
		if !ok {
			return fmt.Errorf("%w: attribute %q is missing from the registration response", ErrTerminal, name)
		}
		if aws.ToString(v) != aws.ToString(a.Value) {
			return fmt.Errorf("%w: attribute %q came back as %q, sent %q", ErrTerminal, name, aws.ToString(v), aws.ToString(a.Value))
		}
	}
	return nil
}

func availabilityZone(attrs []types.Attribute) string {
	for _, a := range attrs {
		if aws.ToString(a.Name) == attrAZ {
			return aws.ToString(a.Value)
		}
	}
	return ""
}
