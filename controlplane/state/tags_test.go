package state

import (
	"slices"
	"testing"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
)

func TestMergeTags(t *testing.T) {
	full := make([]Tag, MaxTags)
	for i := range full {
		full[i] = Tag{Key: string(rune('A' + i))}
	}
	tests := []struct {
		name    string
		base    []Tag
		add     []Tag
		want    []Tag
		wantErr bool
	}{
		{"onto nothing", nil, []Tag{{"a", "1"}}, []Tag{{"a", "1"}}, false},
		{"same key replaced in place", []Tag{{"a", "1"}, {"b", "2"}}, []Tag{{"a", "9"}, {"c", "3"}}, []Tag{{"a", "9"}, {"b", "2"}, {"c", "3"}}, false},
		{"replacing at the limit is fine", full, []Tag{{"A", "x"}}, nil, false},
		{"one over the limit", full, []Tag{{"new", ""}}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mergeTags(tc.base, tc.add)
			if tc.wantErr {
				if !awserr.IsCode(err, awserr.CodeInvalidParameter) {
					t.Fatalf("error = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != nil && !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	base := []Tag{{"a", "1"}}
	_, _ = mergeTags(base, []Tag{{"a", "2"}})
	if base[0].Value != "1" {
		t.Fatal("mergeTags changed its input")
	}
}
