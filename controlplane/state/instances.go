package state

import (
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
	"github.com/ecs-agent/ecs-agent/controlplane/placement"
	"github.com/ecs-agent/ecs-agent/controlplane/query"
)

// Registration is the RegisterContainerInstance input the store uses.
type Registration struct {
	Cluster       string
	InstanceArn   string // set on re-registration
	EC2InstanceID string
	Attributes    []Attribute
	Resources     []Resource
	VersionInfo   json.RawMessage
	Tags          []Tag  // replace the instance's tags when given
	Zone          string // availability zone to report
}

// RegisterInstance registers (or re-registers) a container instance and returns it with
// every sent attribute plus ecs.availability-zone.
func (s *Store) RegisterInstance(r Registration) (Instance, error) {
	if err := ValidateTags(r.Tags); err != nil {
		return Instance{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.activeClusterLocked(r.Cluster, awserr.ClusterNotFoundClient())
	if err != nil {
		return Instance{}, err
	}
	attrs := make([]Attribute, 0, len(r.Attributes)+1)
	for _, a := range r.Attributes {
		if a.Name != "ecs.availability-zone" {
			attrs = append(attrs, a)
		}
	}
	zone := r.Zone
	attrs = append(attrs, Attribute{Name: "ecs.availability-zone", Value: &zone})

	var inst *Instance
	if r.InstanceArn != "" {
		if known := s.instances[r.InstanceArn]; known != nil && known.Status != StatusInactive && known.ClusterArn == c.Arn {
			inst = known
		} else if known == nil && s.instanceArnFits(r.InstanceArn, c.Name) {
			// An ARN this store never saw (a restart without snapshot): adopt it, since the
			// agent keeps using the ARN it saved whatever the answer says.
			inst = &Instance{Arn: r.InstanceArn, ClusterArn: c.Arn, RegisteredAt: s.now()}
			s.instances[inst.Arn] = inst
		}
	}
	if inst == nil {
		inst = &Instance{
			Arn:          s.arn("container-instance/" + c.Name + "/" + newID()),
			ClusterArn:   c.Arn,
			RegisteredAt: s.now(),
		}
		s.instances[inst.Arn] = inst
	}
	if inst.Status == "" || inst.Status == StatusInactive {
		inst.Status = StatusActive
	}
	inst.EC2InstanceID = r.EC2InstanceID
	inst.Attributes = attrs
	inst.Registered = r.Resources
	inst.VersionInfo = r.VersionInfo
	if len(r.Tags) > 0 {
		inst.Tags = slices.Clone(r.Tags)
	}
	inst.Version++
	return clone(*inst), s.saveLocked()
}

func (s *Store) instanceArnFits(arn, cluster string) bool {
	prefix := s.arn("container-instance/" + cluster + "/")
	id, ok := strings.CutPrefix(arn, prefix)
	return ok && len(id) > 0 && !strings.Contains(id, "/")
}

// instanceLocked resolves an instance reference (ARN or ID) within cluster c.
func (s *Store) instanceLocked(c *Cluster, ref string) *Instance {
	if i := s.instances[ref]; i != nil && i.ClusterArn == c.Arn {
		return i
	}
	id := lastPart(ref)
	for _, i := range s.instances {
		if i.ClusterArn == c.Arn && lastPart(i.Arn) == id {
			return i
		}
	}
	return nil
}

// DeregisterInstance marks an instance INACTIVE. With tasks still holding resources it
// refuses unless force is set; forced, those tasks are recorded as stopped.
func (s *Store) DeregisterInstance(cluster, ref string, force bool) (Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.activeClusterLocked(cluster, awserr.ClusterNotFound())
	if err != nil {
		return Instance{}, err
	}
	inst := s.instanceLocked(c, ref)
	if inst == nil || inst.Status == StatusInactive {
		return Instance{}, awserr.InvalidParameter("The referenced container instance %s was not found.", ref)
	}
	var live []*Task
	for _, t := range s.tasks {
		if t.InstanceArn == inst.Arn && t.LastStatus != StatusStopped {
			live = append(live, t)
		}
	}
	if len(live) > 0 && !force {
		return Instance{}, awserr.InvalidParameter("Container instance %s has %d task(s) that are not stopped. Stop them first or deregister with force.", inst.Arn, len(live))
	}
	now := s.now()
	for _, t := range live {
		t.DesiredStatus = StatusStopped
		t.LastStatus = StatusStopped
		t.Delivered = StatusStopped
		if t.StoppedReason == "" {
			t.StoppedReason = ReasonInstanceGone
		}
		t.StoppedAt = &now
		t.Held = false
		for i := range t.Containers {
			t.Containers[i].LastStatus = StatusStopped
		}
		t.Version++
	}
	inst.Status = StatusInactive
	inst.AgentConnected = false
	inst.Version++
	return clone(*inst), s.saveLocked()
}

// InstanceView is an instance with the numbers DescribeContainerInstances adds.
type InstanceView struct {
	Instance
	Remaining    []Resource
	RunningTasks int
	PendingTasks int
}

// DescribeInstances describes instances by ARN or ID; unknown ones become failures.
func (s *Store) DescribeInstances(cluster string, refs []string) ([]InstanceView, []Failure, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.activeClusterLocked(cluster, awserr.ClusterNotFound())
	if err != nil {
		return nil, nil, err
	}
	var out []InstanceView
	var failures []Failure
	for _, ref := range refs {
		inst := s.instanceLocked(c, ref)
		if inst == nil {
			failures = append(failures, Failure{Arn: ref, Reason: "MISSING"})
			continue
		}
		out = append(out, s.viewLocked(inst))
	}
	return out, failures, nil
}

func (s *Store) viewLocked(inst *Instance) InstanceView {
	v := InstanceView{Instance: clone(*inst)}
	cand := s.candidateLocked(inst)
	for _, r := range inst.Registered {
		rem := Resource{Name: r.Name, Type: r.Type}
		switch r.Name {
		case "CPU":
			rem.IntegerValue = cand.CPU
		case "MEMORY":
			rem.IntegerValue = cand.Memory
		case "PORTS":
			rem.StringSetValue = portList(cand.UsedTCP)
		case "PORTS_UDP":
			rem.StringSetValue = portList(cand.UsedUDP)
		default:
			rem = r
		}
		v.Remaining = append(v.Remaining, rem)
	}
	for _, t := range s.tasks {
		if t.InstanceArn != inst.Arn {
			continue
		}
		switch t.LastStatus {
		case StatusRunning:
			v.RunningTasks++
		case StatusProvisioning, StatusPending:
			v.PendingTasks++
		}
	}
	return v
}

func portList(ports map[int64]bool) []string {
	nums := make([]int64, 0, len(ports))
	for p := range ports {
		nums = append(nums, p)
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	out := make([]string, 0, len(nums))
	for _, p := range nums {
		out = append(out, strconv.FormatInt(p, 10))
	}
	return out
}

// candidateLocked computes what is left of an instance after the tasks it holds.
func (s *Store) candidateLocked(inst *Instance) placement.Candidate {
	c := placement.Candidate{Arn: inst.Arn, UsedTCP: map[int64]bool{}, UsedUDP: map[int64]bool{}, Attributes: queryAttributes(inst)}
	for _, r := range inst.Registered {
		switch r.Name {
		case "CPU":
			c.CPU = r.IntegerValue
		case "MEMORY":
			c.Memory = r.IntegerValue
		case "PORTS", "PORTS_UDP":
			for _, p := range r.StringSetValue {
				n, err := strconv.ParseInt(p, 10, 64)
				if err != nil {
					continue
				}
				if r.Name == "PORTS" {
					c.UsedTCP[n] = true
				} else {
					c.UsedUDP[n] = true
				}
			}
		}
	}
	for _, t := range s.tasks {
		if t.InstanceArn == inst.Arn && t.Held {
			placement.Take(&c, t.Holds)
		}
	}
	return c
}

// queryAttributes are what cluster queries see of an instance: every attribute it holds,
// the registered ones and ecs.availability-zone that RegisterInstance adds.
func queryAttributes(inst *Instance) query.Attributes {
	out := make(query.Attributes, len(inst.Attributes))
	for _, a := range inst.Attributes {
		v := ""
		if a.Value != nil {
			v = *a.Value
		}
		out[a.Name] = v
	}
	return out
}

// ListInstances lists instance ARNs of a cluster, optionally by status, and those that
// match filter (nil matches all).
func (s *Store) ListInstances(cluster, status string, filter *query.Query) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.activeClusterLocked(cluster, awserr.ClusterNotFound())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, i := range s.instances {
		if i.ClusterArn != c.Arn {
			continue
		}
		if status == "" && i.Status == StatusInactive || status != "" && i.Status != status {
			continue
		}
		if !filter.Match(queryAttributes(i)) {
			continue
		}
		out = append(out, i.Arn)
	}
	sort.Strings(out)
	return out, nil
}

// UpdateInstancesState sets ACTIVE or DRAINING on instances.
func (s *Store) UpdateInstancesState(cluster string, refs []string, status string) ([]InstanceView, []Failure, error) {
	if status != StatusActive && status != StatusDraining {
		return nil, nil, awserr.InvalidParameter("Container instance status should be one of [ACTIVE, DRAINING].")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.activeClusterLocked(cluster, awserr.ClusterNotFound())
	if err != nil {
		return nil, nil, err
	}
	var out []InstanceView
	var failures []Failure
	for _, ref := range refs {
		inst := s.instanceLocked(c, ref)
		if inst == nil || inst.Status == StatusInactive {
			failures = append(failures, Failure{Arn: ref, Reason: "MISSING"})
			continue
		}
		if inst.Status != status {
			inst.Status = status
			inst.Version++
		}
		out = append(out, s.viewLocked(inst))
	}
	return out, failures, s.saveLocked()
}

// Instance returns an instance by ARN.
func (s *Store) Instance(arn string) (Instance, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.instances[arn]
	if i == nil {
		return Instance{}, false
	}
	return clone(*i), true
}

// SetAgentConnected records whether the instance's ACS socket is open.
func (s *Store) SetAgentConnected(arn string, connected bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.instances[arn]; i != nil && i.AgentConnected != connected {
		i.AgentConnected = connected
	}
}

// VersionInfo is what an agent says of itself when it connects (the ACS URL's
// agentVersion, agentHash and dockerVersion), shown as the instance's versionInfo.
type VersionInfo struct {
	AgentVersion  string `json:"agentVersion,omitempty"`
	AgentHash     string `json:"agentHash,omitempty"`
	DockerVersion string `json:"dockerVersion,omitempty"`
}

// SetVersionInfo records the versions an instance's agent reported. Empty fields keep
// what was known.
func (s *Store) SetVersionInfo(arn string, v VersionInfo) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.instances[arn]
	if i == nil {
		return nil
	}
	var cur VersionInfo
	if len(i.VersionInfo) > 0 {
		_ = json.Unmarshal(i.VersionInfo, &cur)
	}
	if v.AgentVersion != "" {
		cur.AgentVersion = v.AgentVersion
	}
	if v.AgentHash != "" {
		cur.AgentHash = v.AgentHash
	}
	if v.DockerVersion != "" {
		cur.DockerVersion = v.DockerVersion
	}
	raw, err := json.Marshal(cur)
	if err != nil {
		return err
	}
	if string(raw) == string(i.VersionInfo) {
		return nil
	}
	i.VersionInfo = raw
	return s.saveLocked()
}
