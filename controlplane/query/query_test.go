package query

import (
	"errors"
	"strings"
	"testing"
)

var linux = Attributes{
	"ecs.os-type":           "linux",
	"ecs.availability-zone": "us-west-2a",
	"ecs.instance-type":     "t2.micro",
	"ecs.cpu-architecture":  "x86_64",
	"stack":                 "prod blue",
	"rank":                  "10",
	"com.amazonaws.ecs.capability.docker-remote-api.1.17": "",
}

func TestMatch(t *testing.T) {
	tests := []struct {
		expr string
		want bool
	}{
		{"attribute:ecs.os-type == linux", true},
		{"attribute:ecs.os-type == windows", false},
		{"attribute:ecs.os-type equals linux", true},
		{"attribute:ecs.os-type==linux", true},
		{"attribute:ecs.os-type != windows", true},
		{"attribute:ecs.os-type not_equals linux", false},
		{"attribute:missing != x", true},
		{"attribute:missing == x", false},
		{"attribute:com.amazonaws.ecs.capability.docker-remote-api.1.17 exists", true},
		{"attribute:missing exists", false},
		{"attribute:missing !exists", true},
		{"attribute:ecs.os-type not_exists", false},
		{"attribute:ecs.availability-zone in [us-west-2a, us-west-2b]", true},
		{"attribute:ecs.availability-zone in [us-west-2b,us-west-2c]", false},
		{"attribute:ecs.availability-zone not in [us-west-2b]", true},
		{"attribute:ecs.availability-zone not_in [us-west-2a]", false},
		{"attribute:ecs.availability-zone !in [us-west-2a]", false},
		{"attribute:missing not_in [a]", true},
		{"attribute:ecs.instance-type =~ t2.*", true},
		{"attribute:ecs.instance-type matches t2", false}, // the whole value must match
		{"attribute:ecs.instance-type =~ ^t2\\.(micro|small)$", true},
		{"attribute:ecs.instance-type !~ g2.*", true},
		{"(attribute:ecs.instance-type =~ t(2|3).micro)", true},
		{`attribute:stack == "prod blue"`, true},
		{`attribute:stack == 'prod blue'`, true},
		{`attribute:stack in ["prod blue", green]`, true},
		{`attribute:ecs.os-type == "linu\x"`, true},
		{"attribute:rank > 9", true},
		{"attribute:rank >= 10", true},
		{"attribute:rank less_than 9", false},
		{"attribute:rank <= 10.0", true},
		{"attribute:ecs.os-type > abc", true},
		{"attribute:missing > 0", false},
		{"attribute:ecs.os-type == linux and attribute:ecs.availability-zone == us-west-2a", true},
		{"attribute:ecs.os-type == linux && attribute:ecs.availability-zone == us-west-2b", false},
		{"attribute:ecs.os-type == windows or attribute:ecs.availability-zone == us-west-2a", true},
		{"attribute:ecs.os-type == windows || attribute:ecs.availability-zone == us-west-2b", false},
		// and binds tighter than or: true or (false and false).
		{"attribute:ecs.os-type == linux or attribute:x == 1 and attribute:y == 2", true},
		{"(attribute:ecs.os-type == linux or attribute:x == 1) and attribute:y == 2", false},
		{"attribute:x == 1 and attribute:y == 2 or attribute:ecs.os-type == linux", true},
		{"not attribute:ecs.os-type == windows", true},
		{"!(attribute:ecs.os-type == linux)", false},
		{"NOT (attribute:ecs.os-type == linux) OR attribute:rank == 10", true},
		{"((attribute:ecs.os-type == linux))", true},
		{"attribute:ecs.os-type==linux&&attribute:rank==10", true},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			q, err := Parse(tc.expr)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := q.Match(linux); got != tc.want {
				t.Fatalf("Match = %v, want %v", got, tc.want)
			}
			if q.String() != tc.expr {
				t.Errorf("String = %q", q.String())
			}
		})
	}
}

func TestNilQueryMatchesAll(t *testing.T) {
	var q *Query
	if !q.Match(nil) || q.String() != "" {
		t.Fatal("a nil query must match everything")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		expr string
		want error
	}{
		{"", ErrSyntax},
		{"   ", ErrSyntax},
		{"attribute:ecs.os-type", ErrSyntax},
		{"attribute:ecs.os-type ==", ErrSyntax},
		{"attribute: == linux", ErrSyntax},
		{"attribute:ecs.os-type === linux", ErrSyntax},
		{"attribute:ecs.os-type like linux", ErrSyntax},
		{"attribute:ecs.os-type in linux", ErrSyntax},
		{"attribute:ecs.os-type in [linux", ErrSyntax},
		{"attribute:ecs.os-type in []", ErrSyntax},
		{"attribute:ecs.os-type == linux and", ErrSyntax},
		{"attribute:ecs.os-type == linux or or attribute:a exists", ErrSyntax},
		{"(attribute:ecs.os-type == linux", ErrSyntax},
		{"attribute:ecs.os-type == linux)", ErrSyntax},
		{"attribute:ecs.os-type == linux attribute:a exists", ErrSyntax},
		{`attribute:ecs.os-type == "linux`, ErrSyntax},
		{"attribute:ecs.os-type =~ (", ErrSyntax},
		{"attribute:ecs.os-type =~ a[", ErrSyntax},
		{"os-type == linux", ErrSyntax},
		{"== linux", ErrSyntax},
		{strings.Repeat("(", 100) + "attribute:a exists" + strings.Repeat(")", 100), ErrSyntax},
		{"ec2InstanceId == i-123", ErrUnsupported},
		{"registeredAt > 2018-06-18", ErrUnsupported},
		{"task:group == web", ErrUnsupported},
		{"agentConnected == true", ErrUnsupported},
		{"agentVersion >= 1.20.0", ErrUnsupported},
		{"runningTasksCount == 0", ErrUnsupported},
		{"attribute:ecs.os-type == linux and task:group == web", ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			q, err := Parse(tc.expr)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %v, %v; want %v", q, err, tc.want)
			}
		})
	}
}

func TestUnsupportedMessageNamesSubject(t *testing.T) {
	_, err := Parse("ec2InstanceId in [i-1]")
	if err == nil || !strings.Contains(err.Error(), "ec2InstanceId") {
		t.Fatalf("error %v does not name the subject", err)
	}
}
