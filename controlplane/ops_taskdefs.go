package controlplane

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
)

func (s *Server) registerTaskDefinition(_ *http.Request, body []byte) (any, error) {
	var probe map[string]json.RawMessage
	if err := decode(body, &probe); err != nil {
		return nil, err
	}
	d, err := s.store.RegisterTaskDefinition(body)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"taskDefinition": taskDefinitionView(d)}
	if len(d.Tags) > 0 {
		out["tags"] = d.Tags
	}
	return out, nil
}

func (s *Server) describeTaskDefinition(_ *http.Request, body []byte) (any, error) {
	var in struct {
		TaskDefinition string   `json:"taskDefinition"`
		Include        []string `json:"include"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.TaskDefinition == "" {
		return nil, awserr.Client("taskDefinition can not be blank.")
	}
	d, err := s.store.DescribeTaskDefinition(in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"taskDefinition": taskDefinitionView(d)}
	if slices.Contains(in.Include, "TAGS") {
		out["tags"] = tagsOut(d.Tags, true)
	}
	return out, nil
}

func (s *Server) listTaskDefinitions(_ *http.Request, body []byte) (any, error) {
	var in struct {
		pageInput
		FamilyPrefix string `json:"familyPrefix"`
		Status       string `json:"status"`
		Sort         string `json:"sort"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkDefinitionStatus(in.Status, false); err != nil {
		return nil, err
	}
	if in.Sort != "" && in.Sort != "ASC" && in.Sort != "DESC" {
		return nil, awserr.InvalidParameter("sort must be ASC or DESC.")
	}
	page, next, err := paginate(s.store.ListTaskDefinitions(in.FamilyPrefix, in.Status, in.Sort == "DESC"), in.pageInput)
	if err != nil {
		return nil, err
	}
	return map[string]any{"taskDefinitionArns": page, "nextToken": next}, nil
}

func (s *Server) listTaskDefinitionFamilies(_ *http.Request, body []byte) (any, error) {
	var in struct {
		pageInput
		FamilyPrefix string `json:"familyPrefix"`
		Status       string `json:"status"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkDefinitionStatus(in.Status, true); err != nil {
		return nil, err
	}
	page, next, err := paginate(s.store.ListTaskDefinitionFamilies(in.FamilyPrefix, in.Status), in.pageInput)
	if err != nil {
		return nil, err
	}
	return map[string]any{"families": page, "nextToken": next}, nil
}

func checkDefinitionStatus(status string, allowAll bool) error {
	switch {
	case status == "", status == "ACTIVE", status == "INACTIVE", allowAll && status == "ALL":
		return nil
	}
	return awserr.InvalidParameter("Invalid status %q.", status)
}

func (s *Server) deregisterTaskDefinition(_ *http.Request, body []byte) (any, error) {
	var in struct {
		TaskDefinition string `json:"taskDefinition"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	d, err := s.store.DeregisterTaskDefinition(in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	return map[string]any{"taskDefinition": taskDefinitionView(d)}, nil
}
