package state

import (
	"slices"
	"sort"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
)

// ClusterStats are the counts DescribeClusters reports.
type ClusterStats struct {
	RegisteredInstances int
	RunningTasks        int
	PendingTasks        int
}

// CreateCluster creates (or reactivates) a cluster with the given tags. Creating an ACTIVE
// one returns it unchanged, tags included: CreateCluster is idempotent, and changing the tags
// of an existing cluster is TagResource's job.
func (s *Store) CreateCluster(name string, tags []Tag) (Cluster, error) {
	if name == "" {
		name = "default"
	}
	if !validName(name) {
		return Cluster{}, awserr.InvalidParameter("Cluster name can only contain letters, numbers, hyphens and underscores, up to 255 characters.")
	}
	if err := ValidateTags(tags); err != nil {
		return Cluster{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	arn := s.ClusterArn(name)
	c := s.clusters[arn]
	if c != nil && c.Status == StatusActive {
		return clone(*c), nil
	}
	c = &Cluster{Name: name, Arn: arn, Status: StatusActive, CreatedAt: s.now(), Tags: slices.Clone(tags)}
	s.clusters[arn] = c
	return clone(*c), s.saveLocked()
}

func validName(name string) bool {
	if len(name) == 0 || len(name) > 255 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// DescribeClusters returns the named clusters (ACTIVE or INACTIVE) and a MISSING
// failure for each unknown one. No references means "default".
func (s *Store) DescribeClusters(refs []string) ([]Cluster, []ClusterStats, []Failure) {
	if len(refs) == 0 {
		refs = []string{"default"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Cluster
	var stats []ClusterStats
	var failures []Failure
	for _, ref := range refs {
		c := s.clusters[s.ClusterArn(clusterNameOf(ref))]
		if c == nil {
			failures = append(failures, Failure{Arn: s.ClusterArn(clusterNameOf(ref)), Reason: "MISSING"})
			continue
		}
		out = append(out, clone(*c))
		stats = append(stats, s.clusterStatsLocked(c.Arn))
	}
	return out, stats, failures
}

func (s *Store) clusterStatsLocked(arn string) ClusterStats {
	var st ClusterStats
	for _, i := range s.instances {
		if i.ClusterArn == arn && i.Status != StatusInactive {
			st.RegisteredInstances++
		}
	}
	for _, t := range s.tasks {
		if t.ClusterArn != arn {
			continue
		}
		switch t.LastStatus {
		case StatusRunning:
			st.RunningTasks++
		case StatusProvisioning, StatusPending:
			st.PendingTasks++
		}
	}
	return st
}

// ListClusters returns the ARNs of ACTIVE clusters, sorted.
func (s *Store) ListClusters() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for arn, c := range s.clusters {
		if c.Status == StatusActive {
			out = append(out, arn)
		}
	}
	sort.Strings(out)
	return out
}

// DeleteCluster marks a cluster INACTIVE; it must hold no registered instance and no
// task that is not STOPPED.
func (s *Store) DeleteCluster(ref string) (Cluster, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.activeClusterLocked(ref, awserr.ClusterNotFound())
	if err != nil {
		return Cluster{}, err
	}
	st := s.clusterStatsLocked(c.Arn)
	if st.RegisteredInstances > 0 {
		return Cluster{}, awserr.New(awserr.CodeClusterContainsInstances, 400, "The Cluster cannot be deleted while Container Instances are active or draining.")
	}
	if st.RunningTasks+st.PendingTasks > 0 {
		return Cluster{}, awserr.New(awserr.CodeClusterContainsTasks, 400, "The Cluster cannot be deleted while Tasks are active.")
	}
	c.Status = StatusInactive
	c.Tags = nil // the tags of a deleted resource are deleted with it (TagResource's documentation)
	return clone(*c), s.saveLocked()
}
