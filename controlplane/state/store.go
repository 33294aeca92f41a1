package state

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ecs-agent/ecs-agent/controlplane/awserr"
)

// Options configures a Store.
type Options struct {
	Region       string
	Account      string
	SnapshotPath string           // "" keeps everything in memory only
	Now          func() time.Time // nil means time.Now
}

// Store owns every record. All methods are safe for concurrent use.
type Store struct {
	opts Options

	mu        sync.Mutex
	clusters  map[string]*Cluster        // by ARN
	instances map[string]*Instance       // by ARN
	taskDefs  map[string]*TaskDefinition // by ARN
	tasks     map[string]*Task           // by ARN
	received  map[string][]Received      // by task ARN; memory only (see Received)
}

// snapshot is the file format.
type snapshot struct {
	Clusters  []*Cluster        `json:"clusters"`
	Instances []*Instance       `json:"instances"`
	TaskDefs  []*TaskDefinition `json:"taskDefinitions"`
	Tasks     []*Task           `json:"tasks"`
}

// New builds a store, loading the snapshot file when one exists.
func New(opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{
		opts:      opts,
		clusters:  map[string]*Cluster{},
		instances: map[string]*Instance{},
		taskDefs:  map[string]*TaskDefinition{},
		tasks:     map[string]*Task{},
		received:  map[string][]Received{},
	}
	if opts.SnapshotPath == "" {
		return s, nil
	}
	raw, err := os.ReadFile(opts.SnapshotPath)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading snapshot: %w", err)
	}
	var snap snapshot
	if err := json.Unmarshal(raw, &snap); err != nil {
		return nil, fmt.Errorf("decoding snapshot %s: %w", opts.SnapshotPath, err)
	}
	for _, c := range snap.Clusters {
		s.clusters[c.Arn] = c
	}
	for _, i := range snap.Instances {
		i.AgentConnected = false // no socket survives a restart
		s.instances[i.Arn] = i
	}
	for _, d := range snap.TaskDefs {
		s.taskDefs[d.Arn] = d
	}
	for _, t := range snap.Tasks {
		s.tasks[t.Arn] = t
	}
	return s, nil
}

// saveLocked writes the snapshot; the caller holds s.mu.
func (s *Store) saveLocked() error {
	if s.opts.SnapshotPath == "" {
		return nil
	}
	snap := snapshot{
		Clusters:  sortedValues(s.clusters),
		Instances: sortedValues(s.instances),
		TaskDefs:  sortedValues(s.taskDefs),
		Tasks:     sortedValues(s.tasks),
	}
	raw, err := json.MarshalIndent(snap, "", " ")
	if err != nil {
		return fmt.Errorf("encoding snapshot: %w", err)
	}
	dir := filepath.Dir(s.opts.SnapshotPath)
	tmp, err := os.CreateTemp(dir, ".snapshot-*")
	if err != nil {
		return fmt.Errorf("writing snapshot: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return fmt.Errorf("writing snapshot: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing snapshot: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing snapshot: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.opts.SnapshotPath); err != nil {
		return fmt.Errorf("writing snapshot: %w", err)
	}
	return nil
}

// Save writes the snapshot now (used on shutdown).
func (s *Store) Save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveLocked()
}

func sortedValues[T any](m map[string]*T) []*T {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*T, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}

func (s *Store) arn(resource string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:%s", s.opts.Region, s.opts.Account, resource)
}

// ClusterArn is the ARN of the cluster named name.
func (s *Store) ClusterArn(name string) string { return s.arn("cluster/" + name) }

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// newUUID returns a random (version 4) UUID, the form of ECS credentials IDs.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// clusterNameOf accepts a name or an ARN and returns the name; "" means "default".
func clusterNameOf(ref string) string {
	if ref == "" {
		return "default"
	}
	if strings.HasPrefix(ref, "arn:") {
		if i := strings.LastIndex(ref, ":cluster/"); i >= 0 {
			return ref[i+len(":cluster/"):]
		}
	}
	return ref
}

// activeClusterLocked resolves a cluster reference to an ACTIVE cluster.
func (s *Store) activeClusterLocked(ref string, notFound *awserr.Error) (*Cluster, error) {
	c := s.clusters[s.ClusterArn(clusterNameOf(ref))]
	if c == nil || c.Status != StatusActive {
		return nil, notFound
	}
	return c, nil
}

func (s *Store) now() time.Time { return s.opts.Now().UTC() }

// lastPart returns what follows the last "/" of an ARN (an ID), or ref itself.
func lastPart(ref string) string {
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		return ref[i+1:]
	}
	return ref
}
