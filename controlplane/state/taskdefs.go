package state

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
	"github.com/ecs-agent/ecs-agent/controlplane/placement"
	"github.com/ecs-agent/ecs-agent/controlplane/taskdef"
)

// RegisterTaskDefinition stores a new revision of the family named in the input (the
// raw RegisterTaskDefinition request body).
func (s *Store) RegisterTaskDefinition(raw json.RawMessage) (TaskDefinition, error) {
	var def taskdef.Definition
	if err := json.Unmarshal(raw, &def); err != nil {
		return TaskDefinition{}, awserr.Client("Invalid task definition: %v", err)
	}
	if err := taskdef.Validate(def); err != nil {
		return TaskDefinition{}, err
	}
	if err := placement.CheckDefinition(def.PlacementConstraints); err != nil {
		return TaskDefinition{}, awserr.InvalidParameter("%v", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return TaskDefinition{}, awserr.Client("Invalid task definition: %v", err)
	}
	var tags []Tag
	if raw := fields["tags"]; len(raw) > 0 {
		if err := json.Unmarshal(raw, &tags); err != nil {
			return TaskDefinition{}, awserr.Client("Invalid tags: %v", err)
		}
		if err := ValidateTags(tags); err != nil {
			return TaskDefinition{}, err
		}
	}
	delete(fields, "tags")
	kept, _ := json.Marshal(fields)

	s.mu.Lock()
	defer s.mu.Unlock()
	rev := 0
	for _, d := range s.taskDefs {
		if d.Family == def.Family && d.Revision > rev {
			rev = d.Revision
		}
	}
	rev++
	td := &TaskDefinition{
		Arn:          s.arn("task-definition/" + def.Family + ":" + strconv.Itoa(rev)),
		Family:       def.Family,
		Revision:     rev,
		Status:       StatusActive,
		RegisteredAt: s.now(),
		Def:          def,
		Raw:          kept,
		Tags:         tags,
	}
	s.taskDefs[td.Arn] = td
	return clone(*td), s.saveLocked()
}

// taskDefLocked resolves "family" (latest ACTIVE revision), "family:revision" or an ARN.
func (s *Store) taskDefLocked(ref string) *TaskDefinition {
	if d := s.taskDefs[ref]; d != nil {
		return d
	}
	if strings.HasPrefix(ref, "arn:") {
		i := strings.LastIndex(ref, ":task-definition/")
		if i < 0 {
			return nil
		}
		ref = ref[i+len(":task-definition/"):]
	}
	family, rev, hasRev := strings.Cut(ref, ":")
	if hasRev {
		return s.taskDefs[s.arn("task-definition/"+family+":"+rev)]
	}
	var best *TaskDefinition
	for _, d := range s.taskDefs {
		if d.Family == family && d.Status == StatusActive && (best == nil || d.Revision > best.Revision) {
			best = d
		}
	}
	return best
}

// DescribeTaskDefinition returns one revision.
func (s *Store) DescribeTaskDefinition(ref string) (TaskDefinition, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.taskDefLocked(ref)
	if d == nil {
		return TaskDefinition{}, awserr.Client("Unable to describe task definition.")
	}
	return clone(*d), nil
}

// DeregisterTaskDefinition marks a revision INACTIVE; a revision is required.
func (s *Store) DeregisterTaskDefinition(ref string) (TaskDefinition, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !strings.HasPrefix(ref, "arn:") && !strings.Contains(ref, ":") {
		return TaskDefinition{}, awserr.Client("Invalid revision number. Number: %s", ref)
	}
	d := s.taskDefLocked(ref)
	if d == nil {
		return TaskDefinition{}, awserr.Client("The specified task definition does not exist.")
	}
	if d.Status != StatusInactive {
		now := s.now()
		d.Status = StatusInactive
		d.DeregisteredAt = &now
	}
	return clone(*d), s.saveLocked()
}

// ListTaskDefinitions lists revision ARNs by family prefix and status (default ACTIVE),
// by family then revision, descending when desc is set.
func (s *Store) ListTaskDefinitions(familyPrefix, status string, desc bool) []string {
	if status == "" {
		status = StatusActive
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var defs []*TaskDefinition
	for _, d := range s.taskDefs {
		if strings.HasPrefix(d.Family, familyPrefix) && d.Status == status {
			defs = append(defs, d)
		}
	}
	sort.Slice(defs, func(i, j int) bool {
		if defs[i].Family != defs[j].Family {
			return (defs[i].Family < defs[j].Family) != desc
		}
		return (defs[i].Revision < defs[j].Revision) != desc
	})
	out := make([]string, 0, len(defs))
	for _, d := range defs {
		out = append(out, d.Arn)
	}
	return out
}

// ListTaskDefinitionFamilies lists families by prefix: ACTIVE (some revision active),
// INACTIVE (none active) or ALL. No status means ALL: "By default, both ACTIVE and INACTIVE
// task definition families are listed" (the API reference), unlike ListTaskDefinitions,
// whose default is ACTIVE.
func (s *Store) ListTaskDefinitionFamilies(familyPrefix, status string) []string {
	if status == "" {
		status = "ALL"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	active := map[string]bool{}
	for _, d := range s.taskDefs {
		if strings.HasPrefix(d.Family, familyPrefix) {
			active[d.Family] = active[d.Family] || d.Status == StatusActive
		}
	}
	var out []string
	for f, a := range active {
		if status == "ALL" || (status == StatusActive) == a {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}
