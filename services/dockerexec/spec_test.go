package dockerexec

import (
	"errors"
	"reflect"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/ecs-agent/ecs-agent/bus"
)

func baseRequest() bus.CreateRequest {
	return bus.CreateRequest{
		TaskArn: "arn:aws:ecs:us-west-2:123456789012:task/default/abc",
		Cluster: "default", Family: "web", Version: "3",
		DockerName: "ecs-web-3-app-0a1b",
		Container: bus.ContainerSpec{
			Name: "app", Image: "busybox:latest", CPU: 10, Memory: 64,
			Command:     []string{"sh", "-c", "sleep 1"},
			EntryPoint:  []string{"/bin/entry"},
			Environment: map[string]string{"B": "own", "A": "1"},
		},
		ExtraEnv: map[string]string{"B": "agent", "C": "3"},
	}
}

func TestCreateConfigResources(t *testing.T) {
	tests := []struct {
		name       string
		cpu, mem   int64
		wantShares int64
		wantMemory int64
	}{
		{"zero cpu is the minimum, zero memory unlimited", 0, 0, 2, 0},
		{"one share raised to two", 1, 0, 2, 0},
		{"ordinary values", 512, 256, 512, 256 << 20},
		{"cpu above the kernel's maximum", 300000, 0, 262144, 0},
		{"memory below 4 MiB raised", 10, 1, 10, 4 << 20},
		{"memory of exactly 4 MiB kept", 10, 4, 10, 4 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := baseRequest()
			req.Container.CPU, req.Container.Memory = tc.cpu, tc.mem
			_, host, err := createConfig(req, "0.0.0.0", nil)
			if err != nil {
				t.Fatal(err)
			}
			if host.CPUShares != tc.wantShares || host.Memory != tc.wantMemory {
				t.Errorf("shares %d memory %d, want %d and %d", host.CPUShares, host.Memory, tc.wantShares, tc.wantMemory)
			}
		})
	}
}

func TestCreateConfigFields(t *testing.T) {
	req := baseRequest()
	req.Links = []string{"ecs-web-3-db-1:db"}
	req.VolumesFrom = []string{"ecs-web-3-data-2:ro"}
	req.Binds = []string{"/srv:/data:ro"}
	req.Container.Privileged = true
	req.PortBindings = []bus.PortMapping{
		{ContainerPort: 80, HostPort: 8080},
		{ContainerPort: 53, Protocol: "udp"},
	}
	cfg, host, err := createConfig(req, "127.0.0.1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"A=1", "B=agent", "C=3"}; !reflect.DeepEqual(cfg.Env, want) {
		t.Errorf("env %v, want %v", cfg.Env, want)
	}
	if !reflect.DeepEqual([]string(cfg.Cmd), req.Container.Command) || !reflect.DeepEqual([]string(cfg.Entrypoint), req.Container.EntryPoint) {
		t.Errorf("cmd %v entrypoint %v", cfg.Cmd, cfg.Entrypoint)
	}
	if cfg.Image != "busybox:latest" || host.NetworkMode != "bridge" || !host.Privileged {
		t.Errorf("image %q network %q privileged %v", cfg.Image, host.NetworkMode, host.Privileged)
	}
	wantPorts := nat.PortMap{
		"80/tcp": {{HostIP: "127.0.0.1", HostPort: "8080"}},
		"53/udp": {{HostIP: "127.0.0.1", HostPort: ""}},
	}
	if !reflect.DeepEqual(host.PortBindings, wantPorts) {
		t.Errorf("port bindings %v, want %v", host.PortBindings, wantPorts)
	}
	if _, ok := cfg.ExposedPorts["53/udp"]; !ok || len(cfg.ExposedPorts) != 2 {
		t.Errorf("exposed ports %v", cfg.ExposedPorts)
	}
	if !reflect.DeepEqual(host.Links, req.Links) || !reflect.DeepEqual(host.VolumesFrom, req.VolumesFrom) ||
		!reflect.DeepEqual(host.Binds, req.Binds) {
		t.Errorf("links %v volumesFrom %v binds %v", host.Links, host.VolumesFrom, host.Binds)
	}
	want := map[string]string{
		bus.LabelTaskARN: req.TaskArn, bus.LabelContainerName: "app", bus.LabelTaskDefFamily: "web",
		bus.LabelTaskDefVersion: "3", bus.LabelCluster: "default",
	}
	if !reflect.DeepEqual(cfg.Labels, want) {
		t.Errorf("labels %v, want %v", cfg.Labels, want)
	}
}

func TestCreateConfigDockerConfigMerge(t *testing.T) {
	req := baseRequest()
	req.PortBindings = []bus.PortMapping{{ContainerPort: 80, HostPort: 8080}}
	req.Container.DockerConfig = bus.DockerConfig{
		Config: `{"WorkingDir":"/var","User":"nobody","Env":["ONLY=this"],
			"Labels":{"team":"blue","com.amazonaws.ecs.task-arn":"forged","com.amazonaws.ecs.cluster":"other"}}`,
		HostConfig: `{"CapAdd":["NET_ADMIN"],"Memory":134217728,"MemoryReservation":67108864,"ReadonlyRootfs":true}`,
		Version:    "1.17",
	}
	cfg, host, err := createConfig(req, "0.0.0.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.WorkingDir != "/var" || cfg.User != "nobody" {
		t.Errorf("config keys not merged: dir %q user %q", cfg.WorkingDir, cfg.User)
	}
	if !reflect.DeepEqual(cfg.Env, []string{"ONLY=this"}) {
		t.Errorf("a key of dockerConfig.config must win: env %v", cfg.Env)
	}
	if host.Memory != 128<<20 || host.MemoryReservation != 64<<20 || !host.ReadonlyRootfs ||
		!reflect.DeepEqual([]string(host.CapAdd), []string{"NET_ADMIN"}) {
		t.Errorf("hostConfig keys not merged: %+v", host.Resources)
	}
	if host.CPUShares != 10 || len(host.PortBindings) != 1 {
		t.Errorf("agent fields absent from hostConfig must stay: shares %d ports %v", host.CPUShares, host.PortBindings)
	}
	if cfg.Labels["team"] != "blue" {
		t.Errorf("user label lost: %v", cfg.Labels)
	}
	if cfg.Labels[bus.LabelTaskARN] != req.TaskArn || cfg.Labels[bus.LabelCluster] != "default" {
		t.Errorf("agent labels must be applied last: %v", cfg.Labels)
	}
}

func TestCreateConfigErrors(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*bus.CreateRequest)
		code   bus.Code
	}{
		{"bad config JSON", func(r *bus.CreateRequest) { r.Container.DockerConfig.Config = `{"WorkingDir":` }, bus.CodeCreateFailed},
		{"bad hostConfig type", func(r *bus.CreateRequest) { r.Container.DockerConfig.HostConfig = `{"Memory":"lots"}` }, bus.CodeCreateFailed},
		{"awsvpc", func(r *bus.CreateRequest) { r.NetworkMode = "awsvpc" }, bus.CodeCreateFailed},
		{"bad protocol", func(r *bus.CreateRequest) { r.PortBindings = []bus.PortMapping{{ContainerPort: 80, Protocol: "sctp"}} }, bus.CodeBadRequest},
		{"no container port", func(r *bus.CreateRequest) { r.PortBindings = []bus.PortMapping{{HostPort: 80}} }, bus.CodeBadRequest},
		{"bad range", func(r *bus.CreateRequest) { r.PortBindings = []bus.PortMapping{{ContainerPortRange: "90-80"}} }, bus.CodeBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := baseRequest()
			tc.modify(&req)
			_, _, err := createConfig(req, "0.0.0.0", nil)
			if !errors.Is(err, &bus.Error{Code: tc.code}) {
				t.Errorf("err %v, want code %d", err, tc.code)
			}
		})
	}
}

func TestCreateConfigNetworkModes(t *testing.T) {
	tests := []struct {
		mode      string
		want      container.NetworkMode
		wantBinds int
	}{
		{"", "bridge", 1},
		{"bridge", "bridge", 1},
		{"host", "host", 0},
		{"none", "none", 1},
	}
	for _, tc := range tests {
		t.Run("mode "+tc.mode, func(t *testing.T) {
			req := baseRequest()
			req.NetworkMode = tc.mode
			req.PortBindings = []bus.PortMapping{{ContainerPort: 80}}
			_, host, err := createConfig(req, "0.0.0.0", nil)
			if err != nil {
				t.Fatal(err)
			}
			if host.NetworkMode != tc.want || len(host.PortBindings) != tc.wantBinds {
				t.Errorf("mode %q bindings %v", host.NetworkMode, host.PortBindings)
			}
		})
	}
}

func TestCreateConfigPortRange(t *testing.T) {
	req := baseRequest()
	req.PortBindings = []bus.PortMapping{{ContainerPortRange: "9000-9002", HostPort: 7000}}
	cfg, host, err := createConfig(req, "0.0.0.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.ExposedPorts) != 3 || len(host.PortBindings) != 3 {
		t.Fatalf("exposed %v bindings %v", cfg.ExposedPorts, host.PortBindings)
	}
	if b := host.PortBindings["9001/tcp"]; len(b) != 1 || b[0].HostPort != "" {
		t.Errorf("a range leaves host ports to Docker: %v", b)
	}
}

func TestCreateConfigCgroupParent(t *testing.T) {
	req := baseRequest()
	_, host, err := createConfig(req, "0.0.0.0", nil)
	if err != nil || host.CgroupParent != "" {
		t.Fatalf("no task cgroup: parent %q, %v", host.CgroupParent, err)
	}
	req.CgroupParent = "/ecs/abc"
	_, host, err = createConfig(req, "0.0.0.0", nil)
	if err != nil || host.CgroupParent != "/ecs/abc" {
		t.Fatalf("parent %q, %v", host.CgroupParent, err)
	}
}
