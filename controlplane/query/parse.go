package query

import (
	"fmt"
	"regexp"
	"strings"
)

// maxDepth bounds nesting of parentheses and `not`, so a hostile filter cannot recurse
// without limit.
const maxDepth = 64

// attributePrefix introduces the only subject the control plane evaluates.
const attributePrefix = "attribute:"

// unsupportedSubjects are the subjects ECS evaluates from instance state this control plane
// does not query by (lower-cased).
var unsupportedSubjects = map[string]string{
	"agentconnected":    "agentConnected",
	"agentversion":      "agentVersion",
	"ec2instanceid":     "ec2InstanceId",
	"registeredat":      "registeredAt",
	"runningtaskscount": "runningTasksCount",
	"task:group":        "task:group",
}

// symbolic operators, longest first so "!=" is not read as "!" and "!exists" not as "!=".
var symbolicOps = []struct {
	text string
	op   op
	word bool // must be followed by a word boundary
}{
	{"!exists", opNotExists, true},
	{"!in", opNotIn, true},
	{"==", opEquals, false},
	{"!=", opNotEquals, false},
	{"=~", opMatches, false},
	{"!~", opNotMatches, false},
	{">=", opGreaterEq, false},
	{"<=", opLessEq, false},
	{">", opGreater, false},
	{"<", opLess, false},
}

var wordOps = map[string]op{
	"equals": opEquals, "not_equals": opNotEquals,
	"greater_than": opGreater, "greater_than_equal": opGreaterEq,
	"less_than": opLess, "less_than_equal": opLessEq,
	"exists": opExists, "not_exists": opNotExists,
	"in": opIn, "not_in": opNotIn,
	"matches": opMatches, "not_matches": opNotMatches,
}

// Parse parses a cluster query expression. Errors wrap ErrSyntax or ErrUnsupported.
func Parse(text string) (*Query, error) {
	p := &parser{src: text}
	p.skipSpace()
	if p.eof() {
		return nil, fmt.Errorf("%w: the expression is empty", ErrSyntax)
	}
	root, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		return nil, p.errorf("unexpected %q", p.rest(16))
	}
	return &Query{root: root, text: text}, nil
}

type parser struct {
	src string
	pos int
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

func (p *parser) rest(n int) string {
	r := p.src[p.pos:]
	if len(r) > n {
		r = r[:n] + "…"
	}
	return r
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", ErrSyntax, fmt.Sprintf(format, args...), p.pos)
}

func (p *parser) skipSpace() {
	for !p.eof() && isSpace(p.src[p.pos]) {
		p.pos++
	}
}

// keyword consumes one of the spellings if it comes next, a word spelling only when a
// word boundary follows it.
func (p *parser) keyword(symbol string, words ...string) bool {
	p.skipSpace()
	if symbol != "" && strings.HasPrefix(p.src[p.pos:], symbol) {
		p.pos += len(symbol)
		return true
	}
	for _, w := range words {
		end := p.pos + len(w)
		if end <= len(p.src) && strings.EqualFold(p.src[p.pos:end], w) && (end == len(p.src) || !isWordByte(p.src[end])) {
			p.pos = end
			return true
		}
	}
	return false
}

func (p *parser) parseOr(depth int) (node, error) {
	left, err := p.parseAnd(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("||", "or") {
		right, err := p.parseAnd(depth)
		if err != nil {
			return nil, err
		}
		left = orNode{left, right}
	}
	return left, nil
}

func (p *parser) parseAnd(depth int) (node, error) {
	left, err := p.parseUnary(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("&&", "and") {
		right, err := p.parseUnary(depth)
		if err != nil {
			return nil, err
		}
		left = andNode{left, right}
	}
	return left, nil
}

func (p *parser) parseUnary(depth int) (node, error) {
	if depth > maxDepth {
		return nil, p.errorf("nesting deeper than %d", maxDepth)
	}
	p.skipSpace()
	if p.eof() {
		return nil, p.errorf("expected an expression")
	}
	if p.src[p.pos] == '(' {
		p.pos++
		inner, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if !p.keyword(")") {
			return nil, p.errorf("expected ')'")
		}
		return inner, nil
	}
	// "!" alone negates; "!=" and friends only follow a subject, never start a term.
	if p.keyword("", "not") || (p.src[p.pos] == '!' && !strings.HasPrefix(p.src[p.pos:], "!=") && p.keyword("!")) {
		x, err := p.parseUnary(depth + 1)
		if err != nil {
			return nil, err
		}
		return notNode{x}, nil
	}
	return p.parseCompare()
}

func (p *parser) parseCompare() (node, error) {
	start := p.pos
	subject := p.word()
	if subject == "" {
		return nil, p.errorf("expected a subject such as attribute:NAME, found %q", p.rest(16))
	}
	name, ok := cutPrefixFold(subject, attributePrefix)
	if !ok {
		if canon, known := unsupportedSubjects[strings.ToLower(subject)]; known {
			return nil, fmt.Errorf("%w: subject %s is not supported by this control plane (only attribute:NAME is)", ErrUnsupported, canon)
		}
		p.pos = start
		return nil, p.errorf("unknown subject %q (expected attribute:NAME)", subject)
	}
	if name == "" {
		p.pos = start
		return nil, p.errorf("attribute: needs a name")
	}
	o, err := p.parseOp(subject)
	if err != nil {
		return nil, err
	}
	n := compareNode{name: name, op: o}
	switch o {
	case opExists, opNotExists:
		return n, nil
	case opIn, opNotIn:
		if n.values, err = p.parseList(); err != nil {
			return nil, err
		}
		return n, nil
	}
	v, err := p.value(false)
	if err != nil {
		return nil, err
	}
	n.values = []string{v}
	if o == opMatches || o == opNotMatches {
		re, err := regexp.Compile(`^(?:` + v + `)$`)
		if err != nil {
			return nil, fmt.Errorf("%w: invalid regular expression %q: %v", ErrSyntax, v, err)
		}
		n.re = re
	}
	return n, nil
}

func (p *parser) parseOp(subject string) (op, error) {
	p.skipSpace()
	for _, s := range symbolicOps {
		if !strings.HasPrefix(p.src[p.pos:], s.text) {
			continue
		}
		end := p.pos + len(s.text)
		if s.word && end < len(p.src) && isWordByte(p.src[end]) {
			continue
		}
		p.pos = end
		return s.op, nil
	}
	start := p.pos
	w := strings.ToLower(p.word())
	if w == "not" && p.keyword("", "in") {
		return opNotIn, nil
	}
	if o, ok := wordOps[w]; ok {
		return o, nil
	}
	p.pos = start
	return "", p.errorf("expected an operator after %s, found %q", subject, p.rest(16))
}

func (p *parser) parseList() ([]string, error) {
	if !p.keyword("[") {
		return nil, p.errorf("in and not_in need a list such as [a, b]")
	}
	var out []string
	for {
		v, err := p.value(true)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if p.keyword("]") {
			return out, nil
		}
		if !p.keyword(",") {
			return nil, p.errorf("expected ',' or ']' in a list")
		}
	}
}

// value reads a quoted string or a bare word. A bare word ends at white space, at "&&"
// or "||", at a ')' that closes a group (a regular expression may hold balanced
// parentheses), and inside a list at ',' or ']'.
func (p *parser) value(inList bool) (string, error) {
	p.skipSpace()
	if p.eof() {
		return "", p.errorf("expected a value")
	}
	if q := p.src[p.pos]; q == '"' || q == '\'' {
		return p.quoted(q)
	}
	start, depth := p.pos, 0
loop:
	for ; !p.eof(); p.pos++ {
		c := p.src[p.pos]
		switch {
		case isSpace(c):
			break loop
		case inList && (c == ',' || c == ']'):
			break loop
		case c == '(':
			depth++
		case c == ')':
			if depth == 0 {
				break loop
			}
			depth--
		case strings.HasPrefix(p.src[p.pos:], "&&"), strings.HasPrefix(p.src[p.pos:], "||"):
			break loop
		}
	}
	if p.pos == start {
		return "", p.errorf("expected a value, found %q", p.rest(16))
	}
	return p.src[start:p.pos], nil
}

func (p *parser) quoted(q byte) (string, error) {
	start := p.pos
	p.pos++
	var b strings.Builder
	for ; !p.eof(); p.pos++ {
		c := p.src[p.pos]
		switch {
		case c == '\\' && p.pos+1 < len(p.src):
			p.pos++
			b.WriteByte(p.src[p.pos])
		case c == q:
			p.pos++
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	p.pos = start
	return "", p.errorf("unterminated quoted value")
}

// word reads a subject or operator word: everything up to white space or punctuation
// that starts an operator, a group or a list.
func (p *parser) word() string {
	start := p.pos
	for !p.eof() && isWordByte(p.src[p.pos]) {
		p.pos++
	}
	return p.src[start:p.pos]
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isWordByte(c byte) bool {
	return !isSpace(c) && !strings.ContainsRune("()[],&|=!<>~\"'", rune(c))
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
