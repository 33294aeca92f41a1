package controlplane

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
	"github.com/ecs-agent/ecs-agent/controlplane/state"
)

func (s *Server) createCluster(_ *http.Request, body []byte) (any, error) {
	var in struct {
		ClusterName string      `json:"clusterName"`
		Tags        []state.Tag `json:"tags"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	c, err := s.store.CreateCluster(in.ClusterName, in.Tags)
	if err != nil {
		return nil, err
	}
	_, stats, _ := s.store.DescribeClusters([]string{c.Arn})
	return map[string]any{"cluster": clusterView(c, stats[0], true)}, nil
}

func (s *Server) describeClusters(_ *http.Request, body []byte) (any, error) {
	var in struct {
		Clusters []string `json:"clusters"`
		Include  []string `json:"include"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Clusters) > 100 {
		return nil, awserr.InvalidParameter("Clusters cannot be longer than 100.")
	}
	cs, stats, failures := s.store.DescribeClusters(in.Clusters)
	out := make([]clusterOut, 0, len(cs))
	for i, c := range cs {
		out = append(out, clusterView(c, stats[i], slices.Contains(in.Include, "TAGS")))
	}
	return map[string]any{"clusters": out, "failures": failuresOut(failures)}, nil
}

func (s *Server) listClusters(_ *http.Request, body []byte) (any, error) {
	var in pageInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	page, next, err := paginate(s.store.ListClusters(), in)
	if err != nil {
		return nil, err
	}
	return map[string]any{"clusterArns": page, "nextToken": next}, nil
}

func (s *Server) deleteCluster(_ *http.Request, body []byte) (any, error) {
	var in struct {
		Cluster string `json:"cluster"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Cluster == "" {
		return nil, awserr.InvalidParameter("cluster can not be blank.")
	}
	c, err := s.store.DeleteCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	_, stats, _ := s.store.DescribeClusters([]string{c.Arn})
	return map[string]any{"cluster": clusterView(c, stats[0], false)}, nil
}

// pageInput is the pagination part of List* requests.
type pageInput struct {
	NextToken  string `json:"nextToken"`
	MaxResults *int   `json:"maxResults"`
}

// paginate cuts a page out of a stable list; the token encodes the offset. A nil next
// token is omitted from the answer.
func paginate(all []string, in pageInput) ([]string, *string, error) {
	limit := 100
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 100 {
			return nil, nil, awserr.InvalidParameter("maxResults must be between 1 and 100.")
		}
		limit = *in.MaxResults
	}
	start := 0
	if in.NextToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		n, err2 := strconv.Atoi(string(raw))
		if err != nil || err2 != nil || n < 0 || n > len(all) {
			return nil, nil, awserr.InvalidParameter("Invalid nextToken.")
		}
		start = n
	}
	end := min(start+limit, len(all))
	page := all[start:end]
	if page == nil {
		page = []string{}
	}
	if end < len(all) {
		tok := base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
		return page, &tok, nil
	}
	return page, nil, nil
}
