package dockerexec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/image"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/backoff"
	"github.com/ecs-agent/ecs-agent/bus/logger"
)

// Image pull behaviours (ECS_IMAGE_PULL_BEHAVIOR).
const (
	PullDefault      = "default"       // pull; on failure use the cached image if any
	PullAlways       = "always"        // pull; a failure is an error
	PullOnce         = "once"          // pull only if the image was never pulled
	PullPreferCached = "prefer-cached" // pull only if the image is absent
)

// puller pulls images. There is one pull of an image at a time, whatever the
// behaviour each caller asked for: callers that need a pull while one of the same
// image (and the same credentials) runs wait for it, then each applies its own
// behaviour to the outcome (default falls back to the cached image, always fails).
//
//	request ──inspect──▶ decide (behaviour, present, pulled before?) ──no pull──▶ cached image
//	                          │ pull
//	                          ▼
//	              shared pull (one per image) ──▶ ok: pulled image
//	                          │ failed
//	                          ▼
//	          default and cached ──▶ cached image (FellBack); otherwise CannotPullContainerError
type puller struct {
	images Images
	cfg    Config
	log    zerolog.Logger
	store  *imageStore
	now    func() time.Time
	// auth is the X-Registry-Auth of a pull ("" for none).
	auth func(context.Context, bus.PullRequest) (string, error)

	mu       sync.Mutex
	inflight map[string]*pullCall
}

// pullCall is one shared pull; its fields are set before done is closed.
type pullCall struct {
	done     chan struct{}
	after    image.InspectResponse // the image once pulled
	started  time.Time
	stopped  time.Time
	bytes    int64
	attempts int
	err      error
	// progress is how far the pull has got ("12.3MB of 40.1MB"), for its waiters.
	progress atomic.Value
}

func newPuller(images Images, cfg Config, store *imageStore, log zerolog.Logger,
	auth func(context.Context, bus.PullRequest) (string, error)) *puller {
	if auth == nil {
		auth = func(context.Context, bus.PullRequest) (string, error) { return "", nil }
	}
	return &puller{images: images, cfg: cfg, store: store, log: log.With().Str("component", "pull").Logger(),
		now: time.Now, auth: auth, inflight: map[string]*pullCall{}}
}

// pull makes req.Image present according to req.Behavior (PROTOCOL.md §4.2):
//
//   - default: pull; when the pull fails, use the cached image if there is one;
//   - always: pull; a failure is an error;
//   - once: pull unless this agent has pulled the image before and it is still
//     there (remembered in the image records, so across restarts);
//   - prefer-cached: pull only when the image is absent.
//
// A caller whose ctx ends stops waiting, but the pull goes on for the others,
// bounded by the pull timeout.
func (p *puller) pull(ctx context.Context, req bus.PullRequest) (bus.PullReply, error) {
	if strings.TrimSpace(req.Image) == "" {
		return bus.PullReply{}, badRequest("pull: image is required")
	}
	behavior := req.Behavior
	if behavior == "" {
		behavior = p.cfg.PullBehavior
	}
	switch behavior {
	case PullDefault, PullAlways, PullOnce, PullPreferCached:
	default:
		return bus.PullReply{}, badRequest("pull: behavior %q: want default, always, once or prefer-cached", behavior)
	}
	ref := req.Image
	log := p.log.With().Str(logger.FieldTaskARN, req.TaskArn).Str(logger.FieldContainer, req.ContainerName).
		Str("image", ref).Str("behavior", behavior).Logger()
	ictx, cancel := context.WithTimeout(ctx, p.cfg.CallTimeout)
	local, err := p.images.ImageInspect(ictx, ref)
	cancel()
	present := err == nil
	if err != nil && !cerrdefs.IsNotFound(err) {
		return bus.PullReply{}, engineError(err, bus.CodePullFailed, false, "inspecting image %s", ref)
	}
	need := true
	switch behavior {
	case PullPreferCached:
		need = !present
	case PullOnce:
		if present {
			rec, ok, err := p.store.get(ctx, ref)
			if err != nil {
				return bus.PullReply{}, err
			}
			// Pulled before, and not replaced since (a cleanup or a user may have
			// removed it and another image taken the name).
			need = !ok || rec.PulledAt == nil || rec.ImageID != local.ID
		}
	}
	if !need {
		log.Debug().Str("image_id", local.ID).Msg("using the cached image; no pull needed")
		p.store.used(ctx, ref, local.ID, nil, p.now())
		return bus.PullReply{ImageID: local.ID, Digest: repoDigest(ref, local.RepoDigests)}, nil
	}

	call, err := p.shared(ctx, req)
	if err != nil {
		return bus.PullReply{}, err
	}
	started, stopped := call.started, call.stopped
	rep := bus.PullReply{StartedAt: &started, StoppedAt: &stopped, Bytes: call.bytes}
	if call.err == nil {
		p.store.used(ctx, ref, call.after.ID, &stopped, p.now())
		rep.ImageID, rep.Digest, rep.Pulled = call.after.ID, repoDigest(ref, call.after.RepoDigests), true
		return rep, nil
	}
	var be *bus.Error
	if errors.As(call.err, &be) && be.Code.Retryable() {
		return bus.PullReply{}, call.err // the engine is down or too slow: retryable
	}
	if present && behavior == PullDefault {
		log.Warn().Str("error", oneLine(call.err)).Str("image_id", local.ID).Bool("fell_back", true).
			Msg("image pull failed; using the cached image")
		p.store.used(ctx, ref, local.ID, nil, p.now())
		rep.ImageID, rep.Digest, rep.FellBack = local.ID, repoDigest(ref, local.RepoDigests), true
		return rep, nil
	}
	if be != nil {
		return bus.PullReply{}, call.err
	}
	// The wording of the real agent's reason, which users search for.
	return bus.PullReply{}, bus.Errorf(bus.CodePullFailed,
		"pull image manifest has been retried %d time(s): %s", call.attempts, oneLine(call.err))
}

// shared joins the pull of req.Image in flight, or starts it, and waits for it.
func (p *puller) shared(ctx context.Context, req bus.PullRequest) (*pullCall, error) {
	// Pulls share only with pulls of the same credentials.
	key := req.Image
	if req.RegistryAuth != nil {
		key += "|" + req.ExecutionCredentialsID + "|" + req.RegistryAuth.CredentialsParameter
	}
	p.mu.Lock()
	call, ok := p.inflight[key]
	if !ok {
		call = &pullCall{done: make(chan struct{})}
		p.inflight[key] = call
		go func() {
			// Detached from the first caller: the others still want the image.
			p.run(context.WithoutCancel(ctx), req, call)
			p.mu.Lock()
			delete(p.inflight, key)
			p.mu.Unlock()
			close(call.done)
		}()
	} else {
		p.log.Debug().Str(logger.FieldTaskARN, req.TaskArn).Str(logger.FieldContainer, req.ContainerName).
			Str("image", req.Image).Msg("waiting for the pull of the image already running")
	}
	p.mu.Unlock()
	// Every waiter tells its caller how far the shared pull has got.
	tick := time.NewTicker(bus.ProgressInterval)
	defer tick.Stop()
	for {
		select {
		case <-call.done:
			return call, nil
		case <-tick.C:
			if v, ok := call.progress.Load().(string); ok {
				bus.SetStatus(ctx, v)
			}
		case <-ctx.Done():
			return nil, engineError(ctx.Err(), bus.CodePullFailed, false, "pulling %s", req.Image)
		}
	}
}

// run makes one pull from the registry, bounded by the pull timeout
// (ECS_IMAGE_PULL_TIMEOUT), and logs its start and end at info.
func (p *puller) run(ctx context.Context, req bus.PullRequest, call *pullCall) {
	ref := req.Image
	log := p.log.With().Str("image", ref).Logger()
	call.started = p.now()
	log.Info().Str(logger.FieldTaskARN, req.TaskArn).Str(logger.FieldContainer, req.ContainerName).Msg("pulling image")
	defer func() {
		call.stopped = p.now()
		ev := log.Info()
		if call.err != nil {
			ev = log.Warn().Str("error", oneLine(call.err))
		}
		ev.Dur("duration", call.stopped.Sub(call.started)).Int64("bytes", call.bytes).
			Str("size", humanBytes(call.bytes)).Int("attempts", call.attempts).Bool("ok", call.err == nil).
			Msg("image pull ended")
	}()
	pctx, cancel := context.WithTimeout(ctx, p.cfg.PullTimeout)
	defer cancel()
	auth, err := p.auth(pctx, req)
	if err != nil {
		call.err = err
		return
	}
	call.attempts, call.err = p.pullWithRetries(pctx, ref, auth, &call.bytes, &call.progress, log)
	if call.err != nil {
		if pctx.Err() != nil && ctx.Err() == nil {
			// The whole-pull timeout: not worth another try by the caller.
			call.err = fmt.Errorf("Could not transition to pulled; timed out after waiting %s (ECS_IMAGE_PULL_TIMEOUT)", p.cfg.PullTimeout)
		}
		return
	}
	ictx, icancel := context.WithTimeout(ctx, p.cfg.CallTimeout)
	defer icancel()
	call.after, err = p.images.ImageInspect(ictx, ref)
	if err != nil {
		call.err = engineError(err, bus.CodePullFailed, false, "inspecting pulled image %s", ref)
	}
}

// pullWithRetries tries the pull up to PullAttempts times, backing off between
// attempts, and returns how many attempts were made. An engine that does not answer
// comes back as a *bus.Error right away; a registry answer that cannot change (no
// such repository, access denied, bad reference) is not retried. bytes is the
// amount downloaded so far, over every attempt.
func (p *puller) pullWithRetries(ctx context.Context, ref, auth string, bytes *int64, progress *atomic.Value, log zerolog.Logger) (int, error) {
	bo := backoff.Backoff{Min: p.cfg.PullRetryWait, Max: 8 * p.cfg.PullRetryWait, Factor: 2, Jitter: 0.2}.Start()
	for attempt := 1; ; attempt++ {
		n, err := p.pullOnce(ctx, ref, auth, progress, log)
		*bytes += n
		if err == nil {
			return attempt, nil
		}
		if ctx.Err() != nil {
			return attempt, err
		}
		if errors.Is(err, errPullInactive) {
			log.Warn().Dur("inactivity_timeout", p.cfg.PullInactivityTimeout).Int("attempt", attempt).
				Msg("the pull made no progress for the inactivity timeout; cancelled")
		} else if be := engineError(err, bus.CodePullFailed, false, "pulling %s", ref); bus.CodeOf(be) != bus.CodePullFailed {
			return attempt, be
		}
		if attempt >= p.cfg.PullAttempts || permanentPullError(err) {
			return attempt, err
		}
		if !backoff.Sleep(ctx, bo.Next()) {
			return attempt, err
		}
	}
}

func permanentPullError(err error) bool {
	return cerrdefs.IsNotFound(err) || cerrdefs.IsUnauthorized(err) ||
		cerrdefs.IsPermissionDenied(err) || cerrdefs.IsInvalidArgument(err)
}

// errPullInactive is a pull cancelled because its progress stream stayed silent
// for ECS_IMAGE_PULL_INACTIVITY_TIMEOUT; the text is the real agent's.
var errPullInactive = errors.New("inactivity time exceeded timeout while pulling image")

// pullOnce runs one pull to its end and returns the bytes it downloaded. The engine
// reports failures in the middle of a pull inside the progress stream, not as the
// call's error, so the stream is read to its end and its error messages are
// returned. A stream silent for the inactivity timeout is cancelled; progress is
// logged at debug every progressLogInterval.
func (p *puller) pullOnce(ctx context.Context, ref, auth string, progress *atomic.Value, log zerolog.Logger) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stalled atomic.Bool
	idle := time.AfterFunc(p.cfg.PullInactivityTimeout, func() { stalled.Store(true); cancel() })
	defer idle.Stop()
	rc, err := p.images.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: auth})
	if err != nil {
		if stalled.Load() {
			return 0, errPullInactive
		}
		return 0, err
	}
	// Closing the stream is what unblocks a read when the timer cancels.
	stop := context.AfterFunc(ctx, func() { _ = rc.Close() })
	defer stop()
	defer rc.Close()
	var prog pullProgress
	lastLog := p.now()
	dec := json.NewDecoder(rc)
	for {
		var m progressMessage
		if err := dec.Decode(&m); err != nil {
			switch {
			case errors.Is(err, io.EOF):
				return prog.downloaded(), nil
			case stalled.Load():
				return prog.downloaded(), errPullInactive
			case ctx.Err() != nil:
				return prog.downloaded(), ctx.Err()
			}
			return prog.downloaded(), fmt.Errorf("reading pull progress: %w", err)
		}
		idle.Reset(p.cfg.PullInactivityTimeout)
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return prog.downloaded(), errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return prog.downloaded(), errors.New(m.Error)
		}
		prog.add(m)
		if total := prog.total(); total > 0 && progress != nil {
			progress.Store(humanBytes(prog.downloaded()) + " of " + humanBytes(total))
		}
		if now := p.now(); now.Sub(lastLog) >= progressLogInterval {
			lastLog = now
			log.Debug().Int64("bytes", prog.downloaded()).Int64("total", prog.total()).
				Msgf("pulling image: %s of %s", humanBytes(prog.downloaded()), humanBytes(prog.total()))
		}
	}
}

// progressLogInterval is how often a running pull's progress is logged at debug.
const progressLogInterval = 5 * time.Second

// progressMessage is one line of the engine's pull progress stream.
type progressMessage struct {
	ID             string `json:"id"`
	Status         string `json:"status"`
	ProgressDetail *struct {
		Current int64 `json:"current"`
		Total   int64 `json:"total"`
	} `json:"progressDetail"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// pullProgress adds up the layers of a pull: what each has downloaded of its size.
type pullProgress struct {
	layers map[string]*layerProgress
}

type layerProgress struct{ current, total int64 }

func (pp *pullProgress) add(m progressMessage) {
	if m.ID == "" {
		return
	}
	if pp.layers == nil {
		pp.layers = map[string]*layerProgress{}
	}
	l := pp.layers[m.ID]
	switch m.Status {
	case "Downloading":
		if l == nil {
			l = &layerProgress{}
			pp.layers[m.ID] = l
		}
		if d := m.ProgressDetail; d != nil {
			l.current = max(l.current, d.Current)
			if d.Total > 0 {
				l.total = d.Total
			}
		}
	case "Download complete":
		if l != nil && l.total > 0 {
			l.current = l.total
		}
	}
}

func (pp *pullProgress) downloaded() int64 {
	var n int64
	for _, l := range pp.layers {
		n += l.current
	}
	return n
}

func (pp *pullProgress) total() int64 {
	var n int64
	for _, l := range pp.layers {
		n += max(l.total, l.current)
	}
	return n
}

// humanBytes writes a size as the engine's progress bar does (12.3MB).
func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// repoDigest picks the digest of ref's repository among an image's RepoDigests
// ("repo@sha256:…"), or the first one when none matches.
func repoDigest(ref string, digests []string) string {
	want := ""
	if named, err := reference.ParseNormalizedNamed(ref); err == nil {
		want = named.Name()
	}
	first := ""
	for _, d := range digests {
		repo, dg, ok := strings.Cut(d, "@")
		if !ok {
			continue
		}
		if first == "" {
			first = dg
		}
		if named, err := reference.ParseNormalizedNamed(repo); err == nil && named.Name() == want {
			return dg
		}
	}
	return first
}
