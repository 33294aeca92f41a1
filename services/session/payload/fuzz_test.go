package payload

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/bus"
)

// FuzzTask translates arbitrary ACS tasks: nothing may panic, a refusal is always
// ErrInvalidTask, and an accepted task is one the scheduler can address (an ARN, a
// desired status it knows, unique container names, ports within range).
func FuzzTask(f *testing.F) {
	f.Add([]byte(`{"arn":"arn:aws:ecs:us-west-2:123456789012:task/default/1","family":"f","version":"1","desiredStatus":"RUNNING","containers":[{"name":"exit","image":"busybox","cpu":10,"memory":64,"essential":true,"command":["sh","-c","exit 42"],"environment":{},"portMappings":[{"containerPort":80,"hostPort":0}],"overrides":"{\"command\":[\"true\"]}","dockerConfig":{"config":"{}","hostConfig":"{\"CapAdd\":[],\"CapDrop\":[]}","version":"1.17"}}],"volumes":[{"name":"v","type":"docker","dockerVolumeConfiguration":{"scope":"shared","autoprovision":true,"driver":"local"}}]}`))
	f.Add([]byte(`{"arn":"a","desiredStatus":"STOPPED","containers":[{"name":"a"},{"name":"a"}]}`))
	f.Add([]byte(`{"arn":"a","desiredStatus":"PENDING"}`))
	f.Add([]byte(`{"arn":"a","desiredStatus":"RUNNING","containers":[{"name":"x","portMappings":[{"containerPort":70000}],"overrides":"[1]"}]}`))
	f.Add([]byte(`{"arn":"a","desiredStatus":"RUNNING","volumes":[{"name":"v","type":"efs"}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var in acs.Task
		if json.Unmarshal(raw, &in) != nil {
			return
		}
		spec, err := Task(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidTask) {
				t.Fatalf("refusal %v is not ErrInvalidTask", err)
			}
			return
		}
		if spec.Arn == "" || (spec.DesiredStatus != bus.StatusRunning && spec.DesiredStatus != bus.StatusStopped) {
			t.Fatalf("accepted %+v", spec)
		}
		names := map[string]bool{}
		for _, c := range spec.Containers {
			if c.Name == "" || names[c.Name] {
				t.Fatalf("container name %q empty or repeated", c.Name)
			}
			names[c.Name] = true
			for _, p := range c.PortMappings {
				if p.ContainerPort < 0 || p.ContainerPort > 65535 || p.HostPort < 0 || p.HostPort > 65535 ||
					(p.Protocol != "tcp" && p.Protocol != "udp") {
					t.Fatalf("port mapping %+v", p)
				}
			}
		}
		if _, err := json.Marshal(spec); err != nil {
			t.Fatalf("the spec does not encode for the bus: %v", err)
		}
	})
}
