package dockerexec

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/services/dockerexec/dockerfake"
)

// fakeCgroupRoot lays out a cgroup mount in a temporary directory: v1 with one
// directory per controller, v2 with cgroup.controllers.
func fakeCgroupRoot(t *testing.T, version string) string {
	t.Helper()
	root := t.TempDir()
	if version == "2" {
		if err := os.WriteFile(filepath.Join(root, "cgroup.controllers"), []byte("cpu memory pids"), 0o644); err != nil {
			t.Fatal(err)
		}
		return root
	}
	for _, c := range []string{"cpu", "memory", "pids"} {
		if err := os.Mkdir(filepath.Join(root, c), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCgroupV1(t *testing.T) {
	root := fakeCgroupRoot(t, "1")
	c := newCgroupController(root)
	c.euid = func() int { return 0 }
	mode, why, err := c.detect(context.Background(), dockerfake.New(), zerolog.Nop())
	if err != nil || mode != cgroupV1 {
		t.Fatalf("mode %v (%s), %v", mode, why, err)
	}
	req := bus.CgroupCreateRequest{TaskArn: "arn:aws:ecs:r:1:task/c/t1", CPUQuota: 50000, CPUPeriod: 100000, MemoryBytes: 256 << 20}
	if err := c.create(mode, "t1", req); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(root, "cpu/ecs/t1/cpu.cfs_quota_us")); got != "50000" {
		t.Errorf("quota %q", got)
	}
	if got := read(t, filepath.Join(root, "cpu/ecs/t1/cpu.cfs_period_us")); got != "100000" {
		t.Errorf("period %q", got)
	}
	if got := read(t, filepath.Join(root, "memory/ecs/t1/memory.limit_in_bytes")); got != "268435456" {
		t.Errorf("memory %q", got)
	}
	// The engine makes the task's directory in the other controllers too; all go.
	if err := os.MkdirAll(filepath.Join(root, "pids/ecs/t1"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"cpu/ecs/t1/cpu.cfs_quota_us", "cpu/ecs/t1/cpu.cfs_period_us", "memory/ecs/t1/memory.limit_in_bytes"} {
		_ = os.Remove(filepath.Join(root, f)) // a real cgroup directory has no files to remove
	}
	if err := c.remove(mode, "t1"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"cpu", "memory", "pids"} {
		if _, err := os.Stat(filepath.Join(root, d, "ecs/t1")); !os.IsNotExist(err) {
			t.Errorf("%s/ecs/t1 left: %v", d, err)
		}
	}
	if err := c.remove(mode, "t1"); err != nil {
		t.Errorf("a second remove: %v", err)
	}
}

func TestCgroupV2(t *testing.T) {
	root := fakeCgroupRoot(t, "2")
	c := newCgroupController(root)
	c.euid = func() int { return 0 }
	eng := dockerfake.New()
	eng.SetCgroup("cgroupfs", "2")
	mode, why, err := c.detect(context.Background(), eng, zerolog.Nop())
	if err != nil || mode != cgroupV2 {
		t.Fatalf("mode %v (%s), %v", mode, why, err)
	}
	if err := c.create(mode, "t2", bus.CgroupCreateRequest{CPUShares: 1024, MemoryBytes: 64 << 20}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(root, "ecs/t2/cpu.weight")); got != "39" {
		t.Errorf("cpu.weight %q, want 39 (1024 shares)", got)
	}
	if got := read(t, filepath.Join(root, "ecs/t2/memory.max")); got != "67108864" {
		t.Errorf("memory.max %q", got)
	}
	if got := read(t, filepath.Join(root, "ecs/cgroup.subtree_control")); got != "+cpu +memory" {
		t.Errorf("subtree_control %q", got)
	}
}

func TestCgroupsUnmanaged(t *testing.T) {
	cases := []struct {
		name, driver, version string
		root                  func(t *testing.T) string
		uid                   int
		want                  string
	}{
		{"systemd driver", "systemd", "2", func(t *testing.T) string { return fakeCgroupRoot(t, "2") }, 0, "systemd cgroup driver"},
		{"not root", "cgroupfs", "1", func(t *testing.T) string { return fakeCgroupRoot(t, "1") }, 1000, "runs as uid 1000, not root"},
		{"no cgroup mount", "cgroupfs", "1", func(t *testing.T) string { return t.TempDir() }, 0, "has no cpu controller"},
		{"v2 engine, v1 mount", "cgroupfs", "2", func(t *testing.T) string { return fakeCgroupRoot(t, "1") }, 0, "not a cgroup v2 mount"},
		{"read-only mount", "cgroupfs", "1", func(t *testing.T) string {
			root := fakeCgroupRoot(t, "1")
			if err := os.Chmod(filepath.Join(root, "memory"), 0o555); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.Chmod(filepath.Join(root, "memory"), 0o755) })
			if os.Geteuid() == 0 {
				t.Skip("root writes through a read-only mode; a read-only mount cannot be faked without privileges here")
			}
			return root
		}, 0, "not writable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCgroupController(tc.root(t))
			c.euid = func() int { return tc.uid }
			eng := dockerfake.New()
			eng.SetCgroup(tc.driver, tc.version)
			mode, why, err := c.detect(context.Background(), eng, zerolog.Nop())
			if err != nil || mode != cgroupUnmanaged || !strings.Contains(why, tc.want) {
				t.Fatalf("mode %v, reason %q, err %v; want unmanaged saying %q", mode, why, err, tc.want)
			}
		})
	}
}

func TestCgroupParentAndTaskID(t *testing.T) {
	if p := cgroupParent("cgroupfs", "abc"); p != "/ecs/abc" {
		t.Errorf("cgroupfs parent %q", p)
	}
	if p := cgroupParent("systemd", "abc"); p != "ecstasks-abc.slice" {
		t.Errorf("systemd parent %q", p)
	}
	if _, err := taskCgroupID("arn:aws:ecs:r:1:task/c/.."); err == nil {
		t.Error("a task ID of .. accepted as a cgroup name")
	}
	if id, err := taskCgroupID("arn:aws:ecs:r:1:task/c/0123abcd"); err != nil || id != "0123abcd" {
		t.Errorf("%q, %v", id, err)
	}
}
