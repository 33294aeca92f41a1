package controlplane_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-agent/ecs-agent/controlplane"
)

func TestSnapshotSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	first := newEnv(t, controlplane.Config{SnapshotPath: path})
	first.createCluster(t, "c")
	inst := first.registerInstance(t, "c", 2048, 1000)
	def := first.registerTaskDef(t, simpleDef("web", 10, 100, 0))
	task := first.runTask(t, "c", def)
	if _, err := first.ecs.TagResource(ctx(t), &ecs.TagResourceInput{ResourceArn: task.TaskArn, Tags: []types.Tag{tag("kept", "yes")}}); err != nil {
		t.Fatal(err)
	}
	// Deliver and acknowledge the task so the restarted server does not send it again.
	a := dialACS(t, first, "c", inst)
	a.ack(a.payload(5 * time.Second))
	a.quiet(300 * time.Millisecond)
	if err := first.srv.Close(); err != nil {
		t.Fatal(err)
	}

	second := newEnv(t, controlplane.Config{SnapshotPath: path})
	got := second.describeTask(t, "c", aws.ToString(task.TaskArn))
	if aws.ToString(got.ContainerInstanceArn) != inst || aws.ToString(got.TaskDefinitionArn) != def {
		t.Fatalf("task after restart = %+v", got)
	}
	if tags := second.listTags(t, aws.ToString(task.TaskArn)); !sameTags(tags, "kept", "yes") {
		t.Fatalf("task tags after restart = %v", tags)
	}
	if d, err := second.ecs.DescribeTaskDefinition(ctx(t), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web")}); err != nil || d.TaskDefinition.Revision != 1 {
		t.Fatalf("task definition after restart: %v", err)
	}
	out, err := second.ecs.DescribeContainerInstances(ctx(t), &ecs.DescribeContainerInstancesInput{Cluster: aws.String("c"), ContainerInstances: []string{inst}})
	if err != nil || len(out.ContainerInstances) != 1 || out.ContainerInstances[0].AgentConnected || out.ContainerInstances[0].PendingTasksCount != 1 {
		t.Fatalf("instance after restart: %v %+v", err, out)
	}
	// Revisions continue, and the instance's agent is not sent the acked task again.
	if next := second.registerTaskDef(t, simpleDef("web", 10, 100, 0)); next != "arn:aws:ecs:us-west-2:123456789012:task-definition/web:2" {
		t.Fatalf("next revision = %s", next)
	}
	b := dialACS(t, second, "c", inst)
	b.quiet(400 * time.Millisecond)
}
