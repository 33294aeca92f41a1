package placement

import (
	"errors"
	"strings"
	"testing"

	"github.com/ecs-agent/ecs-agent/controlplane/query"
	"github.com/ecs-agent/ecs-agent/controlplane/taskdef"
)

func memberOf(expr string) taskdef.PlacementConstraint {
	return taskdef.PlacementConstraint{Type: TypeMemberOf, Expression: expr}
}

var distinct = taskdef.PlacementConstraint{Type: TypeDistinctInstance}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name     string
		def, run []taskdef.PlacementConstraint
		want     error
	}{
		{"unknown type", nil, []taskdef.PlacementConstraint{{Type: "spread"}}, ErrInvalidConstraint},
		{"type is case-sensitive", nil, []taskdef.PlacementConstraint{{Type: "MemberOf", Expression: "attribute:a exists"}}, ErrInvalidConstraint},
		{"memberOf without expression", nil, []taskdef.PlacementConstraint{{Type: TypeMemberOf}}, ErrInvalidConstraint},
		{"distinctInstance with expression", nil, []taskdef.PlacementConstraint{{Type: TypeDistinctInstance, Expression: "attribute:a exists"}}, ErrInvalidConstraint},
		{"expression too long", nil, []taskdef.PlacementConstraint{memberOf("attribute:a == " + strings.Repeat("x", MaxExpression))}, ErrInvalidConstraint},
		{"malformed expression", nil, []taskdef.PlacementConstraint{memberOf("attribute:a ==")}, query.ErrSyntax},
		{"unsupported subject", []taskdef.PlacementConstraint{memberOf("task:group == web")}, nil, query.ErrUnsupported},
		{"eleven in all", make([]taskdef.PlacementConstraint, 6), make([]taskdef.PlacementConstraint, 5), ErrInvalidConstraint},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.def, tc.run)
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrInvalidConstraint) {
				t.Fatalf("Compile = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := Compile([]taskdef.PlacementConstraint{memberOf("attribute:a exists")}, []taskdef.PlacementConstraint{distinct, memberOf("attribute:b exists")}); err != nil {
		t.Fatalf("valid constraints refused: %v", err)
	}
}

func TestCheckDefinition(t *testing.T) {
	if err := CheckDefinition([]taskdef.PlacementConstraint{memberOf("attribute:a exists")}); err != nil {
		t.Fatalf("memberOf refused: %v", err)
	}
	if err := CheckDefinition([]taskdef.PlacementConstraint{distinct}); !errors.Is(err, ErrInvalidConstraint) {
		t.Fatalf("distinctInstance in a task definition: %v", err)
	}
}

func TestChooseWithRules(t *testing.T) {
	withAttrs := func(arn, os string, placed int) Candidate {
		c := cand(arn, 100, 100, 0)
		c.Attributes = query.Attributes{"ecs.os-type": os}
		c.Placed = placed
		return c
	}
	tests := []struct {
		name     string
		def, run []taskdef.PlacementConstraint
		cands    []Candidate
		want     int
		failures []string
	}{
		{"no rules", nil, nil, []Candidate{withAttrs("a", "linux", 0)}, 0, nil},
		{"memberOf picks the match", nil, []taskdef.PlacementConstraint{memberOf("attribute:ecs.os-type == windows")},
			[]Candidate{withAttrs("a", "linux", 0), withAttrs("b", "windows", 0)}, 1, nil},
		{"memberOf from the definition", []taskdef.PlacementConstraint{memberOf("attribute:ecs.os-type == windows")}, nil,
			[]Candidate{withAttrs("a", "linux", 0), withAttrs("b", "windows", 0)}, 1, nil},
		{"definition and request both apply", []taskdef.PlacementConstraint{memberOf("attribute:ecs.os-type == windows")},
			[]taskdef.PlacementConstraint{memberOf("attribute:ecs.os-type == linux")},
			[]Candidate{withAttrs("a", "linux", 0), withAttrs("b", "windows", 0)}, -1, []string{ReasonMemberOf, ReasonMemberOf}},
		{"distinctInstance skips a used instance", nil, []taskdef.PlacementConstraint{distinct},
			[]Candidate{withAttrs("a", "linux", 1), withAttrs("b", "linux", 0)}, 1, nil},
		{"distinctInstance exhausted", nil, []taskdef.PlacementConstraint{distinct},
			[]Candidate{withAttrs("a", "linux", 1), withAttrs("b", "linux", 1)}, -1, []string{ReasonDistinctInstance, ReasonDistinctInstance}},
		{"constraint before resources", nil, []taskdef.PlacementConstraint{memberOf("attribute:ecs.os-type == windows")},
			[]Candidate{withAttrs("a", "linux", 0)}, -1, []string{ReasonMemberOf}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rules, err := Compile(tc.def, tc.run)
			if err != nil {
				t.Fatal(err)
			}
			req := taskdef.Requirements{Memory: 10}
			if tc.name == "constraint before resources" {
				req.Memory = 1000
			}
			got, fails := Choose(req, rules, tc.cands)
			if got != tc.want || len(fails) != len(tc.failures) {
				t.Fatalf("Choose = %d %+v", got, fails)
			}
			for i, f := range fails {
				if f.Reason != tc.failures[i] || f.Arn != tc.cands[i].Arn {
					t.Errorf("failure %d = %+v", i, f)
				}
			}
		})
	}
}
