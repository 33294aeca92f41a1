package controlplane_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-agent/ecs-agent/controlplane"
)

func TestRunTaskPlacementFailures(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	e.createCluster(t, "c")
	def := e.registerTaskDef(t, simpleDef("web", 100, 100, 0))

	// No instance: a failure, not an error.
	out, err := e.ecs.RunTask(ctx(t), &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String(def)})
	if err != nil || len(out.Tasks) != 0 || len(out.Failures) != 1 {
		t.Fatalf("no instance: %v %+v", err, out)
	}
	inst := e.registerInstance(t, "c", 1024, 500)

	tests := []struct {
		name   string
		def    *ecs.RegisterTaskDefinitionInput
		reason string
	}{
		{"memory", simpleDef("big-mem", 10, 600, 0), "RESOURCE:MEMORY"},
		{"cpu", simpleDef("big-cpu", 2000, 10, 0), "RESOURCE:CPU"},
		{"reserved port", simpleDef("ssh", 10, 10, 22), "RESOURCE:PORTS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			arn := e.registerTaskDef(t, tc.def)
			out, err := e.ecs.RunTask(ctx(t), &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String(arn)})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Tasks) != 0 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != tc.reason || aws.ToString(out.Failures[0].Arn) != inst {
				t.Fatalf("failures = %+v", out.Failures)
			}
		})
	}

	// Count 5 of 100 MiB fit in 500 MiB; a sixth does not.
	out, err = e.ecs.RunTask(ctx(t), &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String(def), Count: aws.Int32(6), StartedBy: aws.String("tester")})
	if err != nil || len(out.Tasks) != 5 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "RESOURCE:MEMORY" {
		t.Fatalf("count 6: %v tasks=%d failures=%+v", err, len(out.Tasks), out.Failures)
	}
}

func TestRunTaskErrors(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	e.createCluster(t, "c")
	e.registerInstance(t, "c", 1024, 500)
	def := e.registerTaskDef(t, simpleDef("web", 10, 10, 0))
	tests := []struct {
		name string
		in   ecs.RunTaskInput
		code string
	}{
		{"count 11", ecs.RunTaskInput{TaskDefinition: aws.String(def), Count: aws.Int32(11)}, "InvalidParameterException"},
		{"count 0", ecs.RunTaskInput{TaskDefinition: aws.String(def), Count: aws.Int32(0)}, "InvalidParameterException"},
		{"unknown task definition", ecs.RunTaskInput{TaskDefinition: aws.String("nope:1")}, "InvalidParameterException"},
		{"unknown family", ecs.RunTaskInput{TaskDefinition: aws.String("nope")}, "InvalidParameterException"},
		{"override of an unknown container", ecs.RunTaskInput{TaskDefinition: aws.String(def), Overrides: &types.TaskOverride{
			ContainerOverrides: []types.ContainerOverride{{Name: aws.String("ghost"), Command: []string{"x"}}},
		}}, "InvalidParameterException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Cluster = aws.String("c")
			_, err := e.ecs.RunTask(ctx(t), &in)
			if apiCode(err) != tc.code {
				t.Fatalf("error = %v, want %s", err, tc.code)
			}
		})
	}
}

func TestStaticPortHeldUntilStopped(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	e.createCluster(t, "c")
	e.registerInstance(t, "c", 4096, 4000)
	def := e.registerTaskDef(t, simpleDef("port", 10, 50, 5180))
	first := e.runTask(t, "c", def)
	out, err := e.ecs.RunTask(ctx(t), &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String(def)})
	if err != nil || len(out.Tasks) != 0 || aws.ToString(out.Failures[0].Reason) != "RESOURCE:PORTS" {
		t.Fatalf("second task on port 5180: %v %+v", err, out)
	}
	submit(t, e, "c", aws.ToString(first.TaskArn), "STOPPED")
	e.runTask(t, "c", def)
}

func TestTaskReportsAndDescribe(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 2048, 2000)
	def := e.registerTaskDef(t, simpleDef("exit", 10, 64, 5180))
	task := e.runTask(t, "c", def)
	arn := aws.ToString(task.TaskArn)
	if aws.ToString(task.ContainerInstanceArn) != inst || aws.ToString(task.LastStatus) != "PENDING" || aws.ToString(task.DesiredStatus) != "RUNNING" {
		t.Fatalf("new task = %+v", task)
	}

	pull := float64(time.Now().Unix()) + 0.25
	_, err := e.ecs.SubmitTaskStateChange(ctx(t), &ecs.SubmitTaskStateChangeInput{
		Cluster: aws.String("c"), Task: aws.String(arn), Status: aws.String("PENDING"), Reason: aws.String(""),
		PullStartedAt: aws.Time(time.Unix(int64(pull), 250e6)),
		Containers:    []types.ContainerStateChange{{ContainerName: aws.String("main"), Status: aws.String("PENDING"), ImageDigest: aws.String("sha256:abc")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	running := types.ContainerStateChange{
		ContainerName: aws.String("main"), Status: aws.String("RUNNING"), RuntimeId: aws.String("d0c4e7"),
		NetworkBindings: []types.NetworkBinding{{BindIP: aws.String("0.0.0.0"), ContainerPort: aws.Int32(80), HostPort: aws.Int32(5180), Protocol: types.TransportProtocolTcp}},
	}
	submit(t, e, "c", arn, "RUNNING", running)
	submit(t, e, "c", arn, "RUNNING", running) // idempotent resend
	got := e.describeTask(t, "c", arn)
	if aws.ToString(got.LastStatus) != "RUNNING" || got.StartedAt == nil || got.PullStartedAt == nil {
		t.Fatalf("running task = %+v", got)
	}
	c := got.Containers[0]
	if aws.ToString(c.RuntimeId) != "d0c4e7" || aws.ToString(c.LastStatus) != "RUNNING" || len(c.NetworkBindings) != 1 || aws.ToInt32(c.NetworkBindings[0].HostPort) != 5180 || aws.ToString(c.ImageDigest) != "sha256:abc" {
		t.Fatalf("running container = %+v", c)
	}
	// A late PENDING does not move the task back.
	submit(t, e, "c", arn, "PENDING")
	if s := aws.ToString(e.describeTask(t, "c", arn).LastStatus); s != "RUNNING" {
		t.Fatalf("after late PENDING: %s", s)
	}

	_, err = e.ecs.SubmitTaskStateChange(ctx(t), &ecs.SubmitTaskStateChangeInput{
		Cluster: aws.String("c"), Task: aws.String(arn), Status: aws.String("STOPPED"), Reason: aws.String(""),
		ExecutionStoppedAt: aws.Time(time.Now()),
		Containers:         []types.ContainerStateChange{{ContainerName: aws.String("main"), Status: aws.String("STOPPED"), ExitCode: aws.Int32(42)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got = e.describeTask(t, "c", arn)
	if aws.ToString(got.LastStatus) != "STOPPED" || aws.ToString(got.DesiredStatus) != "STOPPED" || aws.ToString(got.StoppedReason) != "Essential container in task exited" || got.StoppedAt == nil || got.ExecutionStoppedAt == nil {
		t.Fatalf("stopped task = %+v", got)
	}
	if ec := got.Containers[0].ExitCode; ec == nil || *ec != 42 {
		t.Fatalf("exit code = %v", ec)
	}

	out, err := e.ecs.DescribeTasks(ctx(t), &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: []string{arn, "arn:aws:ecs:us-west-2:123456789012:task/c/0000"}})
	if err != nil || len(out.Tasks) != 1 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" {
		t.Fatalf("describe with unknown: %v %+v", err, out)
	}
	_, err = e.ecs.SubmitTaskStateChange(ctx(t), &ecs.SubmitTaskStateChangeInput{Cluster: aws.String("c"), Task: aws.String("arn:aws:ecs:us-west-2:123456789012:task/c/0000"), Status: aws.String("RUNNING")})
	if apiCode(err) != "InvalidParameterException" {
		t.Fatalf("report for unknown task: %v", err)
	}
}

func TestEssentialContainerStopsTask(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	e.createCluster(t, "c")
	e.registerInstance(t, "c", 2048, 2000)
	arn := aws.ToString(e.runTask(t, "c", e.registerTaskDef(t, simpleDef("x", 10, 64, 0))).TaskArn)
	submit(t, e, "c", arn, "RUNNING", types.ContainerStateChange{ContainerName: aws.String("main"), Status: aws.String("RUNNING")})
	// A batched container report while the task is still RUNNING.
	submit(t, e, "c", arn, "RUNNING", types.ContainerStateChange{ContainerName: aws.String("main"), Status: aws.String("STOPPED"), ExitCode: aws.Int32(1)})
	got := e.describeTask(t, "c", arn)
	if aws.ToString(got.DesiredStatus) != "STOPPED" || aws.ToString(got.StoppedReason) != "Essential container in task exited" {
		t.Fatalf("task = %s/%s %q", aws.ToString(got.LastStatus), aws.ToString(got.DesiredStatus), aws.ToString(got.StoppedReason))
	}
	// SubmitContainerStateChange (older agents) is accepted too.
	_, err := e.ecs.SubmitContainerStateChange(ctx(t), &ecs.SubmitContainerStateChangeInput{Cluster: aws.String("c"), Task: aws.String(arn), ContainerName: aws.String("main"), Status: aws.String("STOPPED"), ExitCode: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
}

func TestStopTaskAndOverrides(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	e.createCluster(t, "c")
	e.registerInstance(t, "c", 2048, 2000)
	def := e.registerTaskDef(t, simpleDef("x", 10, 64, 0))
	out, err := e.ecs.RunTask(ctx(t), &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String(def), Overrides: &types.TaskOverride{
		ContainerOverrides: []types.ContainerOverride{{Name: aws.String("main"), Command: []string{"sleep", "5"}, Environment: []types.KeyValuePair{{Name: aws.String("A"), Value: aws.String("1")}}}},
	}})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatal(err)
	}
	task := out.Tasks[0]
	if co := task.Overrides.ContainerOverrides; len(co) != 1 || co[0].Command[1] != "5" {
		t.Fatalf("overrides = %+v", task.Overrides)
	}
	// Never sent to an agent: it stops at once.
	stop, err := e.ecs.StopTask(ctx(t), &ecs.StopTaskInput{Cluster: aws.String("c"), Task: task.TaskArn, Reason: aws.String("enough")})
	if err != nil || aws.ToString(stop.Task.DesiredStatus) != "STOPPED" || aws.ToString(stop.Task.LastStatus) != "STOPPED" || aws.ToString(stop.Task.StoppedReason) != "enough" {
		t.Fatalf("StopTask: %v %+v", err, stop)
	}
	_, err = e.ecs.StopTask(ctx(t), &ecs.StopTaskInput{Cluster: aws.String("c"), Task: aws.String("0123")})
	if apiCode(err) != "InvalidParameterException" {
		t.Fatalf("stop unknown: %v", err)
	}
}

func TestListTasksFiltersAndPages(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	e.createCluster(t, "c")
	inst := e.registerInstance(t, "c", 4096, 4000)
	a := e.registerTaskDef(t, simpleDef("a", 1, 10, 0))
	b := e.registerTaskDef(t, simpleDef("b", 1, 10, 0))
	if _, err := e.ecs.RunTask(ctx(t), &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String(a), Count: aws.Int32(5), StartedBy: aws.String("me")}); err != nil {
		t.Fatal(err)
	}
	bt := e.runTask(t, "c", b)
	submit(t, e, "c", aws.ToString(bt.TaskArn), "STOPPED")

	count := func(in ecs.ListTasksInput) int {
		t.Helper()
		in.Cluster = aws.String("c")
		n := 0
		p := ecs.NewListTasksPaginator(e.ecs, &in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			n += len(page.TaskArns)
		}
		return n
	}
	tests := []struct {
		name string
		in   ecs.ListTasksInput
		want int
	}{
		{"all running", ecs.ListTasksInput{}, 5},
		{"pages of 2", ecs.ListTasksInput{MaxResults: aws.Int32(2)}, 5},
		{"family", ecs.ListTasksInput{Family: aws.String("a")}, 5},
		{"startedBy", ecs.ListTasksInput{StartedBy: aws.String("me")}, 5},
		{"startedBy other", ecs.ListTasksInput{StartedBy: aws.String("you")}, 0},
		{"instance", ecs.ListTasksInput{ContainerInstance: aws.String(inst)}, 5},
		{"stopped", ecs.ListTasksInput{DesiredStatus: types.DesiredStatusStopped}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := count(tc.in); got != tc.want {
				t.Fatalf("got %d tasks, want %d", got, tc.want)
			}
		})
	}
	page, err := e.ecs.ListTasks(ctx(t), &ecs.ListTasksInput{Cluster: aws.String("c"), MaxResults: aws.Int32(2)})
	if err != nil || len(page.TaskArns) != 2 || page.NextToken == nil {
		t.Fatalf("first page: %v %+v", err, page)
	}
}

func TestLaunchTypeExternal(t *testing.T) {
	e := newEnv(t, controlplane.Config{})
	c := e.createCluster(t, "ext")
	e.registerInstance(t, c, 1024, 1024)
	def := e.registerTaskDef(t, simpleDef("ext", 0, 64, 0))
	run, err := e.ecs.RunTask(ctx(t), &ecs.RunTaskInput{Cluster: aws.String(c), TaskDefinition: aws.String(def), LaunchType: types.LaunchTypeExternal})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask EXTERNAL: %+v, %v", run, err)
	}
	arn := aws.ToString(run.Tasks[0].TaskArn)
	if run.Tasks[0].LaunchType != types.LaunchTypeExternal || e.describeTask(t, c, arn).LaunchType != types.LaunchTypeExternal {
		t.Errorf("EXTERNAL task: launchType %s", run.Tasks[0].LaunchType)
	}
	if tk := e.runTask(t, c, def); tk.LaunchType != types.LaunchTypeEc2 {
		t.Errorf("default task: launchType %s", tk.LaunchType)
	}
}
