package taskdef

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
)

// definition builds a definition of two containers, "a" (which the case changes) and "b",
// from JSON fragments: task-level members and members of container a, each either ""
// or a comma-led list of members.
func definition(t *testing.T, task, container string) Definition {
	t.Helper()
	raw := fmt.Sprintf(`{"family":"f"%s,"containerDefinitions":[{"name":"a","image":"i","memory":64%s},{"name":"b","image":"i","memory":64}]}`, task, container)
	var d Definition
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return d
}

func TestValidateRefuses(t *testing.T) {
	tests := []struct {
		name            string
		task, container string
		want            string // the member and value the message must name
	}{
		{"network mode", `,"networkMode":"nat"`, "", `networkMode "nat"`},
		{"pid mode", `,"pidMode":"private"`, "", `pidMode "private"`},
		{"pid mode none is not in the model", `,"pidMode":"none"`, "", `pidMode "none"`},
		{"ipc mode", `,"ipcMode":"shareable"`, "", `ipcMode "shareable"`},
		{"compatibility", `,"requiresCompatibilities":["EC3"]`, "", `requiresCompatibilities[0] "EC3"`},
		{"volume name", `,"volumes":[{"name":"a/b"}]`, "", `volumes[0].name "a/b"`},
		{"duplicate volume", `,"volumes":[{"name":"v"},{"name":"v"}]`, "", `"v"`},
		{"volume scope", `,"volumes":[{"name":"v","dockerVolumeConfiguration":{"scope":"global"}}]`, "", `scope "global"`},
		{"task cpu", `,"cpu":"1e12"`, "", `"1e12"`},
		{"task memory out of range", `,"memory":"99999999999"`, "", `"99999999999"`},

		{"container name", "", `,"name":"a:b"`, `containerDefinitions[0].name "a:b"`},
		{"cpu", "", `,"cpu":-1`, `cpu -1`},
		{"memory out of range", "", `,"memory":4294967296`, `memory 4294967296`},
		{"memory reservation negative", "", `,"memoryReservation":-1`, `memoryReservation -1`},
		{"stop timeout", "", `,"stopTimeout":-5`, `stopTimeout -5`},
		{"environment name", "", `,"environment":[{"name":"","value":"x"}]`, `environment[0].name ""`},
		{"restart period too short", "", `,"restartPolicy":{"enabled":true,"restartAttemptPeriod":59}`, `restartPolicy.restartAttemptPeriod 59`},
		{"restart period too long", "", `,"restartPolicy":{"enabled":true,"restartAttemptPeriod":1801}`, `restartPolicy.restartAttemptPeriod 1801`},
		{"restart policy without enabled", "", `,"restartPolicy":{"ignoredExitCodes":[1]}`, `restartPolicy.enabled`},

		{"device permission empty", "", `,"linuxParameters":{"devices":[{"hostPath":"/dev/fuse","permissions":[""]}]}`, `linuxParameters.devices[0].permissions[0] ""`},
		{"device permission case", "", `,"linuxParameters":{"devices":[{"hostPath":"/dev/fuse","permissions":["read","WRITE"]}]}`, `permissions[1] "WRITE"`},
		{"device host path", "", `,"linuxParameters":{"devices":[{"containerPath":"/dev/x"}]}`, `linuxParameters.devices[0].hostPath ""`},
		{"capability", "", `,"linuxParameters":{"capabilities":{"drop":["NET_ADMINS"]}}`, `capabilities.drop[0] "NET_ADMINS"`},
		{"shared memory", "", `,"linuxParameters":{"sharedMemorySize":-1}`, `sharedMemorySize -1`},
		{"tmpfs path", "", `,"linuxParameters":{"tmpfs":[{"containerPath":"","size":64}]}`, `tmpfs[0].containerPath ""`},
		{"tmpfs relative path", "", `,"linuxParameters":{"tmpfs":[{"containerPath":"tmp","size":64}]}`, `tmpfs[0].containerPath "tmp"`},
		{"tmpfs size", "", `,"linuxParameters":{"tmpfs":[{"containerPath":"/tmp","size":0}]}`, `tmpfs[0].size 0`},
		{"tmpfs option", "", `,"linuxParameters":{"tmpfs":[{"containerPath":"/tmp","size":8,"mountOptions":["bogus"]}]}`, `mountOptions[0] "bogus"`},
		{"tmpfs option list", "", `,"linuxParameters":{"tmpfs":[{"containerPath":"/tmp","size":8,"mountOptions":["rw,exec"]}]}`, `mountOptions[0] "rw,exec"`},

		{"ulimit name", "", `,"ulimits":[{"name":"nofiles","softLimit":1,"hardLimit":2}]`, `ulimits[0].name "nofiles"`},
		{"ulimit without name", "", `,"ulimits":[{"softLimit":1,"hardLimit":2}]`, `ulimits[0].name ""`},
		{"log driver", "", `,"logConfiguration":{"logDriver":"json"}`, `logConfiguration.logDriver "json"`},
		{"log driver missing", "", `,"logConfiguration":{"options":{}}`, `logConfiguration.logDriver ""`},
		{"extra host name", "", `,"extraHosts":[{"hostname":"","ipAddress":"10.0.0.1"}]`, `extraHosts[0].hostname ""`},
		{"extra host colon", "", `,"extraHosts":[{"hostname":"a:b","ipAddress":"10.0.0.1"}]`, `extraHosts[0].hostname "a:b"`},
		{"extra host address", "", `,"extraHosts":[{"hostname":"db","ipAddress":""}]`, `extraHosts[0].ipAddress ""`},
		{"sysctl namespace", "", `,"systemControls":[{"value":"1"}]`, `systemControls[0].namespace ""`},
		{"security option", "", `,"dockerSecurityOptions":["seccomp:unconfined"]`, `dockerSecurityOptions[0] "seccomp:unconfined"`},
		{"security option without value", "", `,"dockerSecurityOptions":["apparmor:"]`, `dockerSecurityOptions[0] "apparmor:"`},

		{"health check empty", "", `,"healthCheck":{"command":[]}`, `healthCheck.command ""`},
		{"health check kind", "", `,"healthCheck":{"command":["curl","-f","x"]}`, `healthCheck.command[0] "curl"`},
		{"health check without command", "", `,"healthCheck":{"command":["CMD-SHELL"]}`, `healthCheck.command "CMD-SHELL"`},
		{"health interval", "", `,"healthCheck":{"command":["NONE"],"interval":1}`, `healthCheck.interval 1`},
		{"health timeout", "", `,"healthCheck":{"command":["NONE"],"timeout":61}`, `healthCheck.timeout 61`},
		{"health retries", "", `,"healthCheck":{"command":["NONE"],"retries":0}`, `healthCheck.retries 0`},
		{"health start period", "", `,"healthCheck":{"command":["NONE"],"startPeriod":301}`, `healthCheck.startPeriod 301`},

		{"protocol", "", `,"portMappings":[{"containerPort":80,"protocol":"sctp"}]`, `portMappings[0].protocol "sctp"`},
		{"container port", "", `,"portMappings":[{"containerPort":70000}]`, `portMappings[0].containerPort 70000`},
		{"container port zero", "", `,"portMappings":[{"containerPort":0}]`, `portMappings[0].containerPort 0`},
		{"host port", "", `,"portMappings":[{"containerPort":80,"hostPort":65536}]`, `portMappings[0].hostPort 65536`},
		{"host port negative", "", `,"portMappings":[{"containerPort":80,"hostPort":-1}]`, `portMappings[0].hostPort -1`},
		{"no port", "", `,"portMappings":[{"protocol":"tcp"}]`, `portMappings[0]`},
		{"range syntax", "", `,"portMappings":[{"containerPortRange":"9000"}]`, `containerPortRange "9000"`},
		{"range order", "", `,"portMappings":[{"containerPortRange":"9010-9000"}]`, `containerPortRange "9010-9000"`},
		{"range from zero", "", `,"portMappings":[{"containerPortRange":"0-10"}]`, `containerPortRange "0-10"`},
		{"range not numbers", "", `,"portMappings":[{"containerPortRange":"a-b"}]`, `containerPortRange "a-b"`},
		{"range with host port", "", `,"portMappings":[{"containerPortRange":"9000-9010","hostPort":9000}]`, `portMappings[0].hostPort 9000`},
		{"range in host mode", `,"networkMode":"host"`, `,"portMappings":[{"containerPortRange":"9000-9010"}]`, `containerPortRange "9000-9010"`},
		{"host mode host port", `,"networkMode":"host"`, `,"portMappings":[{"containerPort":80,"hostPort":8080}]`, `portMappings[0].hostPort 8080`},
		{"ports in none mode", `,"networkMode":"none"`, `,"portMappings":[{"containerPort":80}]`, `portMappings 1`},

		{"link to unknown", "", `,"links":["c"]`, `links[0] "c"`},
		{"link alias", "", `,"links":["b:x:y"]`, `links[0] "b:x:y"`},
		{"link to itself", "", `,"links":["a"]`, `links[0] "a"`},
		{"link in host mode", `,"networkMode":"host"`, `,"links":["b"]`, `links "b"`},
		{"volumes from unknown", "", `,"volumesFrom":[{"sourceContainer":"c"}]`, `volumesFrom[0].sourceContainer "c"`},
		{"mount path", `,"volumes":[{"name":"v"}]`, `,"mountPoints":[{"sourceVolume":"v","containerPath":""}]`, `mountPoints[0].containerPath ""`},
		{"mount volume", "", `,"mountPoints":[{"sourceVolume":"v","containerPath":"/v"}]`, `mountPoints[0].sourceVolume "v"`},
		{"dependency condition", "", `,"dependsOn":[{"containerName":"b","condition":"STARTED"}]`, `dependsOn[0].condition "STARTED"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(definition(t, tc.task, tc.container))
			if !awserr.IsCode(err, awserr.CodeClient) {
				t.Fatalf("Validate = %v, want a ClientException", err)
			}
			if msg := awserr.As(err).Message; !strings.Contains(msg, tc.want) {
				t.Fatalf("message %q does not name %s", msg, tc.want)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name            string
		task, container string
	}{
		{"plain", "", ""},
		{"every enum value in use", `,"pidMode":"task","ipcMode":"none","requiresCompatibilities":["EC2","EXTERNAL"]`,
			`,"ulimits":[{"name":"nofile","softLimit":1,"hardLimit":2},{"name":"sigpending","softLimit":1,"hardLimit":2}],"logConfiguration":{"logDriver":"awsfirelens"}`},
		{"health check NONE", "", `,"healthCheck":{"command":["NONE"]}`},
		{"health check at the limits", "", `,"healthCheck":{"command":["CMD","true"],"interval":5,"timeout":60,"retries":10,"startPeriod":300}`},
		{"port range in bridge mode", "", `,"portMappings":[{"containerPortRange":"9000-9010","protocol":"udp"}]`},
		{"host mode with equal ports", `,"networkMode":"host"`, `,"portMappings":[{"containerPort":80,"hostPort":80},{"containerPort":81,"hostPort":0}]`},
		{"dynamic host port", "", `,"portMappings":[{"containerPort":80,"hostPort":0}]`},
		{"devices", "", `,"linuxParameters":{"devices":[{"hostPath":"/dev/fuse"},{"hostPath":"/dev/null","permissions":["mknod","read"]}]}`},
		{"tmpfs options", "", `,"linuxParameters":{"tmpfs":[{"containerPath":"/tmp","size":64,"mountOptions":["mode=1777","noexec"]}]}`},
		{"security options", "", `,"dockerSecurityOptions":["no-new-privileges","label:disable","apparmor:docker-default"]`},
		{"links with alias", "", `,"links":["b:db","b"]`},
		{"memory from the task", `,"memory":"512"`, `,"memory":null`},
		{"restart policy at its limits", "", `,"restartPolicy":{"enabled":true,"ignoredExitCodes":[0,143],"restartAttemptPeriod":60}`},
		{"restart policy with the default period", "", `,"restartPolicy":{"enabled":false}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := Validate(definition(t, tc.task, tc.container)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A definition Validate would refuse (from an older snapshot, say) still translates.
func TestToACSIsTotal(t *testing.T) {
	tests := []struct {
		name      string
		container string
		perms     string // the device's CgroupPermissions, when the case has a device
	}{
		{"empty permission", `,"linuxParameters":{"devices":[{"hostPath":"/dev/fuse","permissions":[""]}]}`, "rwm"},
		{"unknown and repeated permissions", `,"linuxParameters":{"devices":[{"hostPath":"/dev/fuse","permissions":["x","write","write","read"]}]}`, "rw"},
		{"health check without command", `,"healthCheck":{}`, ""},
		{"huge health interval", `,"healthCheck":{"command":["CMD","x"],"interval":9223372036854775807}`, ""},
		{"empty names everywhere", `,"extraHosts":[{}],"systemControls":[{}],"ulimits":[{}],"logConfiguration":{},"linuxParameters":{"tmpfs":[{}],"devices":[{}],"capabilities":{}}`, "rwm"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ToACS(definition(t, "", tc.container), Placement{TaskArn: "t", DesiredStatus: "RUNNING"})
			c := got.Containers[0]
			for _, s := range []*string{c.DockerConfig.Config, c.DockerConfig.HostConfig} {
				if s == nil || !json.Valid([]byte(*s)) {
					t.Fatalf("dockerConfig string is not JSON: %v", s)
				}
			}
			if tc.perms == "" {
				return
			}
			var host struct {
				Devices []struct{ CgroupPermissions string }
			}
			_ = json.Unmarshal([]byte(*c.DockerConfig.HostConfig), &host)
			if len(host.Devices) != 1 || host.Devices[0].CgroupPermissions != tc.perms {
				t.Fatalf("devices = %+v, want permissions %q", host.Devices, tc.perms)
			}
		})
	}
}
