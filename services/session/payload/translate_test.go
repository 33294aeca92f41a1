package payload

import (
	"errors"
	"reflect"
	"testing"

	"github.com/ecs-agent/ecs-agent/acs"
	"github.com/ecs-agent/ecs-agent/bus"
)

func ptr[T any](v T) *T { return &v }

func baseTask() acs.Task {
	return acs.Task{
		Arn: "arn:aws:ecs:r:1:task/c/t1", TaskClusterArn: "arn:aws:ecs:r:1:cluster/c",
		Family: "fam", Version: "2", DesiredStatus: "RUNNING", NetworkMode: "bridge",
		CPU: ptr(0.5), Memory: ptr(int64(512)), ServiceName: "svc",
		Containers: []acs.Container{{
			Name: "web", Image: "busybox", CPU: 10, Memory: 64, Essential: true,
			Command: []string{"sleep", "10"}, EntryPoint: []string{"/bin/sh"},
			Environment: map[string]string{"K": "V"}, Links: []string{"db:database"},
			PortMappings: []acs.PortMapping{{ContainerPort: ptr(int64(80)), HostPort: ptr(int64(8080))}, {ContainerPort: ptr(int64(53)), Protocol: "udp"}},
			MountPoints:  []acs.MountPoint{{SourceVolume: "data", ContainerPath: "/data", ReadOnly: true}},
			VolumesFrom:  []acs.VolumeFrom{{SourceContainer: "db"}},
			DependsOn:    []acs.ContainerDependency{{ContainerName: "db", Condition: "HEALTHY"}},
			StartTimeout: ptr(int64(30)), StopTimeout: ptr(int64(5)), Privileged: ptr(true),
			DockerConfig: acs.DockerConfig{Config: ptr(`{"WorkingDir":"/w"}`), HostConfig: ptr(`{"CapAdd":[]}`), Version: ptr("1.17")},
		}, {Name: "db", Image: "db"}},
		Volumes: []acs.Volume{
			{Name: "data", Host: &acs.HostVolumeProperties{SourcePath: "/srv"}},
			{Name: "scratch"},
			{Name: "dv", Type: "docker", DockerVolumeConfiguration: &acs.DockerVolumeConfiguration{Scope: "shared", Autoprovision: ptr(true), Driver: "local"}},
		},
	}
}

func TestTaskTranslation(t *testing.T) {
	got, err := Task(baseTask())
	if err != nil {
		t.Fatal(err)
	}
	want := bus.TaskSpec{
		Arn: "arn:aws:ecs:r:1:task/c/t1", ClusterArn: "arn:aws:ecs:r:1:cluster/c", Family: "fam", Version: "2",
		DesiredStatus: bus.StatusRunning, NetworkMode: "bridge", CPU: 0.5, Memory: 512, ServiceName: "svc",
		Containers: []bus.ContainerSpec{{
			Name: "web", Image: "busybox", CPU: 10, Memory: 64, Essential: true,
			Command: []string{"sleep", "10"}, EntryPoint: []string{"/bin/sh"},
			Environment: map[string]string{"K": "V"}, Links: []string{"db:database"},
			PortMappings: []bus.PortMapping{{ContainerPort: 80, HostPort: 8080, Protocol: "tcp"}, {ContainerPort: 53, Protocol: "udp"}},
			MountPoints:  []bus.MountPoint{{SourceVolume: "data", ContainerPath: "/data", ReadOnly: true}},
			VolumesFrom:  []bus.VolumeFrom{{SourceContainer: "db"}},
			DependsOn:    []bus.Dependency{{ContainerName: "db", Condition: "HEALTHY"}},
			StartTimeout: 30, StopTimeout: 5, Privileged: true,
			DockerConfig: bus.DockerConfig{Config: `{"WorkingDir":"/w"}`, HostConfig: `{"CapAdd":[]}`, Version: "1.17"},
		}, {Name: "db", Image: "db"}},
		Volumes: []bus.VolumeSpec{
			{Name: "data", Type: "host", SourcePath: "/srv"},
			{Name: "scratch", Type: "host"},
			{Name: "dv", Type: "docker", Docker: &bus.DockerVolumeSpec{Scope: "shared", Autoprovision: true, Driver: "local"}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Task =\n%+v\nwant\n%+v", got, want)
	}
}

func TestTaskOverridesAndErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mutate  func(*acs.Task)
		wantErr bool
		wantCmd []string
	}{
		{"stopped accepted", func(t *acs.Task) { t.DesiredStatus = "STOPPED" }, false, []string{"sleep", "10"}},
		{"command override", func(t *acs.Task) { t.Containers[0].Overrides = `{"command":["sh","-c","exit 1"]}` }, false, []string{"sh", "-c", "exit 1"}},
		{"null command keeps", func(t *acs.Task) { t.Containers[0].Overrides = `{"command":null}` }, false, []string{"sleep", "10"}},
		{"empty overrides keeps", func(t *acs.Task) { t.Containers[0].Overrides = `{}` }, false, []string{"sleep", "10"}},
		{"task overrides ignored", func(t *acs.Task) { t.Overrides = `{"command":["x"]}` }, false, []string{"sleep", "10"}},
		{"pending refused", func(t *acs.Task) { t.DesiredStatus = "PENDING" }, true, nil},
		{"empty status refused", func(t *acs.Task) { t.DesiredStatus = "" }, true, nil},
		{"no arn", func(t *acs.Task) { t.Arn = "" }, true, nil},
		{"bad overrides", func(t *acs.Task) { t.Containers[0].Overrides = `[1]` }, true, nil},
		{"bad override command", func(t *acs.Task) { t.Containers[0].Overrides = `{"command":"ls"}` }, true, nil},
		{"bad protocol", func(t *acs.Task) { t.Containers[0].PortMappings[0].Protocol = "sctp" }, true, nil},
		{"no container port", func(t *acs.Task) { t.Containers[0].PortMappings[0].ContainerPort = nil }, true, nil},
		{"port out of range", func(t *acs.Task) { t.Containers[0].PortMappings[0].HostPort = ptr(int64(70000)) }, true, nil},
		{"unknown volume type", func(t *acs.Task) { t.Volumes[0].Type = "efs" }, true, nil},
		{"docker volume without config", func(t *acs.Task) { t.Volumes[2].DockerVolumeConfiguration = nil }, true, nil},
		{"duplicate container", func(t *acs.Task) { t.Containers[1].Name = "web" }, true, nil},
		{"unnamed container", func(t *acs.Task) { t.Containers[1].Name = "" }, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			task := baseTask()
			tc.mutate(&task)
			got, err := Task(task)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidTask) {
					t.Fatalf("Task = %v, want ErrInvalidTask", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Containers[0].Command, tc.wantCmd) {
				t.Errorf("command = %q, want %q", got.Containers[0].Command, tc.wantCmd)
			}
		})
	}
}

func TestSecretsRegistryAuthAndRoles(t *testing.T) {
	base := func() acs.Task {
		return acs.Task{
			Arn: "arn:aws:ecs:us-west-2:123456789012:task/c/s1", DesiredStatus: "RUNNING",
			ExecutionRoleCredentials: &acs.IAMRoleCredentials{CredentialsID: "exec-1"},
			RoleCredentials:          &acs.IAMRoleCredentials{CredentialsID: "task-1"},
			Containers: []acs.Container{{
				Name: "app", Image: "127.0.0.1:5000/app",
				Secrets: []acs.Secret{
					{Name: "DB", ValueFrom: "/db/password", Provider: "ssm", Type: "ENVIRONMENT_VARIABLE", Region: "us-west-2"},
					{Name: "API", ValueFrom: "arn:aws:secretsmanager:us-west-2:123456789012:secret:api-AbCdEf:key::", Provider: "asm"},
				},
				RegistryAuthentication: &acs.RegistryAuthenticationData{Type: "asm", ASMAuthData: &acs.ASMAuthData{CredentialsParameter: "arn:aws:secretsmanager:us-west-2:123456789012:secret:reg", Region: "us-west-2"}},
			}},
		}
	}
	spec, err := Task(base())
	if err != nil {
		t.Fatal(err)
	}
	if spec.TaskCredentialsID != "task-1" || spec.ExecutionCredentialsID != "exec-1" {
		t.Errorf("credentials IDs %q %q", spec.TaskCredentialsID, spec.ExecutionCredentialsID)
	}
	c := spec.Containers[0]
	if len(c.Secrets) != 2 || c.Secrets[0] != (bus.Secret{Name: "DB", ValueFrom: "/db/password", Provider: "ssm", Region: "us-west-2"}) || c.Secrets[1].Provider != "asm" {
		t.Errorf("secrets %+v", c.Secrets)
	}
	if c.RegistryAuth == nil || c.RegistryAuth.CredentialsParameter != "arn:aws:secretsmanager:us-west-2:123456789012:secret:reg" {
		t.Errorf("registry auth %+v", c.RegistryAuth)
	}
	for name, mutate := range map[string]func(*acs.Task){
		"no execution role":  func(tk *acs.Task) { tk.ExecutionRoleCredentials = nil },
		"secret without ref": func(tk *acs.Task) { tk.Containers[0].Secrets[0].ValueFrom = "" },
		"unknown provider":   func(tk *acs.Task) { tk.Containers[0].Secrets[0].Provider = "vault" },
		"file secret":        func(tk *acs.Task) { tk.Containers[0].Secrets[0].Type = "MOUNT_POINT" },
		"ecr auth":           func(tk *acs.Task) { tk.Containers[0].RegistryAuthentication.Type = "ecr" },
		"asm auth, no param": func(tk *acs.Task) { tk.Containers[0].RegistryAuthentication.ASMAuthData = nil },
	} {
		tk := base()
		mutate(&tk)
		if _, err := Task(tk); !errors.Is(err, ErrInvalidTask) {
			t.Errorf("%s: %v, want ErrInvalidTask", name, err)
		}
	}
}

func TestRestartPolicy(t *testing.T) {
	period := 90
	cs, err := container(acs.Container{Name: "app", Image: "i", RestartPolicy: &acs.RestartPolicy{
		Enabled: true, IgnoredExitCodes: []int{0, 2}, RestartAttemptPeriod: &period}})
	if err != nil {
		t.Fatal(err)
	}
	if p := cs.RestartPolicy; p == nil || !p.Enabled || len(p.IgnoredExitCodes) != 2 || p.RestartAttemptPeriod != 90 {
		t.Fatalf("restart policy %+v", cs.RestartPolicy)
	}
	period = -1
	if _, err := container(acs.Container{Name: "app", Image: "i", RestartPolicy: &acs.RestartPolicy{Enabled: true, RestartAttemptPeriod: &period}}); !errors.Is(err, ErrInvalidTask) {
		t.Fatalf("a negative period: %v", err)
	}
}
