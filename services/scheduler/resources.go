package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/services/scheduler/task"
)

// A task's resources are provisioned once it is admitted and before any of its
// containers is pulled, as the real agent transitions a task's resources before
// its containers; they are removed at its cleanup, after its containers:
//
//	admitted ──▶ volumes created, cgroup created ──▶ containers pull, create, start …
//	cleanup  ──▶ containers removed ──▶ task-scoped volumes removed, cgroup removed
//
// The step runs as a flight of its own in the runner, under resourcesKey (no
// container name can be it), so that the runner's busy set holds the task's
// containers back while it runs.
const resourcesKey = "\x00resources"

// taskVolumes are the Docker volumes a task needs: its docker volumes, and the
// agent's scratch volume behind each host volume without a source path.
func taskVolumes(rec *bus.TaskRecord, instanceArn string) []bus.VolumeCreateRequest {
	spec := rec.Spec
	var out []bus.VolumeCreateRequest
	for _, v := range spec.Volumes {
		req := bus.VolumeCreateRequest{TaskArn: spec.Arn, Cluster: rec.Cluster, ContainerInstanceArn: instanceArn,
			Name: volumeName(spec, v), Scope: bus.VolumeScopeTask}
		switch {
		case v.Type == "docker" && v.Docker != nil:
			d := v.Docker
			if d.Scope == bus.VolumeScopeShared {
				req.Scope = bus.VolumeScopeShared
			}
			req.Autoprovision, req.Driver, req.DriverOpts, req.Labels = d.Autoprovision, d.Driver, d.DriverOpts, d.Labels
		case v.Type != "docker" && v.SourcePath == "":
			// A scratch volume: a task-scoped local volume.
		default:
			continue // a bind of a host path: nothing to make
		}
		out = append(out, req)
	}
	return out
}

// ownVolumes are the names of the volumes removed with the task: every
// task-scoped one (shared volumes outlive their tasks).
func ownVolumes(rec *bus.TaskRecord) []string {
	var names []string
	for _, v := range taskVolumes(rec, "") {
		if v.Scope == bus.VolumeScopeTask {
			names = append(names, v.Name)
		}
	}
	return names
}

// Limits of the real agent's task cgroup specification.
const (
	minCPUShares = 2
	minCPUQuota  = 1000 // microseconds, the kernel's least CFS quota
	mib          = 1 << 20
)

// cgroupRequest computes a task's cgroup limits as the real agent does: a task
// with task-level CPU gets a CFS quota of that many vCPUs per period, one without
// gets the sum of its containers' CPU shares (each at least 2); task-level memory
// becomes the memory limit, which no container may exceed.
func cgroupRequest(spec bus.TaskSpec, period time.Duration) (bus.CgroupCreateRequest, error) {
	req := bus.CgroupCreateRequest{TaskArn: spec.Arn}
	if spec.CPU > 0 {
		p := uint64(period / time.Microsecond)
		quota := int64(spec.CPU * float64(p))
		if quota < minCPUQuota {
			return req, fmt.Errorf("task CPU spec builder: CPU quota %d is lower than minimum allowed %d (task cpu %g vCPU, period %s)",
				quota, minCPUQuota, spec.CPU, period)
		}
		req.CPUQuota, req.CPUPeriod = quota, p
	} else {
		for _, c := range spec.Containers {
			req.CPUShares += uint64(max(c.CPU, minCPUShares))
		}
	}
	if spec.Memory > 0 {
		for _, c := range spec.Containers {
			if c.Memory > spec.Memory {
				return req, fmt.Errorf("task memory spec builder: container %s memory limit(%d) greater than task memory limit(%d)",
					c.Name, c.Memory, spec.Memory)
			}
		}
		req.MemoryBytes = spec.Memory * mib
	}
	return req, nil
}

// needsResources reports whether the task has resources to provision.
func (r *runner) needsResources() bool {
	return r.s.cfg.TaskCPUMemLimit || len(taskVolumes(r.rec, "")) > 0
}

// provision starts the resources step: the volumes, one at a time in the task's
// order, then the cgroup. Every call is idempotent, so a step cut short by a crash
// is simply taken again.
func (r *runner) provision(ctx context.Context) {
	fctx, cancel := context.WithCancel(ctx)
	r.busy[resourcesKey] = &flight{cancel: cancel}
	d, rec, cfg := r.s.docker, r.rec, r.s.cfg
	vols := taskVolumes(rec, r.s.reg.ContainerInstanceArn)
	var cg *bus.CgroupCreateRequest
	res := &result{container: resourcesKey, resources: true}
	if cfg.TaskCPUMemLimit {
		req, err := cgroupRequest(rec.Spec, cfg.CgroupCPUPeriod)
		if err != nil {
			res.err = bus.Errorf(bus.CodeResourceInit, "resource cannot be initialized for task %s: cgroup resource: %v", rec.Spec.Arn, err)
		}
		cg = &req
	}
	r.log.Debug().Int("volumes", len(vols)).Bool("cgroup", cg != nil).Msg("provisioning the task's resources")
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer cancel()
		if res.err == nil {
			res.err = provisionResources(fctx, d, vols, cg, &res.cgroup)
		}
		if ctx.Err() != nil {
			return // shutting down: the step is taken again after the restart
		}
		r.box.put(input{result: res})
	}()
}

func provisionResources(ctx context.Context, d Docker, vols []bus.VolumeCreateRequest, cg *bus.CgroupCreateRequest, out *bus.CgroupReply) error {
	for _, v := range vols {
		err := retry(ctx, 2*time.Minute, func(ctx context.Context) error {
			_, err := d.VolumeCreate(ctx, v)
			return err
		})
		if err != nil {
			return err
		}
	}
	if cg == nil {
		return nil
	}
	return retry(ctx, time.Minute, func(ctx context.Context) (err error) {
		*out, err = d.CgroupCreate(ctx, *cg)
		return err
	})
}

// applyResources records the outcome of the resources step.
func (r *runner) applyResources(res *result) {
	if res.err != nil {
		if errors.Is(res.err, context.Canceled) {
			return
		}
		r.log.Error().Err(res.err).Msg("the task's resources could not be provisioned")
		task.ResourcesFailed(r.rec, res.err)
		return
	}
	r.rec.ResourcesReady = true
	r.rec.CgroupParent = res.cgroup.Parent
	if res.cgroup.Unmanaged != "" {
		r.log.Debug().Str("reason", res.cgroup.Unmanaged).Msg("the task runs without a task cgroup")
	}
	r.log.Debug().Str("cgroup_parent", r.rec.CgroupParent).Msg("task resources ready")
}

// releaseResources removes what provision made of the task's own: its task-scoped
// volumes (once its containers are gone) and its cgroup. It reports whether all is
// gone; a volume still in use or a cgroup still busy is tried again later.
func (r *runner) releaseResources(ctx context.Context) bool {
	for _, name := range ownVolumes(r.rec) {
		err := retry(ctx, time.Minute, func(ctx context.Context) error {
			return r.s.docker.VolumeRemove(ctx, bus.VolumeRemoveRequest{TaskArn: r.rec.Spec.Arn, Name: name})
		})
		if err != nil {
			r.log.Error().Err(err).Str("volume", name).Msg("removing the task's volume")
			return false
		}
	}
	if r.s.cfg.TaskCPUMemLimit || r.rec.CgroupParent != "" {
		err := retry(ctx, time.Minute, func(ctx context.Context) error {
			return r.s.docker.CgroupRemove(ctx, bus.CgroupRemoveRequest{TaskArn: r.rec.Spec.Arn})
		})
		if err != nil {
			r.log.Error().Err(err).Msg("removing the task's cgroup")
			return false
		}
	}
	return true
}
