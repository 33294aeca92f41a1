package controlplane_test

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-agent/ecs-agent/controlplane"
)

func tag(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }

// tagMap flattens tags for comparison; a repeated key is a failure.
func tagMap(t *testing.T, tags []types.Tag) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tg := range tags {
		k := aws.ToString(tg.Key)
		if _, dup := out[k]; dup {
			t.Fatalf("tag %q listed twice in %v", k, tags)
		}
		out[k] = aws.ToString(tg.Value)
	}
	return out
}

func (e *env) listTags(t *testing.T, arn string) map[string]string {
	t.Helper()
	out, err := e.ecs.ListTagsForResource(ctx(t), &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("ListTagsForResource %s: %v", arn, err)
	}
	if out.Tags == nil {
		t.Fatalf("ListTagsForResource %s: no tags list", arn)
	}
	return tagMap(t, out.Tags)
}

func sameTags(got map[string]string, want ...string) bool {
	if len(got) != len(want)/2 {
		return false
	}
	for i := 0; i < len(want); i += 2 {
		if v, ok := got[want[i]]; !ok || v != want[i+1] {
			return false
		}
	}
	return true
}

func TestCreateClusterKeepsTags(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	out, err := e.ecs.CreateCluster(ctx(t), &ecs.CreateClusterInput{
		ClusterName: aws.String("tagged"),
		Tags:        []types.Tag{tag("team", "ecs-agent"), tag("env", "")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := tagMap(t, out.Cluster.Tags); !sameTags(got, "team", "ecs-agent", "env", "") {
		t.Fatalf("CreateCluster answered tags %v", got)
	}
	arn := aws.ToString(out.Cluster.ClusterArn)

	tests := []struct {
		name    string
		include []types.ClusterField
		want    []string
	}{
		{"without include", nil, nil},
		{"include TAGS", []types.ClusterField{types.ClusterFieldTags}, []string{"team", "ecs-agent", "env", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := e.ecs.DescribeClusters(ctx(t), &ecs.DescribeClustersInput{Clusters: []string{"tagged"}, Include: tc.include})
			if err != nil || len(d.Clusters) != 1 {
				t.Fatalf("DescribeClusters: %v %+v", err, d)
			}
			if got := tagMap(t, d.Clusters[0].Tags); !sameTags(got, tc.want...) {
				t.Fatalf("tags = %v, want %v", got, tc.want)
			}
		})
	}
	if got := e.listTags(t, arn); !sameTags(got, "team", "ecs-agent", "env", "") {
		t.Fatalf("ListTagsForResource = %v", got)
	}

	// Deleting the cluster deletes its tags; creating it again starts from the new ones.
	if _, err := e.ecs.DeleteCluster(ctx(t), &ecs.DeleteClusterInput{Cluster: aws.String("tagged")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.ecs.ListTagsForResource(ctx(t), &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if apiCode(err) != "ClusterNotFoundException" {
		t.Fatalf("tags of a deleted cluster: %v", err)
	}
	again, err := e.ecs.CreateCluster(ctx(t), &ecs.CreateClusterInput{ClusterName: aws.String("tagged"), Tags: []types.Tag{tag("v", "2")}})
	if err != nil || !sameTags(tagMap(t, again.Cluster.Tags), "v", "2") {
		t.Fatalf("re-created cluster: %v %+v", err, again)
	}
}

func TestInvalidTagsRefused(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	many := make([]types.Tag, 51)
	for i := range many {
		many[i] = tag(string(rune('a'+i%26))+string(rune('a'+i/26)), "v")
	}
	long := make([]byte, 129)
	for i := range long {
		long[i] = 'k'
	}
	tests := []struct {
		name string
		tags []types.Tag
	}{
		{"reserved key prefix", []types.Tag{tag("aws:owner", "x")}},
		{"reserved prefix any case", []types.Tag{tag("AWS:owner", "x")}},
		{"empty key", []types.Tag{tag("", "x")}},
		{"key too long", []types.Tag{tag(string(long), "x")}},
		{"duplicate key", []types.Tag{tag("k", "1"), tag("k", "2")}},
		{"more than 50", many},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.ecs.CreateCluster(ctx(t), &ecs.CreateClusterInput{ClusterName: aws.String("c"), Tags: tc.tags})
			if apiCode(err) != "InvalidParameterException" {
				t.Fatalf("CreateCluster: %v", err)
			}
			in := simpleDef("f", 0, 10, 0)
			in.Tags = tc.tags
			if _, err := e.ecs.RegisterTaskDefinition(ctx(t), in); apiCode(err) != "InvalidParameterException" {
				t.Fatalf("RegisterTaskDefinition: %v", err)
			}
		})
	}
}

// Every kind of resource the control plane holds keeps the tags it was created with, and
// TagResource / UntagResource change them.
func TestTagResourceLifecycle(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	clusterArn := e.createCluster(t, "default")
	reg, err := e.ecs.RegisterContainerInstance(ctx(t), &ecs.RegisterContainerInstanceInput{
		Cluster:        aws.String("default"),
		TotalResources: standardResources(2048, 2000),
		Tags:           []types.Tag{tag("rack", "r1")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !sameTags(tagMap(t, reg.ContainerInstance.Tags), "rack", "r1") {
		t.Fatalf("RegisterContainerInstance answered tags %v", reg.ContainerInstance.Tags)
	}
	instArn := aws.ToString(reg.ContainerInstance.ContainerInstanceArn)
	in := simpleDef("web", 10, 64, 0)
	in.Tags = []types.Tag{tag("app", "web"), tag("tier", "front")}
	defArn := e.registerTaskDef(t, in)

	run, err := e.ecs.RunTask(ctx(t), &ecs.RunTaskInput{
		TaskDefinition: aws.String(defArn),
		Tags:           []types.Tag{tag("tier", "batch"), tag("run", "1")},
		PropagateTags:  types.PropagateTagsTaskDefinition,
	})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v %+v", err, run)
	}
	// The request's tags win over the task definition's on the same key.
	if got := tagMap(t, run.Tasks[0].Tags); !sameTags(got, "app", "web", "tier", "batch", "run", "1") {
		t.Fatalf("RunTask answered tags %v", got)
	}
	taskArn := aws.ToString(run.Tasks[0].TaskArn)
	start, err := e.ecs.StartTask(ctx(t), &ecs.StartTaskInput{
		TaskDefinition:     aws.String(defArn),
		ContainerInstances: []string{instArn},
		Tags:               []types.Tag{tag("started", "yes")},
	})
	if err != nil || len(start.Tasks) != 1 {
		t.Fatalf("StartTask: %v %+v", err, start)
	}
	startedArn := aws.ToString(start.Tasks[0].TaskArn)

	tests := []struct {
		name string
		arn  string
		want []string
	}{
		{"cluster", clusterArn, nil},
		{"container instance", instArn, []string{"rack", "r1"}},
		{"task definition", defArn, []string{"app", "web", "tier", "front"}},
		{"task with propagated tags", taskArn, []string{"app", "web", "tier", "batch", "run", "1"}},
		{"started task", startedArn, []string{"started", "yes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := e.listTags(t, tc.arn); !sameTags(got, tc.want...) {
				t.Fatalf("created with %v, want %v", got, tc.want)
			}
			_, err := e.ecs.TagResource(ctx(t), &ecs.TagResourceInput{ResourceArn: aws.String(tc.arn), Tags: []types.Tag{tag("owner", "me"), tag("gone", "soon")}})
			if err != nil {
				t.Fatalf("TagResource: %v", err)
			}
			_, err = e.ecs.TagResource(ctx(t), &ecs.TagResourceInput{ResourceArn: aws.String(tc.arn), Tags: []types.Tag{tag("owner", "you")}})
			if err != nil {
				t.Fatalf("TagResource again: %v", err)
			}
			_, err = e.ecs.UntagResource(ctx(t), &ecs.UntagResourceInput{ResourceArn: aws.String(tc.arn), TagKeys: []string{"gone", "never-there"}})
			if err != nil {
				t.Fatalf("UntagResource: %v", err)
			}
			want := append(slices.Clone(tc.want), "owner", "you")
			if got := e.listTags(t, tc.arn); !sameTags(got, want...) {
				t.Fatalf("after tagging: %v, want %v", got, want)
			}
		})
	}

	// The describe calls show the tags with include TAGS only.
	dt, err := e.ecs.DescribeTasks(ctx(t), &ecs.DescribeTasksInput{Tasks: []string{startedArn}, Include: []types.TaskField{types.TaskFieldTags}})
	if err != nil || len(dt.Tasks) != 1 || !sameTags(tagMap(t, dt.Tasks[0].Tags), "started", "yes", "owner", "you") {
		t.Fatalf("DescribeTasks include TAGS: %v %+v", err, dt)
	}
	if plain := e.describeTask(t, "default", startedArn); len(plain.Tags) != 0 {
		t.Fatalf("DescribeTasks without include shows tags %v", plain.Tags)
	}
	di, err := e.ecs.DescribeContainerInstances(ctx(t), &ecs.DescribeContainerInstancesInput{ContainerInstances: []string{instArn}, Include: []types.ContainerInstanceField{types.ContainerInstanceFieldTags}})
	if err != nil || len(di.ContainerInstances) != 1 || !sameTags(tagMap(t, di.ContainerInstances[0].Tags), "rack", "r1", "owner", "you") {
		t.Fatalf("DescribeContainerInstances include TAGS: %v %+v", err, di)
	}
	di, err = e.ecs.DescribeContainerInstances(ctx(t), &ecs.DescribeContainerInstancesInput{ContainerInstances: []string{instArn}})
	if err != nil || len(di.ContainerInstances[0].Tags) != 0 {
		t.Fatalf("DescribeContainerInstances without include: %v %+v", err, di)
	}
	dd, err := e.ecs.DescribeTaskDefinition(ctx(t), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(defArn), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil || !sameTags(tagMap(t, dd.Tags), "app", "web", "tier", "front", "owner", "you") {
		t.Fatalf("DescribeTaskDefinition include TAGS: %v %+v", err, dd)
	}

	// The limit of 50 counts the tags the resource already holds (2 here).
	many := make([]types.Tag, 49)
	for i := range many {
		many[i] = tag("k"+string(rune('a'+i%26))+string(rune('a'+i/26)), "v")
	}
	_, err = e.ecs.TagResource(ctx(t), &ecs.TagResourceInput{ResourceArn: aws.String(instArn), Tags: many})
	if apiCode(err) != "InvalidParameterException" {
		t.Fatalf("TagResource over 50 tags: %v", err)
	}
}

func TestTaggingUnknownResources(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	e.createCluster(t, "default")
	const prefix = "arn:aws:ecs:us-west-2:123456789012:"
	tests := []struct {
		name     string
		arn      string
		listCode string // ListTagsForResource models no ResourceNotFoundException
		tagCode  string // TagResource and UntagResource
	}{
		{"not an ARN", "default", "InvalidParameterException", "InvalidParameterException"},
		{"another service", "arn:aws:s3:::bucket", "InvalidParameterException", "InvalidParameterException"},
		{"unknown resource type", prefix + "widget/x", "InvalidParameterException", "InvalidParameterException"},
		{"unknown cluster", prefix + "cluster/nope", "ClusterNotFoundException", "ClusterNotFoundException"},
		{"cluster of another region", "arn:aws:ecs:eu-west-1:123456789012:cluster/default", "ClusterNotFoundException", "ClusterNotFoundException"},
		{"task in an unknown cluster", prefix + "task/nope/0123456789abcdef0123456789abcdef", "ClusterNotFoundException", "ClusterNotFoundException"},
		{"unknown task", prefix + "task/default/0123456789abcdef0123456789abcdef", "InvalidParameterException", "ResourceNotFoundException"},
		{"unknown container instance", prefix + "container-instance/default/0123456789abcdef0123456789abcdef", "InvalidParameterException", "ResourceNotFoundException"},
		{"unknown task definition", prefix + "task-definition/nope:1", "InvalidParameterException", "ResourceNotFoundException"},
		{"task definition without revision", prefix + "task-definition/nope", "InvalidParameterException", "InvalidParameterException"},
		{"service", prefix + "service/default/web", "InvalidParameterException", "ResourceNotFoundException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.ecs.ListTagsForResource(ctx(t), &ecs.ListTagsForResourceInput{ResourceArn: aws.String(tc.arn)})
			if apiCode(err) != tc.listCode {
				t.Errorf("ListTagsForResource: %v, want %s", err, tc.listCode)
			}
			_, err = e.ecs.TagResource(ctx(t), &ecs.TagResourceInput{ResourceArn: aws.String(tc.arn), Tags: []types.Tag{tag("k", "v")}})
			if apiCode(err) != tc.tagCode {
				t.Errorf("TagResource: %v, want %s", err, tc.tagCode)
			}
			_, err = e.ecs.UntagResource(ctx(t), &ecs.UntagResourceInput{ResourceArn: aws.String(tc.arn), TagKeys: []string{"k"}})
			if apiCode(err) != tc.tagCode {
				t.Errorf("UntagResource: %v, want %s", err, tc.tagCode)
			}
		})
	}
}
