package config

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzEnvFile parses arbitrary env files into a configuration: nothing may panic; a
// refusal names a variable (it starts with VARIABLE=); an accepted configuration
// validates and keeps its values within their ranges.
func FuzzEnvFile(f *testing.F) {
	f.Add([]byte("ECS_CLUSTER=prod\nECS_RESERVED_PORTS=[22, 80]\nECS_BACKEND_HOST=http://127.0.0.1:51700\n"))
	f.Add([]byte("# comment\nECS_CONTAINER_STOP_TIMEOUT=-1s\n"))
	f.Add([]byte("ECS_DYNAMIC_HOST_PORT_RANGE=9-2\nECS_LOGLEVEL=verbose\n"))
	f.Add([]byte("ECS_INSTANCE_ATTRIBUTES={\"a\":\"b\"}\nECS_DATADIR=/tmp/x\nECS_CHECKPOINT=false\n"))
	f.Add([]byte("ECS_BACKEND_HOST=ftp://x\nDOCKER_HOST=unix://\nECS_BUS_URL=nats://:0\n"))
	f.Add([]byte("ECS_BUS_PASSWORD_SESSION=x\nECS_METRICS_PORT=0\nECS_HOST_PORT_BIND_IP=::1\n"))
	f.Fuzz(func(t *testing.T, file []byte) {
		vars := ParseEnvFile(bytes.NewReader(file))
		c, err := FromEnv(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
		if err != nil {
			name, _, ok := strings.Cut(err.Error(), "=")
			if !ok || name == "" || strings.ContainsAny(name, " \t") {
				t.Fatalf("error %q does not start with the variable's name", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted a configuration that does not validate: %v", err)
		}
		for _, p := range append(append([]int{}, c.ReservedPorts...), c.ReservedPortsUDP...) {
			if p < 1 || p > 65535 {
				t.Fatalf("reserved port %d", p)
			}
		}
		if c.DynamicPortMin < 1 || c.DynamicPortMax > 65535 || c.DynamicPortMin > c.DynamicPortMax {
			t.Fatalf("dynamic range %d-%d", c.DynamicPortMin, c.DynamicPortMax)
		}
		if c.ContainerStopTimeout < 0 || c.ContainerStartTimeout < 0 || c.TaskCleanupWait < 0 || c.ReservedMemory < 0 {
			t.Fatalf("negative value accepted: %+v", c)
		}
	})
}
