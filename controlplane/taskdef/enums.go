package taskdef

import (
	"slices"
	"strings"
)

// enum is a closed set of values a member accepts. Every value here is one the
// translation or the agent interprets, so a value outside the set must be refused at
// registration: once accepted, it would reach an agent that cannot load the task, which
// then withholds its ack.
type enum []string

func (e enum) has(v string) bool { return slices.Contains(e, v) }

// String lists the values for an error message: "one of a, b, c".
func (e enum) String() string { return "must be one of " + strings.Join(e, ", ") }

// Enumerations of the ECS model (ecs-smithy-model.json), by shape name.
var (
	networkModes            = enum{"bridge", "host", "awsvpc", "none"}                                                       // NetworkMode
	pidModes                = enum{"host", "task"}                                                                           // PidMode
	ipcModes                = enum{"host", "task", "none"}                                                                   // IpcMode
	transportProtocols      = enum{"tcp", "udp"}                                                                             // TransportProtocol
	containerConditions     = enum{"START", "COMPLETE", "SUCCESS", "HEALTHY"}                                                // ContainerCondition
	volumeScopes            = enum{"task", "shared"}                                                                         // Scope
	compatibilities         = enum{"EC2", "FARGATE", "EXTERNAL"}                                                             // Compatibility
	deviceCgroupPermissions = enum{"read", "write", "mknod"}                                                                 // DeviceCgroupPermission
	healthCheckKinds        = enum{"CMD", "CMD-SHELL", "NONE"}                                                               // HealthCheck.command[0]
	logDrivers              = enum{"json-file", "syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "awsfirelens"} // LogDriver
	ulimitNames             = enum{"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile",
		"nproc", "rss", "rtprio", "rttime", "sigpending", "stack"} // UlimitName
)

// Values the model documents in prose ("Valid values: …") rather than as an enum shape.
var (
	// kernelCapabilities are KernelCapabilities.add/drop.
	kernelCapabilities = enum{"ALL", "AUDIT_CONTROL", "AUDIT_WRITE", "BLOCK_SUSPEND", "CHOWN", "DAC_OVERRIDE",
		"DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL", "LEASE", "LINUX_IMMUTABLE",
		"MAC_ADMIN", "MAC_OVERRIDE", "MKNOD", "NET_ADMIN", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW",
		"SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE",
		"SYS_NICE", "SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG",
		"SYSLOG", "WAKE_ALARM"}
	// tmpfsMountOptions are Tmpfs.mountOptions; the last six take a value ("mode=1777").
	tmpfsMountOptions = enum{"defaults", "ro", "rw", "suid", "nosuid", "dev", "nodev", "exec", "noexec",
		"sync", "async", "dirsync", "remount", "mand", "nomand", "atime", "noatime", "diratime",
		"nodiratime", "bind", "rbind", "unbindable", "runbindable", "private", "rprivate", "shared",
		"rshared", "slave", "rslave", "relatime", "norelatime", "strictatime", "nostrictatime",
		"mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"}
	// securityOptionKinds are dockerSecurityOptions: "no-new-privileges" alone, the others
	// as "kind:value".
	securityOptionKinds = enum{"no-new-privileges", "apparmor", "label", "credentialspec"}
)
