package controlplane_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/ecs-agent/ecs-agent/controlplane"
)

// env is a control plane served over httptest and an SDK client for it.
type env struct {
	srv *controlplane.Server
	ts  *httptest.Server
	ecs *ecs.Client
}

func newEnv(t *testing.T, cfg controlplane.Config) *env {
	t.Helper()
	if cfg.HeartbeatInterval == 0 {
		cfg.HeartbeatInterval = time.Hour
	}
	if cfg.PayloadRetryInterval == 0 {
		cfg.PayloadRetryInterval = 200 * time.Millisecond
	}
	srv, err := controlplane.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv) // httptest binds 127.0.0.1
	t.Cleanup(func() {
		_ = srv.Close()
		ts.Close()
	})
	return &env{srv: srv, ts: ts, ecs: newClient(ts.URL, controlplane.DevAccessKey, controlplane.DevSecretKey)}
}

func newClient(url, key, secret string) *ecs.Client {
	return ecs.New(ecs.Options{
		Region:       "us-west-2",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
		Retryer:      aws.NopRetryer{},
	})
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// apiCode returns the AWS error code of err, or "" if it is not an API error.
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func apiMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

// standardResources is what an agent on a 2-CPU, 2000 MiB host registers.
func standardResources(cpu, mem int32, ports ...string) []types.Resource {
	if ports == nil {
		ports = []string{"22", "2375", "2376", "51678", "51679"}
	}
	return []types.Resource{
		{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: cpu},
		{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: mem},
		{Name: aws.String("PORTS"), Type: aws.String("STRINGSET"), StringSetValue: ports},
		{Name: aws.String("PORTS_UDP"), Type: aws.String("STRINGSET"), StringSetValue: []string{}},
	}
}

func (e *env) createCluster(t *testing.T, name string) string {
	t.Helper()
	out, err := e.ecs.CreateCluster(ctx(t), &ecs.CreateClusterInput{ClusterName: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	return aws.ToString(out.Cluster.ClusterArn)
}

func (e *env) registerInstance(t *testing.T, cluster string, cpu, mem int32) string {
	t.Helper()
	out, err := e.ecs.RegisterContainerInstance(ctx(t), &ecs.RegisterContainerInstanceInput{
		Cluster:        aws.String(cluster),
		TotalResources: standardResources(cpu, mem),
		Attributes:     []types.Attribute{{Name: aws.String("ecs.os-type"), Value: aws.String("linux")}},
	})
	if err != nil {
		t.Fatalf("RegisterContainerInstance: %v", err)
	}
	return aws.ToString(out.ContainerInstance.ContainerInstanceArn)
}

func (e *env) registerTaskDef(t *testing.T, in *ecs.RegisterTaskDefinitionInput) string {
	t.Helper()
	out, err := e.ecs.RegisterTaskDefinition(ctx(t), in)
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

// simpleDef is one essential container with the given memory and optional static port.
func simpleDef(family string, cpu, memory, hostPort int32) *ecs.RegisterTaskDefinitionInput {
	c := types.ContainerDefinition{
		Name:    aws.String("main"),
		Image:   aws.String("busybox:latest"),
		Cpu:     cpu,
		Memory:  aws.Int32(memory),
		Command: []string{"sh", "-c", "exit 42"},
	}
	if hostPort > 0 {
		c.PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(hostPort)}}
	}
	return &ecs.RegisterTaskDefinitionInput{Family: aws.String(family), ContainerDefinitions: []types.ContainerDefinition{c}}
}

func (e *env) runTask(t *testing.T, cluster, def string) types.Task {
	t.Helper()
	out, err := e.ecs.RunTask(ctx(t), &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String(def)})
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	if len(out.Tasks) != 1 {
		t.Fatalf("RunTask placed %d tasks, failures %+v", len(out.Tasks), out.Failures)
	}
	return out.Tasks[0]
}

func (e *env) describeTask(t *testing.T, cluster, arn string) types.Task {
	t.Helper()
	out, err := e.ecs.DescribeTasks(ctx(t), &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{arn}})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("DescribeTasks %s: %v %+v", arn, err, out)
	}
	return out.Tasks[0]
}
