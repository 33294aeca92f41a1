package dockerexec

import (
	"context"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/logger"
)

// ImageCleaner is the part of the Docker API image cleanup uses.
type ImageCleaner interface {
	ImageList(ctx context.Context, opts image.ListOptions) ([]image.Summary, error)
	ImageRemove(ctx context.Context, ref string, opts image.RemoveOptions) ([]image.DeleteResponse, error)
	ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error)
	ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error
}

// cleaner removes unused images as the real agent's image manager does, once per
// ImageCleanup.Interval:
//
//	every container of the engine ──▶ images in use (never removed)
//	tracked images (image records), least recently used first
//	    ├─ gone from the engine   → record dropped
//	    ├─ excluded / in use / too young / asked for just now → kept (logged why)
//	    └─ otherwise              → removed, up to ImagesPerCycle
//	with Untracked: stopped containers not the agent's (up to NonECSContainersPerCycle),
//	then untracked images older than NonECSMinimumAge, within what is left of ImagesPerCycle
//
// Every container on the engine counts, not only this agent's: an image a
// container uses cannot be removed anyway, and the engine may be shared.
type cleaner struct {
	docker ImageCleaner
	store  *imageStore
	cfg    ImageCleanupConfig
	call   time.Duration
	log    zerolog.Logger
	now    func() time.Time
}

func newCleaner(d ImageCleaner, store *imageStore, cfg Config, log zerolog.Logger) *cleaner {
	return &cleaner{docker: d, store: store, cfg: cfg.ImageCleanup, call: cfg.CallTimeout,
		log: log.With().Str("component", "image-cleanup").Logger(), now: time.Now}
}

// run cleans once per interval until ctx ends; the first cycle comes one interval
// after the start, as in the real agent. Called on its own goroutine.
func (c *cleaner) run(ctx context.Context) {
	if c.cfg.Disabled {
		c.log.Info().Msg("image cleanup is disabled (ECS_DISABLE_IMAGE_CLEANUP)")
		return
	}
	select {
	case <-c.store.ready:
	case <-ctx.Done():
		return
	}
	c.log.Info().Dur("interval", c.cfg.Interval).Dur("minimum_age", c.cfg.MinimumAge).
		Int("per_cycle", c.cfg.ImagesPerCycle).Bool("untracked", c.cfg.Untracked).Msg("image cleanup on")
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.cycle(ctx)
		}
	}
}

// recentUse is how long after a task last asked for an image it is kept whatever
// its age: the task's container may not exist yet.
func (c *cleaner) recentUse() time.Duration { return min(c.cfg.MinimumAge, 5*time.Minute) }

// cycle makes one round of decisions and removals; it returns how many images it
// removed.
func (c *cleaner) cycle(ctx context.Context) int {
	ctx, cancel := context.WithTimeout(ctx, c.call)
	defer cancel()
	now := c.now()
	containers, err := c.docker.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		c.log.Warn().Err(err).Msg("listing containers; no image cleanup this cycle")
		return 0
	}
	images, err := c.docker.ImageList(ctx, image.ListOptions{})
	if err != nil {
		c.log.Warn().Err(err).Msg("listing images; no image cleanup this cycle")
		return 0
	}
	inUse := map[string]string{} // image ID → a container using it
	for _, ct := range containers {
		name := summaryName(ct)
		if arn := ct.Labels[bus.LabelTaskARN]; arn != "" {
			name += " of task " + arn
		}
		inUse[ct.ImageID] = name
	}
	byID := map[string]image.Summary{}
	byRef := map[string]image.Summary{}
	for _, img := range images {
		byID[img.ID] = img
		for _, tag := range img.RepoTags {
			byRef[normalRef(tag)] = img
		}
	}

	removed := 0
	tracked := map[string]bool{} // image IDs with a record
	var touched []string
	for _, rec := range c.store.all() {
		log := c.log.With().Str("image", rec.Ref).Logger()
		img, ok := byRef[normalRef(rec.Ref)]
		if !ok {
			if _, byid := byID[rec.Ref]; byid { // a reference by image ID
				img, ok = byID[rec.Ref], true
			}
		}
		if !ok {
			log.Debug().Msg("image is no longer on the engine; forgetting it")
			c.store.forget(ctx, rec.Ref)
			continue
		}
		tracked[img.ID] = true
		ev := log.Debug().Str("image_id", img.ID)
		switch {
		case c.excluded(img):
			ev.Msg("image kept: excluded (ECS_EXCLUDE_UNTRACKED_IMAGE)")
		case inUse[img.ID] != "":
			ev.Str("used_by", inUse[img.ID]).Msg("image kept: in use")
			touched = append(touched, rec.Ref)
		case rec.age(now) < c.cfg.MinimumAge:
			ev.Dur("age", rec.age(now)).Msg("image kept: younger than ECS_IMAGE_MINIMUM_CLEANUP_AGE")
		case now.Sub(rec.LastUsedAt) < c.recentUse():
			ev.Dur("last_used", now.Sub(rec.LastUsedAt)).Msg("image kept: a task asked for it just now")
		case removed >= c.cfg.ImagesPerCycle:
			ev.Msg("image kept: ECS_NUM_IMAGES_DELETE_PER_CYCLE reached; next cycle")
		default:
			if c.remove(ctx, log, rec.Ref, img.ID, now.Sub(rec.LastUsedAt)) {
				c.store.forget(ctx, rec.Ref)
				removed++
			}
		}
	}
	c.store.touch(ctx, touched, now)

	if c.cfg.Untracked {
		c.removeUntrackedContainers(ctx, containers, now)
		removed += c.removeUntrackedImages(ctx, images, tracked, inUse, now, c.cfg.ImagesPerCycle-removed)
	}
	return removed
}

// remove removes one image reference (never by force: an image a container uses
// stays) and reports whether it went.
func (c *cleaner) remove(ctx context.Context, log zerolog.Logger, ref, id string, unused time.Duration) bool {
	_, err := c.docker.ImageRemove(ctx, ref, image.RemoveOptions{PruneChildren: true})
	switch {
	case err == nil:
		log.Info().Str("image_id", id).Dur("unused_for", unused).Msg("image removed")
		return true
	case cerrdefs.IsNotFound(err):
		log.Debug().Msg("image already gone")
		return true
	case cerrdefs.IsConflict(err):
		log.Info().Str("image_id", id).Str("error", oneLine(err)).Msg("image kept: the engine says it is in use")
	default:
		log.Warn().Str("image_id", id).Err(err).Msg("removing image")
	}
	return false
}

// removeUntrackedContainers removes stopped containers the agent did not create,
// oldest first (ECS_ENABLE_UNTRACKED_IMAGE_CLEANUP), so that their images can go.
func (c *cleaner) removeUntrackedContainers(ctx context.Context, all []container.Summary, now time.Time) {
	var stopped []container.Summary
	for _, ct := range all {
		if ct.Labels[bus.LabelTaskARN] != "" {
			continue // the agent's: removed with their task
		}
		if ct.State == container.StateExited || ct.State == container.StateDead {
			stopped = append(stopped, ct)
		}
	}
	sort.Slice(stopped, func(i, j int) bool { return stopped[i].Created < stopped[j].Created })
	for i, ct := range stopped {
		if i >= c.cfg.NonECSContainersPerCycle {
			break
		}
		log := c.log.With().Str(logger.FieldDockerID, ct.ID).Str("name", summaryName(ct)).Logger()
		if err := c.docker.ContainerRemove(ctx, ct.ID, container.RemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			log.Warn().Err(err).Msg("removing a stopped container the agent did not create")
			continue
		}
		log.Info().Msg("removed a stopped container the agent did not create")
	}
}

// removeUntrackedImages removes images the agent has no record of, unused and
// created longer than NonECSMinimumAge ago, up to left of them.
func (c *cleaner) removeUntrackedImages(ctx context.Context, images []image.Summary, tracked map[string]bool,
	inUse map[string]string, now time.Time, left int) int {
	// Containers just removed free their images; the listing of before still says
	// they are used, which only delays those images to the next cycle.
	sort.Slice(images, func(i, j int) bool { return images[i].Created < images[j].Created })
	removed := 0
	for _, img := range images {
		if tracked[img.ID] {
			continue
		}
		log := c.log.With().Str("image_id", img.ID).Strs("tags", img.RepoTags).Logger()
		age := now.Sub(time.Unix(img.Created, 0))
		switch {
		case c.excluded(img):
			log.Debug().Msg("untracked image kept: excluded (ECS_EXCLUDE_UNTRACKED_IMAGE)")
			continue
		case inUse[img.ID] != "":
			log.Debug().Str("used_by", inUse[img.ID]).Msg("untracked image kept: in use")
			continue
		case age < c.cfg.NonECSMinimumAge:
			log.Debug().Dur("age", age).Msg("untracked image kept: younger than NON_ECS_IMAGE_MINIMUM_CLEANUP_AGE")
			continue
		case removed >= left:
			log.Debug().Msg("untracked image kept: ECS_NUM_IMAGES_DELETE_PER_CYCLE reached; next cycle")
			continue
		}
		refs := img.RepoTags
		if len(refs) == 0 {
			refs = []string{img.ID}
		}
		gone := true
		for _, ref := range refs {
			gone = c.remove(ctx, log.With().Str("image", ref).Logger(), ref, img.ID, age) && gone
		}
		if gone {
			removed++
		}
	}
	return removed
}

// excluded reports whether one of the image's names is in the exclusion list.
func (c *cleaner) excluded(img image.Summary) bool {
	for _, ex := range c.cfg.Exclude {
		want := normalRef(ex)
		if want == img.ID || strings.TrimPrefix(ex, "sha256:") == strings.TrimPrefix(img.ID, "sha256:") {
			return true
		}
		for _, tag := range img.RepoTags {
			if normalRef(tag) == want {
				return true
			}
		}
	}
	return false
}

// normalRef writes a reference the way the engine resolves it ("busybox" is
// "docker.io/library/busybox:latest"), so that names compare as the engine means
// them; what does not parse is returned as it is.
func normalRef(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.TagNameOnly(named).String()
}
