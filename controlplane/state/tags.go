package state

import (
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
)

// Tag is a resource tag, in the API's shape.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Tag limits of the ECS API (the model's documentation of Tag).
const (
	MaxTags        = 50
	MaxTagKeyLen   = 128
	MaxTagValueLen = 256
)

// ValidateTags checks tags given in one request against the API's restrictions: keys of 1 to
// 128 characters, unique within the request, values up to 256 characters, no reserved
// `aws:` prefix, at most 50 tags.
func ValidateTags(tags []Tag) error {
	if len(tags) > MaxTags {
		return awserr.InvalidParameter("A resource can have at most %d tags.", MaxTags)
	}
	seen := map[string]bool{}
	for _, t := range tags {
		n := utf8.RuneCountInString(t.Key)
		if n < 1 || n > MaxTagKeyLen {
			return awserr.InvalidParameter("Tag keys must be between 1 and %d characters.", MaxTagKeyLen)
		}
		if utf8.RuneCountInString(t.Value) > MaxTagValueLen {
			return awserr.InvalidParameter("Tag values must be at most %d characters.", MaxTagValueLen)
		}
		if reserved(t.Key) || reserved(t.Value) {
			return awserr.InvalidParameter("The aws: prefix is reserved for AWS use and cannot be used in tag keys or values.")
		}
		if seen[t.Key] {
			return awserr.InvalidParameter("Tag keys must be unique: %q is given twice.", t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}

func reserved(s string) bool {
	return len(s) >= 4 && strings.EqualFold(s[:4], "aws:")
}

// mergeTags returns base with every tag of add set on it: a key already present takes the
// new value in place, new keys are appended in order. It refuses a result over the limit.
func mergeTags(base, add []Tag) ([]Tag, error) {
	out := slices.Clone(base)
	for _, t := range add {
		i := slices.IndexFunc(out, func(o Tag) bool { return o.Key == t.Key })
		if i >= 0 {
			out[i].Value = t.Value
			continue
		}
		out = append(out, t)
	}
	if len(out) > MaxTags {
		return nil, awserr.InvalidParameter("A resource can have at most %d tags.", MaxTags)
	}
	return out, nil
}

// ListTags returns the tags of the resource named by arn (a cluster, container instance,
// task definition revision or task). Errors: InvalidParameterException for an ARN that is
// malformed or names a kind of resource the control plane does not hold,
// ClusterNotFoundException for a cluster (or a resource in a cluster) that does not exist,
// ResourceNotFoundException for any other unknown resource.
func (s *Store) ListTags(arn string) ([]Tag, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tags, err := s.tagsLocked(arn)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(*tags)
	if out == nil {
		out = []Tag{}
	}
	return out, nil
}

// TagResource sets tags on a resource; tags it already has and that are not named keep
// their values. Errors as ListTags, plus InvalidParameterException for invalid tags.
func (s *Store) TagResource(arn string, tags []Tag) error {
	if len(tags) == 0 {
		return awserr.InvalidParameter("tags can not be empty.")
	}
	if err := ValidateTags(tags); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.tagsLocked(arn)
	if err != nil {
		return err
	}
	merged, err := mergeTags(*cur, tags)
	if err != nil {
		return err
	}
	*cur = merged
	return s.saveLocked()
}

// UntagResource removes the tags with the given keys; keys the resource does not have are
// ignored. Errors as ListTags.
func (s *Store) UntagResource(arn string, keys []string) error {
	if len(keys) == 0 {
		return awserr.InvalidParameter("tagKeys can not be empty.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.tagsLocked(arn)
	if err != nil {
		return err
	}
	*cur = slices.DeleteFunc(*cur, func(t Tag) bool { return slices.Contains(keys, t.Key) })
	return s.saveLocked()
}

// tagsLocked finds the tag list of the resource named by arn. ARNs are looked up exactly:
// the store only ever hands out ARNs of its own region and account, so an ARN of another
// region or account is simply unknown.
func (s *Store) tagsLocked(arn string) (*[]Tag, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "ecs" || parts[5] == "" {
		return nil, awserr.InvalidParameter("Invalid identifier: %q is not an Amazon ECS ARN.", arn)
	}
	kind, rest, _ := strings.Cut(parts[5], "/")
	switch kind {
	case "cluster":
		if c := s.clusters[arn]; c != nil && c.Status == StatusActive {
			return &c.Tags, nil
		}
		return nil, awserr.ClusterNotFound()
	case "container-instance":
		if i := s.instances[arn]; i != nil {
			return &i.Tags, nil
		}
		return nil, s.missingInClusterLocked(rest, "container instance", arn)
	case "task":
		if t := s.tasks[arn]; t != nil {
			return &t.Tags, nil
		}
		return nil, s.missingInClusterLocked(rest, "task", arn)
	case "task-definition":
		if !strings.Contains(rest, ":") {
			return nil, awserr.InvalidParameter("Invalid identifier: the task definition ARN %q has no revision.", arn)
		}
		if d := s.taskDefs[arn]; d != nil {
			return &d.Tags, nil
		}
		return nil, resourceNotFound("task definition", arn)
	case "service", "task-set", "capacity-provider":
		// Kinds ECS can tag but this control plane never creates: necessarily unknown.
		return nil, resourceNotFound(strings.ReplaceAll(kind, "-", " "), arn)
	}
	return nil, awserr.InvalidParameter("Invalid identifier: resource type %q of %q cannot be tagged.", kind, arn)
}

// missingInClusterLocked is the error for an unknown task or instance whose ARN part after
// the type is rest ("cluster/id" in the long ARN format): ClusterNotFoundException when that
// cluster does not exist, else ResourceNotFoundException.
func (s *Store) missingInClusterLocked(rest, what, arn string) error {
	if cluster, _, ok := strings.Cut(rest, "/"); ok {
		if c := s.clusters[s.ClusterArn(cluster)]; c == nil || c.Status != StatusActive {
			return awserr.ClusterNotFound()
		}
	}
	return resourceNotFound(what, arn)
}

func resourceNotFound(what, arn string) error {
	return awserr.New(awserr.CodeResourceNotFound, http.StatusBadRequest, "The specified %s %s was not found.", what, arn)
}
