package controlplane_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-agent/ecs-agent/controlplane"
)

func TestRegisterContainerInstanceEchoesAttributes(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	e.createCluster(t, "default")
	sent := []types.Attribute{
		{Name: aws.String("ecs.capability.container-ordering")},
		{Name: aws.String("com.amazonaws.ecs.capability.docker-remote-api.1.17")},
		{Name: aws.String("ecs.os-type"), Value: aws.String("linux")},
		{Name: aws.String("ecs.os-family"), Value: aws.String("LINUX")},
	}
	in := &ecs.RegisterContainerInstanceInput{
		Cluster:                           aws.String("default"),
		InstanceIdentityDocument:          aws.String(""),
		InstanceIdentityDocumentSignature: aws.String(""),
		TotalResources:                    standardResources(4096, 15741),
		Attributes:                        sent,
	}
	out, err := e.ecs.RegisterContainerInstance(ctx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	ci := out.ContainerInstance
	arn := aws.ToString(ci.ContainerInstanceArn)
	if !strings.HasPrefix(arn, "arn:aws:ecs:us-west-2:123456789012:container-instance/default/") || len(arn) != len("arn:aws:ecs:us-west-2:123456789012:container-instance/default/")+32 {
		t.Fatalf("ARN = %s", arn)
	}
	got := map[string]string{}
	for _, a := range ci.Attributes {
		got[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	for _, a := range sent {
		v, ok := got[aws.ToString(a.Name)]
		if !ok || v != aws.ToString(a.Value) {
			t.Errorf("attribute %s = %q, %v", aws.ToString(a.Name), v, ok)
		}
	}
	if got["ecs.availability-zone"] != "us-west-2a" {
		t.Errorf("availability zone = %q", got["ecs.availability-zone"])
	}
	if aws.ToString(ci.Status) != "ACTIVE" || ci.AgentConnected {
		t.Errorf("status %s connected %v", aws.ToString(ci.Status), ci.AgentConnected)
	}

	// Re-registration with the known ARN keeps it.
	in.ContainerInstanceArn = aws.String(arn)
	again, err := e.ecs.RegisterContainerInstance(ctx(t), in)
	if err != nil || aws.ToString(again.ContainerInstance.ContainerInstanceArn) != arn {
		t.Fatalf("re-registration: %v %s", err, aws.ToString(again.ContainerInstance.ContainerInstanceArn))
	}
	list, err := e.ecs.ListContainerInstances(ctx(t), &ecs.ListContainerInstancesInput{})
	if err != nil || len(list.ContainerInstanceArns) != 1 {
		t.Fatalf("ListContainerInstances = %v %v", list, err)
	}

	// Unknown cluster: the agent recognises the message text.
	in.Cluster = aws.String("missing")
	_, err = e.ecs.RegisterContainerInstance(ctx(t), in)
	if apiCode(err) != "ClientException" || !strings.Contains(apiMessage(err), "Cluster not found.") {
		t.Fatalf("unknown cluster: %v", err)
	}
}

func TestDescribeContainerInstancesResources(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 1000)
	def := e.registerTaskDef(t, simpleDef("web", 256, 300, 8080))
	task := e.runTask(t, "c", def)

	out, err := e.ecs.DescribeContainerInstances(ctx(t), &ecs.DescribeContainerInstancesInput{Cluster: aws.String("c"), ContainerInstances: []string{inst, "nope"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ContainerInstances) != 1 || len(out.Failures) != 1 {
		t.Fatalf("describe = %+v", out)
	}
	ci := out.ContainerInstances[0]
	rem := resourcesByName(ci.RemainingResources)
	if rem["CPU"].IntegerValue != 2048-256 || rem["MEMORY"].IntegerValue != 1000-300 {
		t.Fatalf("remaining cpu %d memory %d", rem["CPU"].IntegerValue, rem["MEMORY"].IntegerValue)
	}
	if !slices.Contains(rem["PORTS"].StringSetValue, "8080") || !slices.Contains(rem["PORTS"].StringSetValue, "22") {
		t.Fatalf("remaining ports %v", rem["PORTS"].StringSetValue)
	}
	if reg := resourcesByName(ci.RegisteredResources); reg["MEMORY"].IntegerValue != 1000 {
		t.Fatalf("registered memory %d", reg["MEMORY"].IntegerValue)
	}
	if ci.PendingTasksCount != 1 || ci.RunningTasksCount != 0 {
		t.Fatalf("pending %d running %d", ci.PendingTasksCount, ci.RunningTasksCount)
	}

	// Resources come back when the agent reports the task STOPPED.
	submit(t, e, "c", aws.ToString(task.TaskArn), "STOPPED", types.ContainerStateChange{ContainerName: aws.String("main"), Status: aws.String("STOPPED"), ExitCode: aws.Int32(0)})
	out, err = e.ecs.DescribeContainerInstances(ctx(t), &ecs.DescribeContainerInstancesInput{Cluster: aws.String("c"), ContainerInstances: []string{inst}})
	if err != nil {
		t.Fatal(err)
	}
	rem = resourcesByName(out.ContainerInstances[0].RemainingResources)
	if rem["CPU"].IntegerValue != 2048 || rem["MEMORY"].IntegerValue != 1000 || slices.Contains(rem["PORTS"].StringSetValue, "8080") {
		t.Fatalf("after stop: %+v", rem)
	}
}

func resourcesByName(rs []types.Resource) map[string]types.Resource {
	out := map[string]types.Resource{}
	for _, r := range rs {
		out[aws.ToString(r.Name)] = r
	}
	return out
}

func TestDrainingAndDeregistration(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 1000)
	def := e.registerTaskDef(t, simpleDef("web", 10, 100, 0))

	upd, err := e.ecs.UpdateContainerInstancesState(ctx(t), &ecs.UpdateContainerInstancesStateInput{
		Cluster: aws.String("c"), ContainerInstances: []string{inst}, Status: types.ContainerInstanceStatusDraining,
	})
	if err != nil || aws.ToString(upd.ContainerInstances[0].Status) != "DRAINING" {
		t.Fatalf("drain: %v %+v", err, upd)
	}
	run, err := e.ecs.RunTask(ctx(t), &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String(def)})
	if err != nil || len(run.Tasks) != 0 || len(run.Failures) == 0 {
		t.Fatalf("RunTask on a draining instance: %v %+v", err, run)
	}
	if _, err := e.ecs.UpdateContainerInstancesState(ctx(t), &ecs.UpdateContainerInstancesStateInput{
		Cluster: aws.String("c"), ContainerInstances: []string{inst}, Status: types.ContainerInstanceStatusActive,
	}); err != nil {
		t.Fatal(err)
	}
	task := e.runTask(t, "c", def)

	_, err = e.ecs.DeregisterContainerInstance(ctx(t), &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("c"), ContainerInstance: aws.String(inst)})
	if apiCode(err) != "InvalidParameterException" {
		t.Fatalf("deregister with a task: %v", err)
	}
	out, err := e.ecs.DeregisterContainerInstance(ctx(t), &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("c"), ContainerInstance: aws.String(inst), Force: aws.Bool(true)})
	if err != nil || aws.ToString(out.ContainerInstance.Status) != "INACTIVE" {
		t.Fatalf("forced deregister: %v %+v", err, out)
	}
	got := e.describeTask(t, "c", aws.ToString(task.TaskArn))
	if aws.ToString(got.LastStatus) != "STOPPED" {
		t.Fatalf("task on deregistered instance: %s", aws.ToString(got.LastStatus))
	}
	list, err := e.ecs.ListContainerInstances(ctx(t), &ecs.ListContainerInstancesInput{Cluster: aws.String("c")})
	if err != nil || len(list.ContainerInstanceArns) != 0 {
		t.Fatalf("list after deregistration: %v %v", list.ContainerInstanceArns, err)
	}
	_, err = e.ecs.DeregisterContainerInstance(ctx(t), &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("c"), ContainerInstance: aws.String(inst)})
	if apiCode(err) != "InvalidParameterException" {
		t.Fatalf("deregister twice: %v", err)
	}
}

func submit(t *testing.T, e *env, cluster, task, status string, containers ...types.ContainerStateChange) {
	t.Helper()
	_, err := e.ecs.SubmitTaskStateChange(ctx(t), &ecs.SubmitTaskStateChangeInput{
		Cluster: aws.String(cluster), Task: aws.String(task), Status: aws.String(status), Reason: aws.String(""), Containers: containers,
	})
	if err != nil {
		t.Fatalf("SubmitTaskStateChange %s: %v", status, err)
	}
}

// An agent on EC2 sends its instance identity document and signature: the control
// plane accepts them and shows the EC2 instance.
func TestRegisterWithInstanceIdentityDocument(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	e.createCluster(t, "default")
	out, err := e.ecs.RegisterContainerInstance(ctx(t), &ecs.RegisterContainerInstanceInput{
		Cluster: aws.String("default"),
		InstanceIdentityDocument: aws.String(`{"accountId":"123456789012","availabilityZone":"us-west-2a",` +
			`"instanceId":"i-0abc1234def567890","instanceType":"t3.micro","region":"us-west-2"}`),
		InstanceIdentityDocumentSignature: aws.String("c2lnbmF0dXJl"),
		TotalResources:                    standardResources(4096, 15741),
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.ContainerInstance.ContainerInstanceArn)
	desc, err := e.ecs.DescribeContainerInstances(ctx(t), &ecs.DescribeContainerInstancesInput{
		Cluster: aws.String("default"), ContainerInstances: []string{arn}})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(desc.ContainerInstances[0].Ec2InstanceId); got != "i-0abc1234def567890" {
		t.Fatalf("ec2InstanceId %q", got)
	}
}
