package controlplane

import (
	"net/http"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
	"github.com/ecs-agent/ecs-agent/controlplane/state"
)

// The tagging operations work on clusters, container instances, task definition revisions
// and tasks, named by ARN.

func (s *Server) listTagsForResource(_ *http.Request, body []byte) (any, error) {
	var in struct {
		ResourceArn string `json:"resourceArn"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.ResourceArn == "" {
		return nil, awserr.InvalidParameter("resourceArn can not be blank.")
	}
	tags, err := s.store.ListTags(in.ResourceArn)
	if awserr.IsCode(err, awserr.CodeResourceNotFound) {
		// The model lists no ResourceNotFoundException for ListTagsForResource: an unknown
		// resource is an invalid parameter there.
		return nil, awserr.InvalidParameter("%s", awserr.As(err).Message)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"tags": tags}, nil
}

func (s *Server) tagResource(_ *http.Request, body []byte) (any, error) {
	var in struct {
		ResourceArn string      `json:"resourceArn"`
		Tags        []state.Tag `json:"tags"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.ResourceArn == "" {
		return nil, awserr.InvalidParameter("resourceArn can not be blank.")
	}
	if err := s.store.TagResource(in.ResourceArn, in.Tags); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

func (s *Server) untagResource(_ *http.Request, body []byte) (any, error) {
	var in struct {
		ResourceArn string   `json:"resourceArn"`
		TagKeys     []string `json:"tagKeys"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.ResourceArn == "" {
		return nil, awserr.InvalidParameter("resourceArn can not be blank.")
	}
	if err := s.store.UntagResource(in.ResourceArn, in.TagKeys); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}
