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

// registerInstanceWith registers an instance of 1024 CPU and 1000 MiB with the given
// attributes (name=value pairs; a bare name is a capability without value).
func (e *env) registerInstanceWith(t *testing.T, cluster string, attrs ...string) string {
	t.Helper()
	var sent []types.Attribute
	for _, a := range attrs {
		name, value, ok := strings.Cut(a, "=")
		at := types.Attribute{Name: aws.String(name)}
		if ok {
			at.Value = aws.String(value)
		}
		sent = append(sent, at)
	}
	out, err := e.ecs.RegisterContainerInstance(ctx(t), &ecs.RegisterContainerInstanceInput{
		Cluster:        aws.String(cluster),
		TotalResources: standardResources(1024, 1000),
		Attributes:     sent,
	})
	if err != nil {
		t.Fatalf("RegisterContainerInstance: %v", err)
	}
	return aws.ToString(out.ContainerInstance.ContainerInstanceArn)
}

// twoInstances is a cluster "c" with a linux instance of team blue and a windows one of
// team green.
func twoInstances(t *testing.T) (e *env, linux, windows string) {
	e = newEnv(t, controlplane.Config{})
	e.createCluster(t, "c")
	linux = e.registerInstanceWith(t, "c", "ecs.os-type=linux", "team=blue", "ecs.capability.gpu")
	windows = e.registerInstanceWith(t, "c", "ecs.os-type=windows", "team=green")
	return e, linux, windows
}

func memberOf(expr string) types.PlacementConstraint {
	return types.PlacementConstraint{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String(expr)}
}

func TestListContainerInstancesFilter(t *testing.T) {
	e, linux, windows := twoInstances(t)
	both := []string{linux, windows}
	slices.Sort(both)
	tests := []struct {
		filter string
		want   []string
	}{
		{"", both},
		{"attribute:ecs.os-type == linux", []string{linux}},
		{"attribute:ecs.os-type == windows", []string{windows}},
		{"attribute:ecs.os-type == macos", nil},
		{"attribute:ecs.os-type in [linux, windows]", both},
		{"attribute:team != blue", []string{windows}},
		{"attribute:ecs.capability.gpu exists", []string{linux}},
		{"attribute:ecs.capability.gpu !exists", []string{windows}},
		{"attribute:ecs.availability-zone == us-west-2a and attribute:team =~ gr.*", []string{windows}},
		{"attribute:team == blue or attribute:team == green and attribute:ecs.os-type == linux", []string{linux}},
		{"(attribute:team == blue or attribute:team == green) and attribute:ecs.os-type == windows", []string{windows}},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			out, err := e.ecs.ListContainerInstances(ctx(t), &ecs.ListContainerInstancesInput{Cluster: aws.String("c"), Filter: aws.String(tc.filter)})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(out.ContainerInstanceArns, tc.want) && (len(tc.want) > 0 || len(out.ContainerInstanceArns) > 0) {
				t.Fatalf("listed %v, want %v", out.ContainerInstanceArns, tc.want)
			}
		})
	}

	// The filter combines with status and pagination.
	if _, err := e.ecs.UpdateContainerInstancesState(ctx(t), &ecs.UpdateContainerInstancesStateInput{
		Cluster: aws.String("c"), ContainerInstances: []string{windows}, Status: types.ContainerInstanceStatusDraining,
	}); err != nil {
		t.Fatal(err)
	}
	out, err := e.ecs.ListContainerInstances(ctx(t), &ecs.ListContainerInstancesInput{
		Cluster: aws.String("c"), Status: types.ContainerInstanceStatusActive, Filter: aws.String("attribute:team exists"),
	})
	if err != nil || !slices.Equal(out.ContainerInstanceArns, []string{linux}) {
		t.Fatalf("ACTIVE and filtered: %v %v", out, err)
	}
	var pages []string
	in := &ecs.ListContainerInstancesInput{Cluster: aws.String("c"), Filter: aws.String("attribute:team exists"), MaxResults: aws.Int32(1)}
	for {
		out, err := e.ecs.ListContainerInstances(ctx(t), in)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, out.ContainerInstanceArns...)
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	if !slices.Equal(pages, both) {
		t.Fatalf("paged %v, want %v", pages, both)
	}

	for _, bad := range []struct{ filter, mention string }{
		{"attribute:ecs.os-type ==", "malformed"},
		{"attribute:ecs.os-type == linux and (", "malformed"},
		{"ec2InstanceId == i-0123", "ec2InstanceId"},
		{"task:group == web", "task:group"},
		{"registeredAt > 2018-06-18", "registeredAt"},
	} {
		_, err := e.ecs.ListContainerInstances(ctx(t), &ecs.ListContainerInstancesInput{Cluster: aws.String("c"), Filter: aws.String(bad.filter)})
		if apiCode(err) != "InvalidParameterException" || !strings.Contains(apiMessage(err), bad.mention) {
			t.Errorf("filter %q: %v", bad.filter, err)
		}
	}
}

func TestRunTaskMemberOf(t *testing.T) {
	e, linux, windows := twoInstances(t)
	def := e.registerTaskDef(t, simpleDef("web", 10, 10, 0))

	out, err := e.ecs.RunTask(ctx(t), &ecs.RunTaskInput{
		Cluster: aws.String("c"), TaskDefinition: aws.String(def), Count: aws.Int32(3),
		PlacementConstraints: []types.PlacementConstraint{memberOf("attribute:ecs.os-type == windows")},
	})
	if err != nil || len(out.Tasks) != 3 || len(out.Failures) != 0 {
		t.Fatalf("memberOf windows: %v %+v", err, out)
	}
	for _, task := range out.Tasks {
		if aws.ToString(task.ContainerInstanceArn) != windows {
			t.Errorf("task on %s, want the windows instance", aws.ToString(task.ContainerInstanceArn))
		}
	}

	out, err = e.ecs.RunTask(ctx(t), &ecs.RunTaskInput{
		Cluster: aws.String("c"), TaskDefinition: aws.String(def),
		PlacementConstraints: []types.PlacementConstraint{memberOf("attribute:ecs.os-type == macos")},
	})
	if err != nil || len(out.Tasks) != 0 {
		t.Fatalf("no match: %v %+v", err, out)
	}
	got := map[string]string{}
	for _, f := range out.Failures {
		got[aws.ToString(f.Arn)] = aws.ToString(f.Reason)
	}
	if len(out.Failures) != 2 || got[linux] != "MemberOf" || got[windows] != "MemberOf" {
		t.Fatalf("no match failures = %+v", got)
	}
}

func TestRunTaskDistinctInstance(t *testing.T) {
	e, linux, windows := twoInstances(t)
	def := e.registerTaskDef(t, simpleDef("web", 10, 10, 0))
	distinct := []types.PlacementConstraint{{Type: types.PlacementConstraintTypeDistinctInstance}}

	out, err := e.ecs.RunTask(ctx(t), &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String(def), Count: aws.Int32(2), PlacementConstraints: distinct})
	if err != nil || len(out.Tasks) != 2 || len(out.Failures) != 0 {
		t.Fatalf("count 2: %v %+v", err, out)
	}
	on := []string{aws.ToString(out.Tasks[0].ContainerInstanceArn), aws.ToString(out.Tasks[1].ContainerInstanceArn)}
	slices.Sort(on)
	want := []string{linux, windows}
	slices.Sort(want)
	if !slices.Equal(on, want) {
		t.Fatalf("count 2 placed on %v, want one on each", on)
	}

	// Distinct within one call: the tasks above do not exclude an instance.
	out, err = e.ecs.RunTask(ctx(t), &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String(def), Count: aws.Int32(3), PlacementConstraints: distinct})
	if err != nil || len(out.Tasks) != 2 || len(out.Failures) == 0 {
		t.Fatalf("count 3: %v %+v", err, out)
	}
	if out.Tasks[0].ContainerInstanceArn == out.Tasks[1].ContainerInstanceArn {
		t.Errorf("count 3: two tasks on one instance")
	}
	for _, f := range out.Failures {
		if aws.ToString(f.Reason) != "DistinctInstance" || !slices.Contains(want, aws.ToString(f.Arn)) {
			t.Errorf("count 3 failure = %s %s", aws.ToString(f.Arn), aws.ToString(f.Reason))
		}
	}

	// Combined with memberOf: one task on the only member, the second fails.
	out, err = e.ecs.RunTask(ctx(t), &ecs.RunTaskInput{
		Cluster: aws.String("c"), TaskDefinition: aws.String(def), Count: aws.Int32(2),
		PlacementConstraints: append(slices.Clone(distinct), memberOf("attribute:team == blue")),
	})
	if err != nil || len(out.Tasks) != 1 || aws.ToString(out.Tasks[0].ContainerInstanceArn) != linux || len(out.Failures) != 2 {
		t.Fatalf("distinct and memberOf: %v %+v", err, out)
	}
}

func TestTaskDefinitionConstraints(t *testing.T) {
	e, linux, windows := twoInstances(t)
	in := simpleDef("green-only", 10, 10, 0)
	in.PlacementConstraints = []types.TaskDefinitionPlacementConstraint{{
		Type: types.TaskDefinitionPlacementConstraintTypeMemberOf, Expression: aws.String("attribute:team == green"),
	}}
	def := e.registerTaskDef(t, in)

	desc, err := e.ecs.DescribeTaskDefinition(ctx(t), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(def)})
	if err != nil || len(desc.TaskDefinition.PlacementConstraints) != 1 || aws.ToString(desc.TaskDefinition.PlacementConstraints[0].Expression) != "attribute:team == green" {
		t.Fatalf("described constraints: %v %+v", err, desc)
	}

	out, err := e.ecs.RunTask(ctx(t), &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String(def), Count: aws.Int32(2)})
	if err != nil || len(out.Tasks) != 2 {
		t.Fatalf("RunTask: %v %+v", err, out)
	}
	for _, task := range out.Tasks {
		if aws.ToString(task.ContainerInstanceArn) != windows {
			t.Errorf("task on %s, want the green instance", aws.ToString(task.ContainerInstanceArn))
		}
	}

	// The request's constraints apply on top of the definition's.
	out, err = e.ecs.RunTask(ctx(t), &ecs.RunTaskInput{
		Cluster: aws.String("c"), TaskDefinition: aws.String(def),
		PlacementConstraints: []types.PlacementConstraint{memberOf("attribute:ecs.os-type == linux")},
	})
	if err != nil || len(out.Tasks) != 0 || len(out.Failures) != 2 {
		t.Fatalf("contradicting constraints: %v %+v", err, out)
	}

	// StartTask on a named instance: the definition's memberOf still applies.
	st, err := e.ecs.StartTask(ctx(t), &ecs.StartTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String(def), ContainerInstances: []string{linux, windows}})
	if err != nil || len(st.Tasks) != 1 || aws.ToString(st.Tasks[0].ContainerInstanceArn) != windows {
		t.Fatalf("StartTask: %v %+v", err, st)
	}
	if len(st.Failures) != 1 || aws.ToString(st.Failures[0].Arn) != linux || aws.ToString(st.Failures[0].Reason) != "MemberOf" {
		t.Fatalf("StartTask failures = %+v", st.Failures)
	}
}

func TestConstraintErrors(t *testing.T) {
	e, _, _ := twoInstances(t)
	def := e.registerTaskDef(t, simpleDef("web", 10, 10, 0))
	tdConstraint := func(typ, expr string) []types.TaskDefinitionPlacementConstraint {
		c := types.TaskDefinitionPlacementConstraint{Type: types.TaskDefinitionPlacementConstraintType(typ)}
		if expr != "" {
			c.Expression = aws.String(expr)
		}
		return []types.TaskDefinitionPlacementConstraint{c}
	}
	long := "attribute:team == " + strings.Repeat("g", 2000)

	defs := []struct {
		name string
		cs   []types.TaskDefinitionPlacementConstraint
	}{
		{"distinctInstance", tdConstraint("distinctInstance", "")},
		{"unknown type", tdConstraint("spread", "attribute:team exists")},
		{"memberOf without expression", tdConstraint("memberOf", "")},
		{"malformed", tdConstraint("memberOf", "attribute:team ==")},
		{"unsupported subject", tdConstraint("memberOf", "task:group == web")},
		{"too long", tdConstraint("memberOf", long)},
		{"eleven", slices.Repeat(tdConstraint("memberOf", "attribute:team exists"), 11)},
	}
	for _, tc := range defs {
		t.Run("RegisterTaskDefinition/"+tc.name, func(t *testing.T) {
			in := simpleDef("bad", 10, 10, 0)
			in.PlacementConstraints = tc.cs
			_, err := e.ecs.RegisterTaskDefinition(ctx(t), in)
			if apiCode(err) != "InvalidParameterException" {
				t.Fatalf("error = %v", err)
			}
		})
	}

	runs := []struct {
		name string
		cs   []types.PlacementConstraint
	}{
		{"unknown type", []types.PlacementConstraint{{Type: "spread"}}},
		{"memberOf without expression", []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf}}},
		{"distinctInstance with expression", []types.PlacementConstraint{{Type: types.PlacementConstraintTypeDistinctInstance, Expression: aws.String("attribute:team exists")}}},
		{"malformed", []types.PlacementConstraint{memberOf("attribute:team in [a, b")}},
		{"unsupported subject", []types.PlacementConstraint{memberOf("ec2InstanceId == i-1")}},
		{"too long", []types.PlacementConstraint{memberOf(long)}},
		{"eleven", slices.Repeat([]types.PlacementConstraint{memberOf("attribute:team exists")}, 11)},
	}
	for _, tc := range runs {
		t.Run("RunTask/"+tc.name, func(t *testing.T) {
			_, err := e.ecs.RunTask(ctx(t), &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String(def), PlacementConstraints: tc.cs})
			if apiCode(err) != "InvalidParameterException" {
				t.Fatalf("error = %v", err)
			}
		})
	}

	// The limit of ten counts the definition's constraints too.
	in := simpleDef("six", 10, 10, 0)
	in.PlacementConstraints = slices.Repeat(tdConstraint("memberOf", "attribute:team exists"), 6)
	six := e.registerTaskDef(t, in)
	_, err := e.ecs.RunTask(ctx(t), &ecs.RunTaskInput{
		Cluster: aws.String("c"), TaskDefinition: aws.String(six),
		PlacementConstraints: slices.Repeat([]types.PlacementConstraint{memberOf("attribute:team exists")}, 5),
	})
	if apiCode(err) != "InvalidParameterException" {
		t.Fatalf("6+5 constraints: %v", err)
	}
}
