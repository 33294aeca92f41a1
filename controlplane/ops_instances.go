package controlplane

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
	"github.com/ecs-agent/ecs-agent/controlplane/query"
	"github.com/ecs-agent/ecs-agent/controlplane/state"
)

func (s *Server) registerContainerInstance(_ *http.Request, body []byte) (any, error) {
	var in struct {
		Cluster                  string            `json:"cluster"`
		ContainerInstanceArn     string            `json:"containerInstanceArn"`
		InstanceIdentityDocument string            `json:"instanceIdentityDocument"`
		TotalResources           []state.Resource  `json:"totalResources"`
		Attributes               []state.Attribute `json:"attributes"`
		VersionInfo              json.RawMessage   `json:"versionInfo"`
		Tags                     []state.Tag       `json:"tags"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	for _, a := range in.Attributes {
		if a.Name == "" {
			return nil, awserr.InvalidParameter("Attribute name can not be blank.")
		}
	}
	var iid struct {
		InstanceID string `json:"instanceId"`
	}
	if in.InstanceIdentityDocument != "" {
		_ = json.Unmarshal([]byte(in.InstanceIdentityDocument), &iid) // optional: the ID only labels the instance
	}
	inst, err := s.store.RegisterInstance(state.Registration{
		Cluster:       in.Cluster,
		InstanceArn:   in.ContainerInstanceArn,
		EC2InstanceID: iid.InstanceID,
		Attributes:    in.Attributes,
		Resources:     in.TotalResources,
		VersionInfo:   in.VersionInfo,
		Tags:          in.Tags,
		Zone:          s.zone(),
	})
	if err != nil {
		return nil, err
	}
	views, _, err := s.store.DescribeInstances(inst.ClusterArn, []string{inst.Arn})
	if err != nil || len(views) != 1 {
		return nil, awserr.Server("describing the registered instance: %v", err)
	}
	s.kick(inst.Arn)
	return map[string]any{"containerInstance": instanceView(views[0], true)}, nil
}

func (s *Server) deregisterContainerInstance(_ *http.Request, body []byte) (any, error) {
	var in struct {
		Cluster           string `json:"cluster"`
		ContainerInstance string `json:"containerInstance"`
		Force             bool   `json:"force"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.ContainerInstance == "" {
		return nil, awserr.InvalidParameter("containerInstance can not be blank.")
	}
	inst, err := s.store.DeregisterInstance(in.Cluster, in.ContainerInstance, in.Force)
	if err != nil {
		return nil, err
	}
	s.closeInactive(inst.Arn)
	return map[string]any{"containerInstance": instanceView(state.InstanceView{Instance: inst}, false)}, nil
}

func (s *Server) describeContainerInstances(_ *http.Request, body []byte) (any, error) {
	var in struct {
		Cluster            string   `json:"cluster"`
		ContainerInstances []string `json:"containerInstances"`
		Include            []string `json:"include"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.ContainerInstances) == 0 || len(in.ContainerInstances) > 100 {
		return nil, awserr.InvalidParameter("containerInstances must name between 1 and 100 instances.")
	}
	views, failures, err := s.store.DescribeInstances(in.Cluster, in.ContainerInstances)
	if err != nil {
		return nil, err
	}
	withTags := slices.Contains(in.Include, "TAGS")
	out := make([]instanceOut, 0, len(views))
	for _, v := range views {
		out = append(out, instanceView(v, withTags))
	}
	return map[string]any{"containerInstances": out, "failures": failuresOut(failures)}, nil
}

func (s *Server) listContainerInstances(_ *http.Request, body []byte) (any, error) {
	var in struct {
		pageInput
		Cluster string `json:"cluster"`
		Status  string `json:"status"`
		Filter  string `json:"filter"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var filter *query.Query
	if strings.TrimSpace(in.Filter) != "" {
		q, err := query.Parse(in.Filter)
		if err != nil {
			return nil, awserr.InvalidParameter("Invalid filter: %v", err)
		}
		filter = q
	}
	switch in.Status {
	case "", state.StatusActive, state.StatusDraining, state.StatusInactive, "REGISTERING", "DEREGISTERING", "REGISTRATION_FAILED":
	default:
		return nil, awserr.InvalidParameter("Invalid status %q.", in.Status)
	}
	arns, err := s.store.ListInstances(in.Cluster, in.Status, filter)
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(arns, in.pageInput)
	if err != nil {
		return nil, err
	}
	return map[string]any{"containerInstanceArns": page, "nextToken": next}, nil
}

func (s *Server) updateContainerInstancesState(_ *http.Request, body []byte) (any, error) {
	var in struct {
		Cluster            string   `json:"cluster"`
		ContainerInstances []string `json:"containerInstances"`
		Status             string   `json:"status"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	views, failures, err := s.store.UpdateInstancesState(in.Cluster, in.ContainerInstances, in.Status)
	if err != nil {
		return nil, err
	}
	out := make([]instanceOut, 0, len(views))
	for _, v := range views {
		out = append(out, instanceView(v, false))
	}
	return map[string]any{"containerInstances": out, "failures": failuresOut(failures)}, nil
}
