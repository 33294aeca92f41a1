package controlplane_test

import (
	"os"
	"path/filepath"
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
