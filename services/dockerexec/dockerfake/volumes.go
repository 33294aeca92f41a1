package dockerfake

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/api/types/volume"
)

// volumes are the fake engine's named volumes; a container that binds one is
// "using" it, as Docker counts it, so that a remove of a volume in use fails.
type volumes struct {
	mu      sync.Mutex
	byName  map[string]volume.Volume
	creates map[string]int
	info    system.Info
}

func (e *Engine) vols() *volumes {
	e.volOnce.Do(func() {
		e.volState = &volumes{byName: map[string]volume.Volume{}, creates: map[string]int{},
			info: system.Info{CgroupDriver: "cgroupfs", CgroupVersion: "1"}}
	})
	return e.volState
}

// Volume returns a volume by name.
func (e *Engine) Volume(name string) (volume.Volume, bool) {
	v := e.vols()
	v.mu.Lock()
	defer v.mu.Unlock()
	vol, ok := v.byName[name]
	return vol, ok
}

// AddVolume makes a volume exist, as if an operator had created it.
func (e *Engine) AddVolume(vol volume.Volume) {
	v := e.vols()
	v.mu.Lock()
	defer v.mu.Unlock()
	if vol.Driver == "" {
		vol.Driver = "local"
	}
	v.byName[vol.Name] = vol
}

// VolumeCreateCount is how many times a volume of that name was really created.
func (e *Engine) VolumeCreateCount(name string) int {
	v := e.vols()
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.creates[name]
}

// SetCgroup sets what Info reports of the engine's cgroups.
func (e *Engine) SetCgroup(driver, version string) {
	v := e.vols()
	v.mu.Lock()
	defer v.mu.Unlock()
	v.info.CgroupDriver, v.info.CgroupVersion = driver, version
}

// Info reports the engine's cgroup driver and version.
func (e *Engine) Info(ctx context.Context) (system.Info, error) {
	e.mu.Lock()
	err := e.check()
	e.mu.Unlock()
	v := e.vols()
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.info, err
}

// VolumeCreate creates a volume, or returns the existing one of that name with the
// same driver, as Docker does.
func (e *Engine) VolumeCreate(ctx context.Context, opts volume.CreateOptions) (volume.Volume, error) {
	e.mu.Lock()
	err := e.check()
	e.mu.Unlock()
	if err != nil {
		return volume.Volume{}, err
	}
	v := e.vols()
	v.mu.Lock()
	defer v.mu.Unlock()
	driver := opts.Driver
	if driver == "" {
		driver = "local"
	}
	if old, ok := v.byName[opts.Name]; ok {
		if old.Driver != driver {
			return volume.Volume{}, fmt.Errorf("volume name %s already in use with driver %s: %w", opts.Name, old.Driver, cerrdefs.ErrConflict)
		}
		return old, nil
	}
	if driver != "local" {
		return volume.Volume{}, fmt.Errorf("error looking up volume plugin %s: plugin %q not found: %w", driver, driver, cerrdefs.ErrNotFound)
	}
	vol := volume.Volume{Name: opts.Name, Driver: driver, Scope: "local",
		Mountpoint: "/var/lib/docker/volumes/" + opts.Name + "/_data",
		Labels:     maps.Clone(opts.Labels), Options: maps.Clone(opts.DriverOpts)}
	v.byName[opts.Name] = vol
	v.creates[opts.Name]++
	return vol, nil
}

// VolumeInspect describes a volume.
func (e *Engine) VolumeInspect(ctx context.Context, name string) (volume.Volume, error) {
	e.mu.Lock()
	err := e.check()
	e.mu.Unlock()
	if err != nil {
		return volume.Volume{}, err
	}
	v := e.vols()
	v.mu.Lock()
	defer v.mu.Unlock()
	vol, ok := v.byName[name]
	if !ok {
		return volume.Volume{}, fmt.Errorf("get %s: no such volume: %w", name, cerrdefs.ErrNotFound)
	}
	return vol, nil
}

// VolumeRemove removes a volume no container binds.
func (e *Engine) VolumeRemove(ctx context.Context, name string, force bool) error {
	e.mu.Lock()
	if err := e.check(); err != nil {
		e.mu.Unlock()
		return err
	}
	var users []string
	for _, c := range e.containers {
		for _, b := range c.HostConfig.Binds {
			if src, _, _ := strings.Cut(b, ":"); src == name {
				users = append(users, c.ID)
			}
		}
	}
	e.mu.Unlock()
	v := e.vols()
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.byName[name]; !ok {
		return fmt.Errorf("get %s: no such volume: %w", name, cerrdefs.ErrNotFound)
	}
	if len(users) > 0 && !force {
		return fmt.Errorf("remove %s: volume is in use - %v: %w", name, users, cerrdefs.ErrConflict)
	}
	delete(v.byName, name)
	return nil
}
