// Package dockerfake is an in-memory Docker engine for tests of dockerexec: it
// implements the dockerexec.Docker interface with the behaviour the service relies
// on (name conflicts, label filters, 304-style idempotent start and stop, events with
// since, errors of the engine's classes), and lets a test make containers exit, break
// the event stream or take the engine down.
package dockerfake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Container is a fake container; tests read it through Container.
type Container struct {
	ID         string
	Name       string
	Config     container.Config
	HostConfig container.HostConfig
	State      container.State
	Created    time.Time
	Ports      nat.PortMap
}

// Image is a fake image.
type Image struct {
	ID          string
	RepoDigests []string
	// Created is the image's creation time (zero: the Unix epoch).
	Created time.Time
	// Size is what a pull of it downloads, reported in the progress stream as one
	// layer.
	Size int64
}

// Engine is the fake engine. The zero value is not usable; call New.
type Engine struct {
	mu         sync.Mutex
	containers map[string]*Container
	images     map[string]Image         // by reference as given to pull and inspect
	registry   map[string]Image         // what a pull can fetch
	pullErrs   map[string]error         // pull errors by reference (in the progress stream)
	pullGate   map[string]chan struct{} // pulls of a reference wait on it before their stream
	pullStall  map[string]bool          // the stream of a pull of a reference stops, open
	removed    []string                 // references given to ImageRemove that went
	down       bool
	history    []events.Message
	subs       map[chan events.Message]chan error
	nextID     int
	nextPort   int
	now        func() time.Time
	pulls      map[string]int
	pullAuths  map[string]string // the last X-Registry-Auth of each reference
	creates    int
	starts     map[string]int
	// volState holds the volumes and the engine's cgroup info (volumes.go).
	volOnce  sync.Once
	volState *volumes
}

// PullAuth is the registry authentication (Docker's base64 X-Registry-Auth) of
// the last pull of ref.
func (e *Engine) PullAuth(ref string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pullAuths[ref]
}

// StartCount is how many times the container was really started (a start of a
// running container does not count).
func (e *Engine) StartCount(id string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.starts[id]
}

// PullCount is how many times ref was pulled.
func (e *Engine) PullCount(ref string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pulls[ref]
}

// CreateCount is how many times ContainerCreate was called.
func (e *Engine) CreateCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.creates
}

// New returns an empty engine.
func New() *Engine {
	return &Engine{
		containers: map[string]*Container{},
		images:     map[string]Image{},
		registry:   map[string]Image{},
		pullErrs:   map[string]error{},
		subs:       map[chan events.Message]chan error{},
		nextPort:   32768,
		now:        time.Now,
		pulls:      map[string]int{},
		starts:     map[string]int{},
	}
}

// AddImage makes an image present locally.
func (e *Engine) AddImage(ref string, img Image) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.images[ref] = img
}

// AddRegistryImage makes an image pullable.
func (e *Engine) AddRegistryImage(ref string, img Image) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.registry[ref] = img
}

// HoldPulls makes pulls of ref wait until the returned release is called (a slow
// registry), so that a test can pile up callers of one pull.
func (e *Engine) HoldPulls(ref string) (release func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pullGate == nil {
		e.pullGate = map[string]chan struct{}{}
	}
	ch := make(chan struct{})
	e.pullGate[ref] = ch
	var once sync.Once
	return func() {
		once.Do(func() {
			e.mu.Lock()
			delete(e.pullGate, ref)
			e.mu.Unlock()
			close(ch)
		})
	}
}

// StallPulls makes the progress stream of every pull of ref stop after its first
// line, without ending, until the caller gives up (a stalled registry).
func (e *Engine) StallPulls(ref string, stall bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pullStall == nil {
		e.pullStall = map[string]bool{}
	}
	e.pullStall[ref] = stall
}

// RemoveImage removes a local image behind the engine's back (another user's
// docker rmi).
func (e *Engine) RemoveImage(ref string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.images, ref)
}

// HasImage reports whether ref is present locally.
func (e *Engine) HasImage(ref string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.images[ref]
	return ok
}

// Removed lists the references ImageRemove removed, in order.
func (e *Engine) Removed() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.removed...)
}

// FailPull makes every pull of ref fail with err, reported in the progress stream as
// the engine does for registry errors.
func (e *Engine) FailPull(ref string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pullErrs[ref] = err
}

// SetDown takes the engine down (every call fails as a refused connection, open event
// streams break) or brings it back.
func (e *Engine) SetDown(down bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.down = down
	if down {
		e.breakLocked(fmt.Errorf("unexpected EOF"))
	}
}

// BreakEvents ends every open event stream with err, as an engine restart does.
func (e *Engine) BreakEvents(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.breakLocked(err)
}

func (e *Engine) breakLocked(err error) {
	for ch, errs := range e.subs {
		errs <- err
		delete(e.subs, ch)
	}
}

// Container returns a copy of a container by ID or name.
func (e *Engine) Container(idOrName string) (Container, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.findLocked(idOrName)
	if c == nil {
		return Container{}, false
	}
	return *c, true
}

// Count is the number of containers.
func (e *Engine) Count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.containers)
}

// Exit makes a running container exit with code, as if its process ended.
func (e *Engine) Exit(id string, code int, oomKilled bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.findLocked(id)
	if c == nil || !c.State.Running {
		return fmt.Errorf("no running container %s", id)
	}
	if oomKilled {
		e.emitLocked(c, events.ActionOOM, nil)
	}
	e.exitLocked(c, code, oomKilled)
	return nil
}

// EmitHealth sends a health_status event for a container.
func (e *Engine) EmitHealth(id, status string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.findLocked(id); c != nil {
		c.State.Health = &container.Health{Status: status}
		e.emitLocked(c, events.Action("health_status: "+status), nil)
	}
}

func (e *Engine) exitLocked(c *Container, code int, oom bool) {
	c.State.Running = false
	c.State.Status = container.StateExited
	c.State.ExitCode = code
	c.State.OOMKilled = oom
	c.State.FinishedAt = e.now().UTC().Format(time.RFC3339Nano)
	e.emitLocked(c, events.ActionDie, map[string]string{"exitCode": strconv.Itoa(code)})
}

func (e *Engine) emitLocked(c *Container, action events.Action, extra map[string]string) {
	attrs := map[string]string{"name": c.Name, "image": c.Config.Image}
	for k, v := range c.Config.Labels {
		attrs[k] = v
	}
	for k, v := range extra {
		attrs[k] = v
	}
	now := e.now()
	// Strictly increasing times, as a real engine's clock nearly always gives.
	if n := len(e.history); n > 0 && now.UnixNano() <= e.history[n-1].TimeNano {
		now = time.Unix(0, e.history[n-1].TimeNano+1)
	}
	m := events.Message{
		Type: events.ContainerEventType, Action: action,
		Actor: events.Actor{ID: c.ID, Attributes: attrs},
		Time:  now.Unix(), TimeNano: now.UnixNano(),
	}
	e.history = append(e.history, m)
	for ch := range e.subs {
		select {
		case ch <- m:
		default: // a subscriber that does not keep up loses events, as with the engine
		}
	}
}

func (e *Engine) findLocked(idOrName string) *Container {
	if c, ok := e.containers[idOrName]; ok {
		return c
	}
	name := strings.TrimPrefix(idOrName, "/")
	for _, c := range e.containers {
		if c.Name == name || (len(idOrName) >= 12 && strings.HasPrefix(c.ID, idOrName)) {
			return c
		}
	}
	return nil
}

func (e *Engine) check() error {
	if e.down {
		return fmt.Errorf("Cannot connect to the Docker daemon at unix:///fake.sock: %w", cerrdefs.ErrUnavailable)
	}
	return nil
}

func notFound(what, id string) error {
	return fmt.Errorf("No such %s: %s: %w", what, id, cerrdefs.ErrNotFound)
}

// Ping answers unless the engine is down.
func (e *Engine) Ping(ctx context.Context) (types.Ping, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return types.Ping{APIVersion: "1.41"}, e.check()
}

// ServerVersion reports a fixed engine version unless the engine is down.
func (e *Engine) ServerVersion(ctx context.Context) (types.Version, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return types.Version{Version: "20.10.24", APIVersion: "1.41"}, e.check()
}

// ImageInspect finds a local image by reference or ID.
func (e *Engine) ImageInspect(ctx context.Context, ref string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.check(); err != nil {
		return image.InspectResponse{}, err
	}
	for r, img := range e.images {
		if r == ref || img.ID == ref {
			return image.InspectResponse{ID: img.ID, RepoDigests: img.RepoDigests, RepoTags: []string{r}}, nil
		}
	}
	return image.InspectResponse{}, notFound("image", ref)
}

// ImagePull fetches from the fake registry. Like the engine, an unknown repository
// fails the call itself, while other registry errors arrive in the progress stream;
// a successful pull reports its size as one layer's download.
func (e *Engine) ImagePull(ctx context.Context, ref string, opts image.PullOptions) (io.ReadCloser, error) {
	e.mu.Lock()
	gate := e.pullGate[ref]
	e.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.check(); err != nil {
		return nil, err
	}
	e.pulls[ref]++
	if e.pullAuths == nil {
		e.pullAuths = map[string]string{}
	}
	e.pullAuths[ref] = opts.RegistryAuth
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	_ = enc.Encode(map[string]string{"status": "Pulling from " + ref})
	if e.pullStall[ref] {
		if img, ok := e.registry[ref]; ok && img.Size > 0 {
			// Part of a layer came before the registry went silent.
			_ = enc.Encode(map[string]any{"status": "Downloading", "id": "layer0",
				"progressDetail": map[string]int64{"current": img.Size / 4, "total": img.Size}})
		}
		pr, pw := io.Pipe()
		go func() {
			_, _ = pw.Write(buf.Bytes())
			<-ctx.Done()
			_ = pw.CloseWithError(ctx.Err())
		}()
		return pr, nil
	}
	if err, ok := e.pullErrs[ref]; ok {
		_ = enc.Encode(map[string]any{"errorDetail": map[string]string{"message": err.Error()}, "error": err.Error()})
		return io.NopCloser(&buf), nil
	}
	img, ok := e.registry[ref]
	if !ok {
		return nil, fmt.Errorf("pull access denied for %s, repository does not exist or may require 'docker login': %w",
			ref, cerrdefs.ErrNotFound)
	}
	e.images[ref] = img
	if img.Size > 0 {
		_ = enc.Encode(map[string]any{"status": "Downloading", "id": "layer0",
			"progressDetail": map[string]int64{"current": img.Size / 2, "total": img.Size}})
		_ = enc.Encode(map[string]any{"status": "Download complete", "id": "layer0", "progressDetail": map[string]int64{}})
	}
	_ = enc.Encode(map[string]string{"status": "Status: Downloaded newer image for " + ref})
	return io.NopCloser(&buf), nil
}

// ImageList lists the local images, one summary per image ID with its references
// as tags.
func (e *Engine) ImageList(ctx context.Context, _ image.ListOptions) ([]image.Summary, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.check(); err != nil {
		return nil, err
	}
	byID := map[string]*image.Summary{}
	var out []*image.Summary
	for ref, img := range e.images {
		sm, ok := byID[img.ID]
		if !ok {
			sm = &image.Summary{ID: img.ID, RepoDigests: img.RepoDigests, Created: img.Created.Unix(), Size: img.Size}
			byID[img.ID] = sm
			out = append(out, sm)
		}
		if !strings.HasPrefix(ref, "sha256:") {
			sm.RepoTags = append(sm.RepoTags, ref)
		}
	}
	res := make([]image.Summary, 0, len(out))
	for _, sm := range out {
		res = append(res, *sm)
	}
	return res, nil
}

// ImageRemove untags ref (or removes the image of that ID). Like the engine, it
// refuses, as a conflict, an image that a container uses, unless forced.
func (e *Engine) ImageRemove(ctx context.Context, ref string, opts image.RemoveOptions) ([]image.DeleteResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.check(); err != nil {
		return nil, err
	}
	var refs []string
	id := ""
	for r, img := range e.images {
		if r == ref || img.ID == ref {
			refs, id = append(refs, r), img.ID
		}
	}
	if len(refs) == 0 {
		return nil, notFound("image", ref)
	}
	if !opts.Force {
		for _, c := range e.containers {
			if e.images[c.Config.Image].ID == id {
				return nil, fmt.Errorf("conflict: unable to remove repository reference %q (must force) - container %s is using its referenced image %s: %w",
					ref, c.ID[:12], id, cerrdefs.ErrConflict)
			}
		}
	}
	for _, r := range refs {
		delete(e.images, r)
	}
	e.removed = append(e.removed, ref)
	return []image.DeleteResponse{{Untagged: ref}}, nil
}

// ContainerCreate creates a container; a taken name is a conflict, a missing image
// is not found.
func (e *Engine) ContainerCreate(ctx context.Context, cfg *container.Config, host *container.HostConfig,
	_ *network.NetworkingConfig, _ *ocispec.Platform, name string) (container.CreateResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.check(); err != nil {
		return container.CreateResponse{}, err
	}
	e.creates++
	if name != "" && e.findLocked(name) != nil {
		return container.CreateResponse{}, fmt.Errorf(
			"Conflict. The container name %q is already in use by another container: %w", "/"+name, cerrdefs.ErrConflict)
	}
	if _, ok := e.images[cfg.Image]; !ok {
		return container.CreateResponse{}, notFound("image", cfg.Image)
	}
	e.nextID++
	id := fmt.Sprintf("%064x", e.nextID)
	if name == "" {
		name = "fake_" + id[:12]
	}
	c := &Container{ID: id, Name: name, Config: *cfg, Created: e.now()}
	if host != nil {
		c.HostConfig = *host
	}
	c.State = container.State{Status: container.StateCreated, StartedAt: "0001-01-01T00:00:00Z", FinishedAt: "0001-01-01T00:00:00Z"}
	e.containers[id] = c
	e.emitLocked(c, events.ActionCreate, nil)
	return container.CreateResponse{ID: id}, nil
}

// ContainerStart starts a container; starting a running one is a no-op.
func (e *Engine) ContainerStart(ctx context.Context, id string, _ container.StartOptions) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.check(); err != nil {
		return err
	}
	c := e.findLocked(id)
	if c == nil {
		return notFound("container", id)
	}
	if c.State.Running {
		return nil
	}
	c.Ports = nat.PortMap{}
	for p, bs := range c.HostConfig.PortBindings {
		for _, b := range bs {
			if b.HostPort == "" || b.HostPort == "0" {
				b.HostPort = strconv.Itoa(e.nextPort)
				e.nextPort++
			}
			c.Ports[p] = append(c.Ports[p], b)
		}
	}
	c.State.Running, c.State.Status = true, container.StateRunning
	c.State.StartedAt = e.now().UTC().Format(time.RFC3339Nano)
	e.starts[c.ID]++
	e.emitLocked(c, events.ActionStart, nil)
	return nil
}

// ContainerStop stops a running container with exit code 143 (SIGTERM); a stopped
// one is left alone.
func (e *Engine) ContainerStop(ctx context.Context, id string, _ container.StopOptions) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.check(); err != nil {
		return err
	}
	c := e.findLocked(id)
	if c == nil {
		return notFound("container", id)
	}
	if !c.State.Running {
		return nil
	}
	e.emitLocked(c, events.ActionKill, map[string]string{"signal": "15"})
	e.exitLocked(c, 143, false)
	e.emitLocked(c, events.ActionStop, nil)
	return nil
}

// ContainerRemove removes a container; a running one only with Force.
func (e *Engine) ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.check(); err != nil {
		return err
	}
	c := e.findLocked(id)
	if c == nil {
		return notFound("container", id)
	}
	if c.State.Running {
		if !opts.Force {
			return fmt.Errorf("cannot remove a running container %s: %w", c.ID, cerrdefs.ErrConflict)
		}
		e.exitLocked(c, 137, false)
	}
	delete(e.containers, c.ID)
	e.emitLocked(c, events.ActionDestroy, nil)
	return nil
}

// ContainerInspect describes a container.
func (e *Engine) ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.check(); err != nil {
		return container.InspectResponse{}, err
	}
	c := e.findLocked(id)
	if c == nil {
		return container.InspectResponse{}, notFound("container", id)
	}
	state := c.State
	cfg := c.Config
	host := c.HostConfig
	return container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID: c.ID, Name: "/" + c.Name, Created: c.Created.UTC().Format(time.RFC3339Nano),
			State: &state, Image: e.images[c.Config.Image].ID, HostConfig: &host,
		},
		Config:          &cfg,
		NetworkSettings: &container.NetworkSettings{NetworkSettingsBase: container.NetworkSettingsBase{Ports: c.Ports}},
	}, nil
}

// ContainerList lists containers matching every "label" filter ("key" or
// "key=value"); other filters are not supported.
func (e *Engine) ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.check(); err != nil {
		return nil, err
	}
	var out []container.Summary
	for _, c := range e.containers {
		if !opts.All && !c.State.Running {
			continue
		}
		if !matchLabels(c.Config.Labels, opts.Filters.Get("label")) {
			continue
		}
		out = append(out, container.Summary{
			ID: c.ID, Names: []string{"/" + c.Name}, Image: c.Config.Image, ImageID: e.images[c.Config.Image].ID,
			Labels: c.Config.Labels,
			State:  c.State.Status, Created: c.Created.Unix(),
		})
	}
	return out, nil
}

// ContainerStats returns one sample in the engine's JSON shape: its id, name, read
// time and the memory and pids of a container, zero but for a running one.
func (e *Engine) ContainerStats(ctx context.Context, id string, _ bool) (container.StatsResponseReader, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.check(); err != nil {
		return container.StatsResponseReader{}, err
	}
	c := e.findLocked(id)
	if c == nil {
		return container.StatsResponseReader{}, notFound("container", id)
	}
	var sample container.StatsResponse
	sample.ID, sample.Name, sample.Read = c.ID, "/"+c.Name, e.now().UTC()
	if c.State.Running {
		sample.MemoryStats.Usage, sample.PidsStats.Current = 1<<20, 1
	}
	data, err := json.Marshal(sample)
	if err != nil {
		return container.StatsResponseReader{}, err
	}
	return container.StatsResponseReader{Body: io.NopCloser(bytes.NewReader(append(data, '\n'))), OSType: "linux"}, nil
}

// ContainerStatsOneShot returns one sample, as ContainerStats does.
func (e *Engine) ContainerStatsOneShot(ctx context.Context, id string) (container.StatsResponseReader, error) {
	return e.ContainerStats(ctx, id, false)
}

func matchLabels(labels map[string]string, want []string) bool {
	for _, w := range want {
		k, v, hasValue := strings.Cut(w, "=")
		got, ok := labels[k]
		if !ok || (hasValue && got != v) {
			return false
		}
	}
	return true
}

// Events streams container events matching the "label" filters, replaying the
// history from opts.Since ("seconds.nanoseconds") first.
func (e *Engine) Events(ctx context.Context, opts events.ListOptions) (<-chan events.Message, <-chan error) {
	out := make(chan events.Message)
	errOut := make(chan error, 1)
	e.mu.Lock()
	if err := e.check(); err != nil {
		e.mu.Unlock()
		errOut <- err
		return out, errOut
	}
	var backlog []events.Message
	if opts.Since != "" {
		since := parseSince(opts.Since)
		for _, m := range e.history {
			if m.TimeNano >= since {
				backlog = append(backlog, m)
			}
		}
	}
	live := make(chan events.Message, 1024)
	liveErr := make(chan error, 1)
	e.subs[live] = liveErr
	e.mu.Unlock()
	labels := opts.Filters.Get("label")

	go func() {
		defer func() {
			e.mu.Lock()
			delete(e.subs, live)
			e.mu.Unlock()
		}()
		send := func(m events.Message) bool {
			if !matchLabels(m.Actor.Attributes, labels) {
				return true
			}
			select {
			case out <- m:
				return true
			case <-ctx.Done():
				errOut <- ctx.Err()
				return false
			}
		}
		last := int64(0)
		for _, m := range backlog {
			if !send(m) {
				return
			}
			last = m.TimeNano
		}
		for {
			select {
			case m := <-live:
				if m.TimeNano <= last {
					continue // already replayed
				}
				if !send(m) {
					return
				}
			case err := <-liveErr:
				errOut <- err
				return
			case <-ctx.Done():
				errOut <- ctx.Err()
				return
			}
		}
	}()
	return out, errOut
}

func parseSince(s string) int64 {
	sec, frac, _ := strings.Cut(s, ".")
	n, _ := strconv.ParseInt(sec, 10, 64)
	f, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
	return n*int64(time.Second) + f
}
