package controlplane_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-agent/ecs-agent/controlplane"
)

func TestClusterLifecycle(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	arn := e.createCluster(t, "web")
	if arn != "arn:aws:ecs:us-west-2:123456789012:cluster/web" {
		t.Fatalf("cluster ARN = %s", arn)
	}
	// Creating it again is idempotent.
	if again := e.createCluster(t, "web"); again != arn {
		t.Fatalf("second CreateCluster = %s", again)
	}
	e.registerInstance(t, "web", 2048, 2000)
	def := e.registerTaskDef(t, simpleDef("app", 10, 64, 0))
	e.runTask(t, arn, def) // by ARN

	desc, err := e.ecs.DescribeClusters(ctx(t), &ecs.DescribeClustersInput{Clusters: []string{"web", "nope"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Clusters) != 1 || len(desc.Failures) != 1 {
		t.Fatalf("DescribeClusters = %+v", desc)
	}
	c := desc.Clusters[0]
	if c.RegisteredContainerInstancesCount != 1 || c.PendingTasksCount != 1 || c.RunningTasksCount != 0 || aws.ToString(c.Status) != "ACTIVE" {
		t.Fatalf("counts = instances %d pending %d running %d", c.RegisteredContainerInstancesCount, c.PendingTasksCount, c.RunningTasksCount)
	}
	if aws.ToString(desc.Failures[0].Reason) != "MISSING" {
		t.Fatalf("failure = %+v", desc.Failures[0])
	}

	list, err := e.ecs.ListClusters(ctx(t), &ecs.ListClustersInput{})
	if err != nil || len(list.ClusterArns) != 1 || list.ClusterArns[0] != arn {
		t.Fatalf("ListClusters = %v %v", list, err)
	}

	_, err = e.ecs.DeleteCluster(ctx(t), &ecs.DeleteClusterInput{Cluster: aws.String("web")})
	if apiCode(err) != "ClusterContainsContainerInstancesException" {
		t.Fatalf("DeleteCluster with an instance: %v", err)
	}
	_, err = e.ecs.DeleteCluster(ctx(t), &ecs.DeleteClusterInput{Cluster: aws.String("nope")})
	if apiCode(err) != "ClusterNotFoundException" {
		t.Fatalf("DeleteCluster unknown: %v", err)
	}
	e.createCluster(t, "empty")
	del, err := e.ecs.DeleteCluster(ctx(t), &ecs.DeleteClusterInput{Cluster: aws.String("empty")})
	if err != nil || aws.ToString(del.Cluster.Status) != "INACTIVE" {
		t.Fatalf("DeleteCluster: %v %+v", err, del)
	}
	_, err = e.ecs.CreateCluster(ctx(t), &ecs.CreateClusterInput{ClusterName: aws.String("bad name!")})
	if apiCode(err) != "InvalidParameterException" {
		t.Fatalf("CreateCluster bad name: %v", err)
	}
}

func TestUnknownClusterErrors(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"RunTask", func() error {
			_, err := e.ecs.RunTask(ctx(t), &ecs.RunTaskInput{Cluster: aws.String("x"), TaskDefinition: aws.String("f")})
			return err
		}, "ClusterNotFoundException"},
		{"StopTask", func() error {
			_, err := e.ecs.StopTask(ctx(t), &ecs.StopTaskInput{Cluster: aws.String("x"), Task: aws.String("t")})
			return err
		}, "ClusterNotFoundException"},
		{"DescribeTasks", func() error {
			_, err := e.ecs.DescribeTasks(ctx(t), &ecs.DescribeTasksInput{Cluster: aws.String("x"), Tasks: []string{"t"}})
			return err
		}, "ClusterNotFoundException"},
		{"ListTasks", func() error {
			_, err := e.ecs.ListTasks(ctx(t), &ecs.ListTasksInput{Cluster: aws.String("x")})
			return err
		}, "ClusterNotFoundException"},
		{"ListContainerInstances", func() error {
			_, err := e.ecs.ListContainerInstances(ctx(t), &ecs.ListContainerInstancesInput{Cluster: aws.String("x")})
			return err
		}, "ClusterNotFoundException"},
		{"DescribeContainerInstances", func() error {
			_, err := e.ecs.DescribeContainerInstances(ctx(t), &ecs.DescribeContainerInstancesInput{Cluster: aws.String("x"), ContainerInstances: []string{"i"}})
			return err
		}, "ClusterNotFoundException"},
		{"RegisterContainerInstance", func() error {
			_, err := e.ecs.RegisterContainerInstance(ctx(t), &ecs.RegisterContainerInstanceInput{Cluster: aws.String("x")})
			return err
		}, "ClientException"},
		{"SubmitTaskStateChange", func() error {
			_, err := e.ecs.SubmitTaskStateChange(ctx(t), &ecs.SubmitTaskStateChangeInput{Cluster: aws.String("x"), Task: aws.String("t"), Status: aws.String("RUNNING")})
			return err
		}, "ClientException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if apiCode(err) != tc.code {
				t.Fatalf("error = %v, want %s", err, tc.code)
			}
			if !strings.Contains(apiMessage(err), "Cluster not found.") {
				t.Fatalf("message = %q", apiMessage(err))
			}
		})
	}
}
