package dockerexec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/logger"
)

// Task cgroups (ECS_ENABLE_TASK_CPU_MEM_LIMIT). Each task gets a cgroup holding its
// task-level limits, and its containers are created with it as their cgroup parent,
// so that the kernel holds the task as a whole to its CPU and memory:
//
//	cgroup v1, cgroupfs driver   parent /ecs/<task-id>: <root>/cpu/ecs/<id>, <root>/memory/ecs/<id>
//	cgroup v2, cgroupfs driver   parent /ecs/<task-id>: <root>/ecs/<id> (cpu, memory enabled in ecs/)
//	systemd driver               parent ecstasks-<task-id>.slice: made by systemd, which this agent
//	                             does not drive; tasks run without a task cgroup
//
// A host where the agent cannot make cgroups (not root, a read-only or missing
// ECS_CGROUP_PATH, the systemd driver) is told once, with the reason, at warn
// level; its tasks run without a task cgroup and never fail for it.

// cgroupMode is how task cgroups are made on this host.
type cgroupMode int

const (
	cgroupUnmanaged cgroupMode = iota
	cgroupV1
	cgroupV2
)

// cgroupPrefix is the real agent's parent of every task cgroup under cgroupfs.
const cgroupPrefix = "/ecs"

// systemdSlicePrefix is the real agent's parent slice name of task cgroups under
// the systemd driver.
const systemdSlicePrefix = "ecstasks"

// cgroupController manages the host's task cgroups. It learns the mode on first
// use (it needs the engine's answer) and keeps it.
type cgroupController struct {
	root string
	// euid is os.Geteuid, replaced in tests.
	euid func() int

	mu     sync.Mutex
	known  bool
	mode   cgroupMode
	reason string // why unmanaged
}

func newCgroupController(root string) *cgroupController {
	if root == "" {
		root = "/sys/fs/cgroup"
	}
	return &cgroupController{root: root, euid: os.Geteuid}
}

// cgroupParent is the parent a task's containers get, by cgroup driver.
func cgroupParent(driver, taskID string) string {
	if driver == "systemd" {
		return systemdSlicePrefix + "-" + taskID + ".slice"
	}
	return cgroupPrefix + "/" + taskID
}

// detect decides the mode from the engine's cgroup driver and version and from
// what this process may do under root. An engine that does not answer is an error
// (the caller retries); everything else is decided once.
func (c *cgroupController) detect(ctx context.Context, eng Engine, log zerolog.Logger) (cgroupMode, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.known {
		return c.mode, c.reason, nil
	}
	info, err := eng.Info(ctx)
	if err != nil {
		return cgroupUnmanaged, "", engineError(err, bus.CodeInternal, false, "asking the Docker engine for its cgroup driver")
	}
	c.mode, c.reason = c.decide(info.CgroupDriver, info.CgroupVersion)
	c.known = true
	if c.mode == cgroupUnmanaged {
		log.Warn().Str("cgroup_path", c.root).Str("cgroup_driver", info.CgroupDriver).Str("cgroup_version", info.CgroupVersion).
			Str("reason", c.reason).Msg("task cgroups disabled: tasks run without task-level CPU and memory limits")
	} else {
		log.Info().Str("cgroup_path", c.root).Str("cgroup_driver", info.CgroupDriver).Str("cgroup_version", info.CgroupVersion).
			Msg("task cgroups enabled")
	}
	return c.mode, c.reason, nil
}

func (c *cgroupController) decide(driver, version string) (cgroupMode, string) {
	if driver == "systemd" {
		return cgroupUnmanaged, "the Docker engine uses the systemd cgroup driver: task cgroups would be systemd slices " +
			"(" + systemdSlicePrefix + "-<task-id>.slice), which this agent does not create; use the cgroupfs driver " +
			"(dockerd --exec-opt native.cgroupdriver=cgroupfs) or ECS_ENABLE_TASK_CPU_MEM_LIMIT=false"
	}
	if driver != "" && driver != "cgroupfs" {
		return cgroupUnmanaged, fmt.Sprintf("the Docker engine's cgroup driver %q is neither cgroupfs nor systemd", driver)
	}
	if uid := c.euid(); uid != 0 {
		return cgroupUnmanaged, fmt.Sprintf("dockerexec runs as uid %d, not root, and cannot create cgroups under %s", uid, c.root)
	}
	mode, probe := cgroupV1, filepath.Join(c.root, "memory")
	if version == "2" {
		mode, probe = cgroupV2, c.root
		if _, err := os.Stat(filepath.Join(c.root, "cgroup.controllers")); err != nil {
			return cgroupUnmanaged, fmt.Sprintf("the engine uses cgroup v2 but ECS_CGROUP_PATH=%s is not a cgroup v2 mount: %v", c.root, err)
		}
	} else {
		for _, ctrl := range []string{"cpu", "memory"} {
			if st, err := os.Stat(filepath.Join(c.root, ctrl)); err != nil || !st.IsDir() {
				return cgroupUnmanaged, fmt.Sprintf("the engine uses cgroup v1 but ECS_CGROUP_PATH=%s has no %s controller (%v)", c.root, ctrl, err)
			}
		}
	}
	// The parent of every task cgroup is made now: this is where a read-only or
	// foreign cgroup file system shows.
	if err := os.MkdirAll(filepath.Join(probe, cgroupPrefix), 0o755); err != nil {
		why := "cannot be written"
		if errors.Is(err, syscall.EROFS) {
			why = "is read-only"
		} else if errors.Is(err, os.ErrPermission) {
			why = "is not writable by dockerexec"
		}
		return cgroupUnmanaged, fmt.Sprintf("ECS_CGROUP_PATH=%s %s: %v", c.root, why, err)
	}
	return mode, ""
}

// dirs are the directories of a task's cgroup.
func (c *cgroupController) dirs(mode cgroupMode, taskID string) []string {
	if mode == cgroupV2 {
		return []string{filepath.Join(c.root, cgroupPrefix, taskID)}
	}
	return []string{
		filepath.Join(c.root, "cpu", cgroupPrefix, taskID),
		filepath.Join(c.root, "memory", cgroupPrefix, taskID),
	}
}

// limitFiles are the control files (and their contents) that carry a request's
// limits, by the directory they belong in.
func limitFiles(mode cgroupMode, req bus.CgroupCreateRequest) []struct{ ctrl, file, value string } {
	type f = struct{ ctrl, file, value string }
	var out []f
	if mode == cgroupV2 {
		switch {
		case req.CPUQuota > 0 && req.CPUPeriod > 0:
			out = append(out, f{"", "cpu.max", fmt.Sprintf("%d %d", req.CPUQuota, req.CPUPeriod)})
		case req.CPUShares > 0:
			out = append(out, f{"", "cpu.weight", strconv.FormatUint(sharesToWeight(req.CPUShares), 10)})
		}
		if req.MemoryBytes > 0 {
			out = append(out, f{"", "memory.max", strconv.FormatInt(req.MemoryBytes, 10)})
		}
		return out
	}
	switch {
	case req.CPUQuota > 0 && req.CPUPeriod > 0:
		// The period first: a quota is checked against the period in place.
		out = append(out, f{"cpu", "cpu.cfs_period_us", strconv.FormatUint(req.CPUPeriod, 10)},
			f{"cpu", "cpu.cfs_quota_us", strconv.FormatInt(req.CPUQuota, 10)})
	case req.CPUShares > 0:
		out = append(out, f{"cpu", "cpu.shares", strconv.FormatUint(req.CPUShares, 10)})
	}
	if req.MemoryBytes > 0 {
		out = append(out, f{"memory", "memory.limit_in_bytes", strconv.FormatInt(req.MemoryBytes, 10)})
	}
	return out
}

// sharesToWeight maps cgroup v1 CPU shares [2, 262144] onto cgroup v2 weights
// [1, 10000], as runc and systemd do.
func sharesToWeight(shares uint64) uint64 {
	shares = min(max(shares, minCPUShares), maxCPUShares)
	return 1 + ((shares-2)*9999)/262142
}

// create makes the task's cgroup with its limits; making it again rewrites the
// limits.
func (c *cgroupController) create(mode cgroupMode, taskID string, req bus.CgroupCreateRequest) error {
	if mode == cgroupV2 {
		// Controllers must be enabled in every ancestor's subtree for the task's
		// cgroup to have cpu.max and memory.max.
		for _, dir := range []string{c.root, filepath.Join(c.root, cgroupPrefix)} {
			if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+cpu +memory"), 0o644); err != nil {
				return fmt.Errorf("enabling the cpu and memory controllers in %s: %w", dir, err)
			}
		}
	}
	for _, dir := range c.dirs(mode, taskID) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating cgroup %s: %w", dir, err)
		}
	}
	for _, lf := range limitFiles(mode, req) {
		p := filepath.Join(c.root, lf.ctrl, cgroupPrefix, taskID, lf.file)
		if err := os.WriteFile(p, []byte(lf.value), 0o644); err != nil {
			return fmt.Errorf("setting %s to %s: %w", p, lf.value, err)
		}
	}
	return nil
}

// remove deletes the task's cgroup in every hierarchy that has it (under cgroup
// v1 the engine makes the task's directory in every controller for its
// containers). A cgroup that still holds a process or a child is an error the
// caller retries.
func (c *cgroupController) remove(mode cgroupMode, taskID string) error {
	dirs := c.dirs(mode, taskID)
	if mode == cgroupV1 {
		entries, err := os.ReadDir(c.root)
		if err != nil {
			return fmt.Errorf("listing %s: %w", c.root, err)
		}
		dirs = dirs[:0]
		for _, e := range entries {
			dirs = append(dirs, filepath.Join(c.root, e.Name(), cgroupPrefix, taskID))
		}
	}
	for _, dir := range dirs {
		if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing cgroup %s: %w", dir, err)
		}
	}
	return nil
}

// taskCgroupID is the task ID a cgroup is named by, refused when it could leave
// the task's directory.
func taskCgroupID(arn string) (string, error) {
	id := bus.TaskID(arn)
	if id == "" || bus.Token(id) != id {
		return "", badRequest("task ARN %q has no task ID usable as a cgroup name", arn)
	}
	return id, nil
}

func (s *Service) handleCgroupCreate(ctx context.Context, req bus.CgroupCreateRequest) (bus.CgroupReply, error) {
	id, err := taskCgroupID(req.TaskArn)
	if err != nil {
		return bus.CgroupReply{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	mode, why, err := s.cgroups.detect(ctx, s.docker, s.log)
	if err != nil {
		return bus.CgroupReply{}, err
	}
	log := s.log.With().Str(logger.FieldTaskARN, req.TaskArn).Logger()
	if mode == cgroupUnmanaged {
		log.Debug().Str("reason", why).Msg("task runs without a task cgroup")
		return bus.CgroupReply{Unmanaged: why}, nil
	}
	defer s.keys.lock("cgroup\x00" + id)()
	if err := s.cgroups.create(mode, id, req); err != nil {
		return bus.CgroupReply{}, bus.Errorf(bus.CodeResourceInit,
			"resource cannot be initialized for task %s: cgroup: %v", req.TaskArn, err)
	}
	parent := cgroupParent("cgroupfs", id)
	log.Info().Str("cgroup_parent", parent).Uint64("cpu_shares", req.CPUShares).Int64("cpu_quota_us", req.CPUQuota).
		Uint64("cpu_period_us", req.CPUPeriod).Int64("memory_bytes", req.MemoryBytes).Msg("task cgroup created")
	return bus.CgroupReply{Parent: parent}, nil
}

func (s *Service) handleCgroupRemove(ctx context.Context, req bus.CgroupRemoveRequest) (struct{}, error) {
	id, err := taskCgroupID(req.TaskArn)
	if err != nil {
		return struct{}{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	mode, _, err := s.cgroups.detect(ctx, s.docker, s.log)
	if err != nil || mode == cgroupUnmanaged {
		return struct{}{}, err
	}
	defer s.keys.lock("cgroup\x00" + id)()
	if err := s.cgroups.remove(mode, id); err != nil {
		return struct{}{}, bus.Errorf(bus.CodeInternal, "task %s: %v", req.TaskArn, err)
	}
	s.log.Info().Str(logger.FieldTaskARN, req.TaskArn).Msg("task cgroup removed")
	return struct{}{}, nil
}
