package taskdef

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ecs-agent/ecs-agent/acs"
)

const (
	plainConfig     = `{}`
	plainHostConfig = `{"CapAdd":[],"CapDrop":[]}`
	busybox         = "127.0.0.1:51670/busybox:latest"
)

// wantContainer is what a translated container must hold; fields left zero are checked
// for their zero translation (empty lists, plain dockerConfig).
type wantContainer struct {
	name, image string
	cpu, memory int64
	essential   bool
	command     []string
	links       []string
	ports       []acs.PortMapping
	mounts      []acs.MountPoint
	volumesFrom []acs.VolumeFrom
	dependsOn   []acs.ContainerDependency
	config      string // "" means plainConfig
	hostConfig  string // "" means plainHostConfig
	version     string // "" means 1.17
	healthCheck bool
}

func i64(v int64) *int64 { return &v }

func loadPeer(t *testing.T, name string) Definition {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "peer-taskdefs", name+".taskdef.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d Definition
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if err := Validate(d); err != nil {
		t.Fatalf("%s does not validate: %v", name, err)
	}
	return d
}

func TestPeerTaskDefinitionsToACS(t *testing.T) {
	scratch := func(name string) acs.Volume {
		return acs.Volume{Name: name, Type: "host", Host: &acs.HostVolumeProperties{}}
	}
	tests := []struct {
		file       string
		family     string
		volumes    []acs.Volume
		containers []wantContainer
	}{
		{"simple-exit", "ecsinteg-simple-exit", nil, []wantContainer{
			{name: "exit", image: busybox, cpu: 10, memory: 64, essential: true, command: []string{"sh", "-c", "exit 42"}},
		}},
		{"busybox-port-5180", "ecsftest-busybox-port-5180", nil, []wantContainer{
			{name: "sleep", image: busybox, memory: 50, essential: true, command: []string{"sh", "-c", "echo foobar | nc -l -p 80"},
				ports: []acs.PortMapping{{ContainerPort: i64(80), HostPort: i64(5180), Protocol: "tcp"}}},
		}},
		{"invalid-image", "ecsinteg-invalid-image", nil, []wantContainer{
			{name: "error", image: "example.com/nonexistent", cpu: 1, memory: 256, essential: true,
				ports: []acs.PortMapping{{ContainerPort: i64(80), Protocol: "tcp"}}},
		}},
		{"network-link", "ecsinteg-network-link", nil, []wantContainer{
			{name: "nginx", image: "127.0.0.1:51670/nginx:latest", cpu: 20, memory: 20, essential: true},
			{name: "exit", image: busybox, cpu: 10, memory: 64, essential: true, links: []string{"nginx:nginx"},
				command: []string{"sh", "-c", "sleep 1; wget -O- http://nginx && exit 42; exit -1"}},
		}},
		{"datavolume", "ecsinteg-datavolume-test", []acs.Volume{scratch("test")}, []wantContainer{
			{name: "exit", image: busybox, cpu: 10, memory: 64, essential: true,
				command:     []string{"sh", "-c", "while true; do sleep 1; [ -f /data/success ] && exit 42; done"},
				volumesFrom: []acs.VolumeFrom{{SourceContainer: "data-volume-source"}}},
			{name: "dataSource", image: busybox, cpu: 10, memory: 64, command: []string{"sh", "-c", "touch /data/success"},
				volumesFrom: []acs.VolumeFrom{{SourceContainer: "data-volume-source"}}},
			{name: "data-volume-source", image: busybox, cpu: 10, memory: 64, command: []string{"data volumes shouldn't need to run"},
				mounts: []acs.MountPoint{{SourceVolume: "test", ContainerPath: "/data/"}}},
		}},
		{"container-ordering-success", "ecsftest-container-ordering-success-condition", []acs.Volume{scratch("volume1")}, []wantContainer{
			{name: "success", image: busybox, memory: 64, essential: true, command: []string{"sh", "-c", "cat test.txt"},
				mounts:    []acs.MountPoint{{SourceVolume: "volume1", ContainerPath: "/test"}},
				dependsOn: []acs.ContainerDependency{{ContainerName: "success-dependency", Condition: "SUCCESS"}},
				config:    `{"WorkingDir":"/test"}`},
			{name: "success-dependency", image: busybox, memory: 64, command: []string{"sh", "-c", "touch test.txt && echo hi >> test.txt"},
				mounts: []acs.MountPoint{{SourceVolume: "volume1", ContainerPath: "/test"}},
				config: `{"WorkingDir":"/test"}`},
		}},
		{"container-ordering-complete", "ecsftest-container-ordering-complete-condition", []acs.Volume{scratch("volume1")}, []wantContainer{
			{name: "complete", image: busybox, memory: 64, essential: true, command: []string{"sh", "-c", "cat test.txt"},
				mounts:    []acs.MountPoint{{SourceVolume: "volume1", ContainerPath: "/test"}},
				dependsOn: []acs.ContainerDependency{{ContainerName: "complete-dependency", Condition: "COMPLETE"}},
				config:    `{"WorkingDir":"/test"}`},
			{name: "complete-dependency", image: busybox, memory: 64, command: []string{"sh", "-c", "touch test.txt && echo hi >> test.txt && exit 1"},
				mounts: []acs.MountPoint{{SourceVolume: "volume1", ContainerPath: "/test"}},
				config: `{"WorkingDir":"/test"}`},
		}},
		{"container-ordering-healthy", "ecsftest-container-ordering-complete-condition", []acs.Volume{scratch("volume1")}, []wantContainer{
			{name: "healthy", image: busybox, memory: 64, command: []string{"sh", "-c", "cat test.txt"},
				mounts:    []acs.MountPoint{{SourceVolume: "volume1", ContainerPath: "/test"}},
				dependsOn: []acs.ContainerDependency{{ContainerName: "healthy-dependency", Condition: "HEALTHY"}},
				config:    `{"WorkingDir":"/test"}`},
			{name: "healthy-dependency", image: busybox, memory: 64, essential: true, command: []string{"sh", "-c", "sleep 60"},
				mounts:      []acs.MountPoint{{SourceVolume: "volume1", ContainerPath: "/test"}},
				config:      `{"WorkingDir":"/test","Healthcheck":{"Test":["CMD-SHELL","cd /test \u0026\u0026 touch test.txt \u0026\u0026 echo hi \u003e\u003e test.txt;"],"Interval":5000000000,"Timeout":50000000000,"Retries":3,"StartPeriod":0}}`,
				version:     "1.24",
				healthCheck: true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			d := loadPeer(t, tc.file)
			arns := map[string]string{}
			for _, c := range d.ContainerDefinitions {
				arns[c.Name] = "arn:container/" + c.Name
			}
			got := ToACS(d, Placement{TaskArn: "arn:task", ClusterArn: "arn:cluster", Revision: 3, DesiredStatus: "RUNNING", ContainerArns: arns})
			if got.Arn != "arn:task" || got.TaskClusterArn != "arn:cluster" || got.Family != tc.family || got.Version != "3" ||
				got.DesiredStatus != "RUNNING" || got.NetworkMode != "bridge" || got.CPU != nil || got.Memory != nil {
				t.Errorf("task header = %+v", got)
			}
			wantVolumes := tc.volumes
			if wantVolumes == nil {
				wantVolumes = []acs.Volume{}
			}
			if !reflect.DeepEqual(got.Volumes, wantVolumes) {
				t.Errorf("volumes = %+v, want %+v", got.Volumes, wantVolumes)
			}
			if len(got.Containers) != len(tc.containers) {
				t.Fatalf("%d containers, want %d", len(got.Containers), len(tc.containers))
			}
			for i, w := range tc.containers {
				checkContainer(t, got.Containers[i], w)
				if got.Containers[i].ContainerArn != "arn:container/"+w.name {
					t.Errorf("%s: containerArn %q", w.name, got.Containers[i].ContainerArn)
				}
			}
			// The frame must survive the wire.
			frame, err := acs.Encode(acs.TypePayloadMessage, acs.PayloadMessage{Tasks: []acs.Task{got}})
			if err != nil {
				t.Fatal(err)
			}
			env, _ := acs.Decode(frame)
			var back acs.PayloadMessage
			if err := json.Unmarshal(env.Message, &back); err != nil || !reflect.DeepEqual(back.Tasks[0], got) {
				t.Errorf("round trip changed the task: %v", err)
			}
		})
	}
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func checkContainer(t *testing.T, got acs.Container, w wantContainer) {
	t.Helper()
	if got.Name != w.name || got.Image != w.image || got.CPU != w.cpu || got.Memory != w.memory || got.Essential != w.essential {
		t.Errorf("%s: name/image/cpu/memory/essential = %s %s %d %d %v", w.name, got.Name, got.Image, got.CPU, got.Memory, got.Essential)
	}
	check := func(field string, got, want any) {
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %s = %#v, want %#v", w.name, field, got, want)
		}
	}
	check("command", got.Command, orEmpty(w.command))
	check("links", got.Links, orEmpty(w.links))
	check("portMappings", got.PortMappings, orEmpty(w.ports))
	check("mountPoints", got.MountPoints, orEmpty(w.mounts))
	check("volumesFrom", got.VolumesFrom, orEmpty(w.volumesFrom))
	check("dependsOn", got.DependsOn, w.dependsOn)
	check("environment", got.Environment, map[string]string{})
	check("overrides", got.Overrides, "{}")
	config, hostConfig, version := w.config, w.hostConfig, w.version
	if config == "" {
		config = plainConfig
	}
	if hostConfig == "" {
		hostConfig = plainHostConfig
	}
	if version == "" {
		version = "1.17"
	}
	check("dockerConfig.config", *got.DockerConfig.Config, config)
	check("dockerConfig.hostConfig", *got.DockerConfig.HostConfig, hostConfig)
	check("dockerConfig.version", *got.DockerConfig.Version, version)
	wantHC := ""
	if w.healthCheck {
		wantHC = "docker"
	}
	check("healthCheckType", got.HealthCheckType, wantHC)
}

func TestDockerConfigFeatures(t *testing.T) {
	raw := `{
	  "family": "full", "cpu": "512", "memory": "1 GB", "networkMode": "host",
	  "volumes": [
	    {"name": "logs", "host": {"sourcePath": "/var/log"}},
	    {"name": "cache", "dockerVolumeConfiguration": {"scope": "shared", "autoprovision": true, "driver": "local", "labels": {"a": "b"}}},
	    {"name": "tmp", "dockerVolumeConfiguration": {}}
	  ],
	  "containerDefinitions": [{
	    "name": "app", "image": "app:1", "cpu": 128, "memoryReservation": 128, "essential": true,
	    "entryPoint": ["/bin/app"], "command": ["serve"],
	    "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
	    "portMappings": [{"containerPort": 8080, "protocol": "udp"}],
	    "workingDirectory": "/srv", "hostname": "app-host", "user": "nobody",
	    "dockerLabels": {"team": "x"},
	    "healthCheck": {"command": ["CMD", "true"], "interval": 10, "timeout": 2, "retries": 5, "startPeriod": 7},
	    "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
	    "logConfiguration": {"logDriver": "json-file", "options": {"max-size": "10m"}},
	    "extraHosts": [{"hostname": "db", "ipAddress": "10.0.0.2"}],
	    "readonlyRootFilesystem": true, "privileged": true,
	    "linuxParameters": {"capabilities": {"add": ["NET_ADMIN"], "drop": ["MKNOD"]}, "initProcessEnabled": true, "sharedMemorySize": 64,
	      "devices": [{"hostPath": "/dev/fuse", "permissions": ["read", "write"]}]},
	    "startTimeout": 30, "stopTimeout": 10,
	    "mountPoints": [{"sourceVolume": "logs", "containerPath": "/logs", "readOnly": true}]
	  }]
	}`
	var d Definition
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		t.Fatal(err)
	}
	if err := Validate(d); err != nil {
		t.Fatal(err)
	}
	o := Overrides{ContainerOverrides: []ContainerOverride{{Name: "app", Command: []string{"migrate"}, Environment: []KeyValue{{Name: "B", Value: "override"}, {Name: "C", Value: "3"}}}}}
	got := ToACS(d, Placement{TaskArn: "t", ClusterArn: "c", Revision: 1, DesiredStatus: "RUNNING", Overrides: o})
	if got.NetworkMode != "host" || got.CPU == nil || *got.CPU != 0.5 || got.Memory == nil || *got.Memory != 1024 {
		t.Errorf("task cpu/memory/network = %v %v %s", got.CPU, got.Memory, got.NetworkMode)
	}
	wantVolumes := []acs.Volume{
		{Name: "logs", Type: "host", Host: &acs.HostVolumeProperties{SourcePath: "/var/log"}},
		{Name: "cache", Type: "docker", DockerVolumeConfiguration: &acs.DockerVolumeConfiguration{Scope: "shared", Autoprovision: boolPtr(true), Driver: "local", Labels: map[string]string{"a": "b"}}},
		{Name: "tmp", Type: "docker", DockerVolumeConfiguration: &acs.DockerVolumeConfiguration{Scope: "task", Driver: "local"}},
	}
	if !reflect.DeepEqual(got.Volumes, wantVolumes) {
		t.Errorf("volumes = %+v", got.Volumes)
	}
	c := got.Containers[0]
	if c.Memory != 0 || !reflect.DeepEqual(c.Command, []string{"migrate"}) || c.Overrides != `{"command":["migrate"]}` {
		t.Errorf("memory/command/overrides = %d %v %s", c.Memory, c.Command, c.Overrides)
	}
	if !reflect.DeepEqual(c.Environment, map[string]string{"A": "1", "B": "override", "C": "3"}) {
		t.Errorf("environment = %v", c.Environment)
	}
	if !reflect.DeepEqual(c.PortMappings, []acs.PortMapping{{ContainerPort: i64(8080), HostPort: i64(8080), Protocol: "udp"}}) {
		t.Errorf("ports = %+v", c.PortMappings)
	}
	if c.StartTimeout == nil || *c.StartTimeout != 30 || c.StopTimeout == nil || *c.StopTimeout != 10 || c.Privileged == nil || !*c.Privileged {
		t.Errorf("timeouts/privileged = %v %v %v", c.StartTimeout, c.StopTimeout, c.Privileged)
	}
	if c.LinuxParameters == nil || !reflect.DeepEqual(c.LinuxParameters.Capabilities.Add, []string{"NET_ADMIN"}) || *c.LinuxParameters.SharedMemorySize != 64 {
		t.Errorf("linuxParameters = %+v", c.LinuxParameters)
	}
	if c.HealthCheckType != "docker" || !reflect.DeepEqual(c.EntryPoint, []string{"/bin/app"}) {
		t.Errorf("healthCheckType %q entryPoint %v", c.HealthCheckType, c.EntryPoint)
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(*c.DockerConfig.Config), &cfg); err != nil {
		t.Fatal(err)
	}
	wantCfg := map[string]any{
		"WorkingDir": "/srv", "Hostname": "app-host", "User": "nobody",
		"Labels":      map[string]any{"team": "x"},
		"Healthcheck": map[string]any{"Test": []any{"CMD", "true"}, "Interval": 1e10, "Timeout": 2e9, "Retries": 5.0, "StartPeriod": 7e9},
	}
	if !reflect.DeepEqual(cfg, wantCfg) {
		t.Errorf("config = %v", cfg)
	}
	var host map[string]any
	if err := json.Unmarshal([]byte(*c.DockerConfig.HostConfig), &host); err != nil {
		t.Fatal(err)
	}
	wantHost := map[string]any{
		"CapAdd": []any{"NET_ADMIN"}, "CapDrop": []any{"MKNOD"},
		"MemoryReservation": float64(128 << 20),
		"Ulimits":           []any{map[string]any{"Name": "nofile", "Soft": 1024.0, "Hard": 4096.0}},
		"LogConfig":         map[string]any{"Type": "json-file", "Config": map[string]any{"max-size": "10m"}},
		"ExtraHosts":        []any{"db:10.0.0.2"},
		"ReadonlyRootfs":    true,
		"Init":              true,
		"ShmSize":           float64(64 << 20),
		"Devices":           []any{map[string]any{"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse", "CgroupPermissions": "rw"}},
	}
	if !reflect.DeepEqual(host, wantHost) {
		t.Errorf("hostConfig = %v", host)
	}
	if *c.DockerConfig.Version != "1.25" {
		t.Errorf("version = %s", *c.DockerConfig.Version)
	}
	req := RequirementsOf(d, o)
	if req.CPU != 512 || req.Memory != 1024 || len(req.TCPPorts) != 0 || !reflect.DeepEqual(req.UDPPorts, []int64{8080}) {
		t.Errorf("requirements = %+v", req)
	}
}

func boolPtr(b bool) *bool { return &b }

func TestRequirements(t *testing.T) {
	tests := []struct {
		name string
		def  string
		want Requirements
	}{
		{"sum of containers", `{"family":"f","containerDefinitions":[{"name":"a","image":"i","cpu":10,"memory":64},{"name":"b","image":"i","cpu":5,"memoryReservation":32,"portMappings":[{"containerPort":80,"hostPort":8080},{"containerPort":81}]}]}`,
			Requirements{CPU: 15, Memory: 96, TCPPorts: []int64{8080}}},
		{"task level wins", `{"family":"f","cpu":"1 vcpu","memory":"512","containerDefinitions":[{"name":"a","image":"i","cpu":10,"memory":64}]}`,
			Requirements{CPU: 1024, Memory: 512}},
		{"awsvpc has no host ports", `{"family":"f","networkMode":"awsvpc","containerDefinitions":[{"name":"a","image":"i","memory":64,"portMappings":[{"containerPort":80,"hostPort":80}]}]}`,
			Requirements{Memory: 64}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Definition
			if err := json.Unmarshal([]byte(tc.def), &d); err != nil {
				t.Fatal(err)
			}
			if got := RequirementsOf(d, Overrides{}); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRestartPolicyToACS(t *testing.T) {
	d := definition(t, "", `,"restartPolicy":{"enabled":true,"ignoredExitCodes":[0]}`)
	got := restartPolicyToACS(d.ContainerDefinitions[0].RestartPolicy)
	if got == nil || !got.Enabled || len(got.IgnoredExitCodes) != 1 || got.RestartAttemptPeriod == nil || *got.RestartAttemptPeriod != 300 {
		t.Fatalf("restart policy %+v, want enabled, [0], the default 300 s", got)
	}
	if restartPolicyToACS(d.ContainerDefinitions[1].RestartPolicy) != nil {
		t.Fatal("a policy for a container without one")
	}
}
