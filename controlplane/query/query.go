package query

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
)

// Error classes: a caller turns either into InvalidParameterException, but tests and logs
// can tell an expression that is wrong from one this control plane cannot evaluate.
var (
	// ErrSyntax marks an expression that is not valid cluster query language.
	ErrSyntax = errors.New("malformed cluster query")
	// ErrUnsupported marks a valid expression over a subject the control plane does not
	// evaluate.
	ErrUnsupported = errors.New("unsupported cluster query")
)

// Attributes are a container instance's attributes by name. An attribute registered
// without a value (a capability) is present with the value "".
type Attributes map[string]string

// Query is a parsed expression. A nil *Query matches every instance, which is what an
// absent filter means.
type Query struct {
	root node
	text string
}

// String returns the expression as given to Parse.
func (q *Query) String() string {
	if q == nil {
		return ""
	}
	return q.text
}

// Match reports whether an instance with attrs satisfies the query.
func (q *Query) Match(attrs Attributes) bool {
	if q == nil {
		return true
	}
	return q.root.eval(attrs)
}

type node interface {
	eval(Attributes) bool
}

type andNode struct{ l, r node }

func (n andNode) eval(a Attributes) bool { return n.l.eval(a) && n.r.eval(a) }

type orNode struct{ l, r node }

func (n orNode) eval(a Attributes) bool { return n.l.eval(a) || n.r.eval(a) }

type notNode struct{ x node }

func (n notNode) eval(a Attributes) bool { return !n.x.eval(a) }

// op is a comparison operator, in its canonical (word) spelling.
type op string

const (
	opEquals     op = "equals"
	opNotEquals  op = "not_equals"
	opGreater    op = "greater_than"
	opGreaterEq  op = "greater_than_equal"
	opLess       op = "less_than"
	opLessEq     op = "less_than_equal"
	opExists     op = "exists"
	opNotExists  op = "not_exists"
	opIn         op = "in"
	opNotIn      op = "not_in"
	opMatches    op = "matches"
	opNotMatches op = "not_matches"
)

// compareNode tests one attribute. The negative operators are the exact negation of their
// positive twins, so an instance without the attribute satisfies `!=`, `not_in` and `!~`.
type compareNode struct {
	name   string
	op     op
	values []string       // one value, or the list of in/not_in; none for exists
	re     *regexp.Regexp // matches/not_matches, anchored at both ends as Java's matches() is
}

func (n compareNode) eval(a Attributes) bool {
	v, ok := a[n.name]
	switch n.op {
	case opExists:
		return ok
	case opNotExists:
		return !ok
	case opEquals:
		return ok && v == n.values[0]
	case opNotEquals:
		return !ok || v != n.values[0]
	case opIn:
		return ok && contains(n.values, v)
	case opNotIn:
		return !ok || !contains(n.values, v)
	case opMatches:
		return ok && n.re.MatchString(v)
	case opNotMatches:
		return !ok || !n.re.MatchString(v)
	}
	if !ok {
		return false
	}
	c := order(v, n.values[0])
	switch n.op {
	case opGreater:
		return c > 0
	case opGreaterEq:
		return c >= 0
	case opLess:
		return c < 0
	case opLessEq:
		return c <= 0
	}
	return false
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// order compares numerically when both sides are numbers (so 10 > 9), else as strings.
func order(a, b string) int {
	fa, errA := strconv.ParseFloat(a, 64)
	fb, errB := strconv.ParseFloat(b, 64)
	if errA == nil && errB == nil {
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	}
	return strings.Compare(a, b)
}
