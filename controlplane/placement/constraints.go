package placement

import (
	"errors"
	"fmt"

	"github.com/ecs-agent/ecs-agent/controlplane/query"
	"github.com/ecs-agent/ecs-agent/controlplane/taskdef"
)

// Constraint types, as the API spells them.
const (
	TypeMemberOf         = "memberOf"
	TypeDistinctInstance = "distinctInstance"
)

// Failure reasons of the constraints, as ECS reports them in RunTask/StartTask `failures`
// (with the excluded instance's ARN).
const (
	ReasonMemberOf         = "MemberOf"
	ReasonDistinctInstance = "DistinctInstance"
)

// Limits from the API documentation.
const (
	// MaxConstraints counts the task definition's and the request's constraints together.
	MaxConstraints = 10
	// MaxExpression is the longest memberOf expression, in characters.
	MaxExpression = 2000
)

// ErrInvalidConstraint marks a constraint the API refuses (InvalidParameterException);
// errors from a memberOf expression also wrap query.ErrSyntax or query.ErrUnsupported.
var ErrInvalidConstraint = errors.New("invalid placement constraint")

// Rules are checked constraints, ready to test candidates. The zero value admits every
// candidate.
type Rules struct {
	memberOf []*query.Query
	// distinct: each task of one RunTask call goes to a different instance. The model
	// documents distinctInstance as "each task in a particular group is running on a
	// different container instance"; the group here is the call, so tasks already running
	// (of the same family or group) do not exclude an instance.
	distinct bool
}

// CheckDefinition checks a task definition's constraints, which may only be memberOf.
func CheckDefinition(cs []taskdef.PlacementConstraint) error {
	for i, c := range cs {
		if c.Type != TypeMemberOf {
			return fmt.Errorf("%w: placementConstraints[%d]: type %q is not valid in a task definition (only %s)", ErrInvalidConstraint, i, c.Type, TypeMemberOf)
		}
	}
	_, err := Compile(cs, nil)
	return err
}

// Compile checks the constraints of a task definition and of a RunTask request and joins
// them: a candidate must satisfy all of them, as in ECS.
func Compile(def, run []taskdef.PlacementConstraint) (Rules, error) {
	if n := len(def) + len(run); n > MaxConstraints {
		return Rules{}, fmt.Errorf("%w: %d constraints (task definition and request together), at most %d are allowed", ErrInvalidConstraint, n, MaxConstraints)
	}
	var r Rules
	for i, c := range append(append([]taskdef.PlacementConstraint(nil), def...), run...) {
		switch c.Type {
		case TypeMemberOf:
			if c.Expression == "" {
				return Rules{}, fmt.Errorf("%w: placementConstraints[%d]: memberOf needs an expression", ErrInvalidConstraint, i)
			}
			if n := len([]rune(c.Expression)); n > MaxExpression {
				return Rules{}, fmt.Errorf("%w: placementConstraints[%d]: the expression has %d characters, at most %d are allowed", ErrInvalidConstraint, i, n, MaxExpression)
			}
			q, err := query.Parse(c.Expression)
			if err != nil {
				return Rules{}, fmt.Errorf("%w: placementConstraints[%d]: %w", ErrInvalidConstraint, i, err)
			}
			r.memberOf = append(r.memberOf, q)
		case TypeDistinctInstance:
			if c.Expression != "" {
				return Rules{}, fmt.Errorf("%w: placementConstraints[%d]: distinctInstance takes no expression", ErrInvalidConstraint, i)
			}
			r.distinct = true
		default:
			return Rules{}, fmt.Errorf("%w: placementConstraints[%d]: unknown type %q (expected %s or %s)", ErrInvalidConstraint, i, c.Type, TypeMemberOf, TypeDistinctInstance)
		}
	}
	return r, nil
}

// Admits reports why the rules exclude c, or "" when they do not.
func (r Rules) Admits(c Candidate) string {
	for _, q := range r.memberOf {
		if !q.Match(c.Attributes) {
			return ReasonMemberOf
		}
	}
	if r.distinct && c.Placed > 0 {
		return ReasonDistinctInstance
	}
	return ""
}
