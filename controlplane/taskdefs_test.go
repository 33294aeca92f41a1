package controlplane_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-agent/ecs-agent/controlplane"
)

func TestTaskDefinitionRevisions(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	in := simpleDef("web", 10, 64, 0)
	in.ContainerDefinitions[0].DockerLabels = map[string]string{"team": "a"}
	in.Tags = []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}
	first := e.registerTaskDef(t, in)
	second := e.registerTaskDef(t, in)
	if first != "arn:aws:ecs:us-west-2:123456789012:task-definition/web:1" || second != "arn:aws:ecs:us-west-2:123456789012:task-definition/web:2" {
		t.Fatalf("ARNs %s %s", first, second)
	}
	e.registerTaskDef(t, simpleDef("worker", 10, 64, 0))

	desc, err := e.ecs.DescribeTaskDefinition(ctx(t), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web"), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	td := desc.TaskDefinition
	if td.Revision != 2 || td.Status != "ACTIVE" || td.RegisteredAt == nil || len(td.ContainerDefinitions) != 1 ||
		td.ContainerDefinitions[0].DockerLabels["team"] != "a" || aws.ToInt32(td.ContainerDefinitions[0].Memory) != 64 || len(desc.Tags) != 1 {
		t.Fatalf("described = %+v tags %v", td, desc.Tags)
	}
	if d, err := e.ecs.DescribeTaskDefinition(ctx(t), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:1")}); err != nil || d.TaskDefinition.Revision != 1 {
		t.Fatalf("web:1: %v", err)
	}
	if d, err := e.ecs.DescribeTaskDefinition(ctx(t), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(first)}); err != nil || d.TaskDefinition.Revision != 1 {
		t.Fatalf("by ARN: %v", err)
	}
	_, err = e.ecs.DescribeTaskDefinition(ctx(t), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("nope")})
	if apiCode(err) != "ClientException" {
		t.Fatalf("unknown: %v", err)
	}

	list, err := e.ecs.ListTaskDefinitions(ctx(t), &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web"), Sort: types.SortOrderDesc})
	if err != nil || len(list.TaskDefinitionArns) != 2 || list.TaskDefinitionArns[0] != second {
		t.Fatalf("list = %v %v", list.TaskDefinitionArns, err)
	}
	dereg, err := e.ecs.DeregisterTaskDefinition(ctx(t), &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web:2")})
	if err != nil || dereg.TaskDefinition.Status != "INACTIVE" {
		t.Fatalf("deregister: %v", err)
	}
	// The family name now resolves to the latest ACTIVE revision.
	if d, err := e.ecs.DescribeTaskDefinition(ctx(t), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web")}); err != nil || d.TaskDefinition.Revision != 1 {
		t.Fatalf("after deregistering web:2: %v", err)
	}
	e.createCluster(t, "default")
	e.registerInstance(t, "default", 1024, 1024)
	_, err = e.ecs.RunTask(ctx(t), &ecs.RunTaskInput{TaskDefinition: aws.String("web:2")})
	if apiCode(err) != "InvalidParameterException" {
		t.Fatalf("run an inactive revision: %v", err)
	}
	_, err = e.ecs.DeregisterTaskDefinition(ctx(t), &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("web")})
	if apiCode(err) != "ClientException" {
		t.Fatalf("deregister without revision: %v", err)
	}

	fams, err := e.ecs.ListTaskDefinitionFamilies(ctx(t), &ecs.ListTaskDefinitionFamiliesInput{})
	if err != nil || len(fams.Families) != 2 {
		t.Fatalf("families = %v %v", fams.Families, err)
	}
	e.ecs.DeregisterTaskDefinition(ctx(t), &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("worker:1")})
	fams, err = e.ecs.ListTaskDefinitionFamilies(ctx(t), &ecs.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusInactive})
	if err != nil || len(fams.Families) != 1 || fams.Families[0] != "worker" {
		t.Fatalf("inactive families = %v %v", fams.Families, err)
	}
}

func TestRegisterTaskDefinitionInvalid(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	tests := []struct {
		name string
		in   *ecs.RegisterTaskDefinitionInput
	}{
		{"no containers", &ecs.RegisterTaskDefinitionInput{Family: aws.String("f"), ContainerDefinitions: []types.ContainerDefinition{}}},
		{"no image", &ecs.RegisterTaskDefinitionInput{Family: aws.String("f"), ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("a"), Memory: aws.Int32(10)}}}},
		{"no memory", &ecs.RegisterTaskDefinitionInput{Family: aws.String("f"), ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("a"), Image: aws.String("i")}}}},
		{"bad family", &ecs.RegisterTaskDefinitionInput{Family: aws.String("a b"), ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("a"), Image: aws.String("i"), Memory: aws.Int32(10)}}}},
		{"unknown volume", &ecs.RegisterTaskDefinitionInput{Family: aws.String("f"), ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("a"), Image: aws.String("i"), Memory: aws.Int32(10),
			MountPoints: []types.MountPoint{{SourceVolume: aws.String("v"), ContainerPath: aws.String("/v")}}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.ecs.RegisterTaskDefinition(ctx(t), tc.in)
			if apiCode(err) != "ClientException" {
				t.Fatalf("error = %v", err)
			}
		})
	}
}

// Members the translation reads are checked at registration, so a definition the agent
// could not load never reaches it (an empty device permission used to pass and then
// panic in the translation, which ended every ACS session of the instance).
func TestRegisterTaskDefinitionRefusesUntranslatable(t *testing.T) {
	e := newEnv(t, controlplane.Config{AllowUnsigned: true})
	tests := []struct {
		name, container, want string
	}{
		{"empty device permission", `"linuxParameters":{"devices":[{"hostPath":"/dev/fuse","permissions":[""]}]}`, `linuxParameters.devices[0].permissions[0] \"\"`},
		{"ulimit name", `"ulimits":[{"name":"files","softLimit":1,"hardLimit":1}]`, `ulimits[0].name \"files\"`},
		{"log driver", `"logConfiguration":{"logDriver":"syslog-ng"}`, `logConfiguration.logDriver \"syslog-ng\"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":10,` + tc.container + `}]}`
			status, out := rawCall(t, e, "RegisterTaskDefinition", []byte(body))
			if status != http.StatusBadRequest || !strings.Contains(out, `"__type":"ClientException"`) || !strings.Contains(out, tc.want) {
				t.Fatalf("%d %s, want a ClientException naming %s", status, out, tc.want)
			}
		})
	}
}

// The peer task definitions are accepted as they are, through the raw JSON API.
func TestRegisterPeerTaskDefinitions(t *testing.T) {
	e := newEnv(t, controlplane.Config{AllowUnsigned: true})
	files, _ := filepath.Glob("testdata/peer-taskdefs/*.taskdef.json")
	if len(files) != 8 {
		t.Fatalf("found %d peer task definitions", len(files))
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		status, body := rawCall(t, e, "RegisterTaskDefinition", raw)
		if status != 200 {
			t.Errorf("%s: %d %s", f, status, body)
		}
	}
}

// DescribeTaskDefinition fills what ECS fills for members a definition leaves out, keeps what
// it gives, and keeps members the control plane does not interpret.
func TestDescribeTaskDefinitionDefaults(t *testing.T) {
	e := newEnv(t, controlplane.Config{AllowUnsigned: true})
	tests := []struct {
		name      string
		def       string
		container string // the container check looks at
		check     func(t *testing.T, c map[string]any)
	}{
		{"minimal bridge", `{"family":"min","containerDefinitions":[{"name":"a","image":"i","memory":50,
			"portMappings":[{"containerPort":80},{"containerPort":53,"protocol":"udp","hostPort":5353}]}]}`, "a",
			func(t *testing.T, c map[string]any) {
				wantMember(t, c, "essential", true)
				wantMember(t, c, "cpu", 0.0)
				for _, l := range []string{"environment", "mountPoints", "volumesFrom", "systemControls"} {
					wantMember(t, c, l, []any{})
				}
				pms := c["portMappings"].([]any)
				wantMember(t, pms[0].(map[string]any), "protocol", "tcp")
				wantMember(t, pms[0].(map[string]any), "hostPort", 0.0) // ephemeral in bridge mode
				wantMember(t, pms[1].(map[string]any), "protocol", "udp")
				wantMember(t, pms[1].(map[string]any), "hostPort", 5353.0)
			}},
		{"host mode", `{"family":"host","networkMode":"host","containerDefinitions":[{"name":"a","image":"i","memory":50,
			"portMappings":[{"containerPort":8080}]}]}`, "a",
			func(t *testing.T, c map[string]any) {
				pm := c["portMappings"].([]any)[0].(map[string]any)
				wantMember(t, pm, "hostPort", 8080.0)
				wantMember(t, pm, "protocol", "tcp")
			}},
		{"awsvpc port range", `{"family":"range","networkMode":"awsvpc","containerDefinitions":[{"name":"a","image":"i","memory":50,
			"portMappings":[{"containerPortRange":"9000-9010"}]}]}`, "a",
			func(t *testing.T, c map[string]any) {
				pm := c["portMappings"].([]any)[0].(map[string]any)
				if _, ok := pm["hostPort"]; ok {
					t.Errorf("hostPort set for a port range: %v", pm)
				}
				wantMember(t, pm, "protocol", "tcp")
			}},
		{"given values kept", `{"family":"given","containerDefinitions":[{"name":"a","image":"i","memory":50,"cpu":128,
			"essential":false,"environment":[{"name":"A","value":"1"}],"restartPolicy":{"enabled":true}},
			{"name":"b","image":"i","memory":50}]}`, "a",
			func(t *testing.T, c map[string]any) {
				wantMember(t, c, "essential", false)
				wantMember(t, c, "cpu", 128.0)
				wantMember(t, c, "environment", []any{map[string]any{"name": "A", "value": "1"}})
				wantMember(t, c, "restartPolicy", map[string]any{"enabled": true}) // not interpreted, kept
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := rawCall(t, e, "RegisterTaskDefinition", []byte(tc.def)); status != 200 {
				t.Fatalf("register: %d %s", status, body)
			}
			var probe struct {
				Family string `json:"family"`
			}
			_ = json.Unmarshal([]byte(tc.def), &probe)
			status, body := rawCall(t, e, "DescribeTaskDefinition", []byte(`{"taskDefinition":"`+probe.Family+`"}`))
			if status != 200 {
				t.Fatalf("describe: %d %s", status, body)
			}
			var out struct {
				TaskDefinition struct {
					ContainerDefinitions []map[string]any `json:"containerDefinitions"`
				} `json:"taskDefinition"`
			}
			if err := json.Unmarshal([]byte(body), &out); err != nil {
				t.Fatal(err)
			}
			for _, c := range out.TaskDefinition.ContainerDefinitions {
				if c["name"] == tc.container {
					tc.check(t, c)
					return
				}
			}
			t.Fatalf("no container %s in %s", tc.container, body)
		})
	}

	// The SDK reads the same answer: the container is essential, the port is tcp.
	e.registerTaskDef(t, simpleDef("sdk", 0, 10, 8080))
	d, err := e.ecs.DescribeTaskDefinition(ctx(t), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("sdk")})
	if err != nil {
		t.Fatal(err)
	}
	c := d.TaskDefinition.ContainerDefinitions[0]
	if !aws.ToBool(c.Essential) || c.PortMappings[0].Protocol != types.TransportProtocolTcp || c.Environment == nil || c.MountPoints == nil {
		t.Fatalf("container = %+v", c)
	}
}

func wantMember(t *testing.T, m map[string]any, key string, want any) {
	t.Helper()
	got, ok := m[key]
	if !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v (present %v), want %#v", key, got, ok, want)
	}
}

func TestListTaskDefinitionFamiliesStatus(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	e.registerTaskDef(t, simpleDef("active", 0, 10, 0))
	e.registerTaskDef(t, simpleDef("mixed", 0, 10, 0))
	e.registerTaskDef(t, simpleDef("mixed", 0, 10, 0))
	e.registerTaskDef(t, simpleDef("gone", 0, 10, 0))
	for _, ref := range []string{"mixed:1", "gone:1"} {
		if _, err := e.ecs.DeregisterTaskDefinition(ctx(t), &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(ref)}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		status types.TaskDefinitionFamilyStatus
		prefix string
		want   []string
	}{
		{"default lists ACTIVE and INACTIVE", "", "", []string{"active", "gone", "mixed"}},
		{"ALL", types.TaskDefinitionFamilyStatusAll, "", []string{"active", "gone", "mixed"}},
		{"ACTIVE: some revision active", types.TaskDefinitionFamilyStatusActive, "", []string{"active", "mixed"}},
		{"INACTIVE: no revision active", types.TaskDefinitionFamilyStatusInactive, "", []string{"gone"}},
		{"default with a prefix", "", "g", []string{"gone"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := &ecs.ListTaskDefinitionFamiliesInput{Status: tc.status}
			if tc.prefix != "" {
				in.FamilyPrefix = aws.String(tc.prefix)
			}
			out, err := e.ecs.ListTaskDefinitionFamilies(ctx(t), in)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(out.Families, tc.want) {
				t.Fatalf("families = %v, want %v", out.Families, tc.want)
			}
		})
	}
}
