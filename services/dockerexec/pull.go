package dockerexec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/image"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/backoff"
)

// Image pull behaviours (ECS_IMAGE_PULL_BEHAVIOR).
const (
	PullDefault      = "default"       // pull; on failure use the cached image if any
	PullAlways       = "always"        // pull; a failure is an error
	PullOnce         = "once"          // pull only if the image was never pulled
	PullPreferCached = "prefer-cached" // pull only if the image is absent
)

// puller pulls images, sharing one pull between concurrent callers of the same
// image and behaviour (several containers of a burst of tasks often name the same
// image).
type puller struct {
	images Images
	cfg    Config
	// auth is the X-Registry-Auth of a pull ("" for none).
	auth func(context.Context, bus.PullRequest) (string, error)

	mu       sync.Mutex
	inflight map[string]*pullCall
}

type pullCall struct {
	done  chan struct{}
	reply bus.PullReply
	err   error
}

func newPuller(images Images, cfg Config, auth func(context.Context, bus.PullRequest) (string, error)) *puller {
	if auth == nil {
		auth = func(context.Context, bus.PullRequest) (string, error) { return "", nil }
	}
	return &puller{images: images, cfg: cfg, auth: auth, inflight: map[string]*pullCall{}}
}

// pull makes req.Image present according to req.Behavior. Callers that arrive while
// the same pull runs wait for it; a caller whose ctx ends stops waiting, but the
// pull goes on for the others, bounded by the pull timeout.
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
	// Pulls share only with pulls of the same credentials.
	key := behavior + "|" + req.Image
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
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.PullTimeout)
			defer cancel()
			call.reply, call.err = p.do(pctx, req, behavior)
			p.mu.Lock()
			delete(p.inflight, key)
			p.mu.Unlock()
			close(call.done)
		}()
	}
	p.mu.Unlock()
	select {
	case <-call.done:
		return call.reply, call.err
	case <-ctx.Done():
		return bus.PullReply{}, engineError(ctx.Err(), bus.CodePullFailed, false, "pulling %s", req.Image)
	}
}

// do runs one pull decision. For now an image already present is never pulled again
// except under "always", so "once" and "prefer-cached" behave alike.
func (p *puller) do(ctx context.Context, req bus.PullRequest, behavior string) (bus.PullReply, error) {
	ref := req.Image
	local, err := p.images.ImageInspect(ctx, ref)
	present := err == nil
	if err != nil && !cerrdefs.IsNotFound(err) {
		return bus.PullReply{}, engineError(err, bus.CodePullFailed, false, "inspecting image %s", ref)
	}
	if present && behavior != PullAlways {
		return bus.PullReply{ImageID: local.ID, Digest: repoDigest(ref, local.RepoDigests)}, nil
	}
	auth, err := p.auth(ctx, req)
	if err != nil {
		return bus.PullReply{}, err
	}
	attempts, pullErr := p.pullWithRetries(ctx, ref, auth)
	if pullErr != nil {
		var be *bus.Error
		if errors.As(pullErr, &be) {
			return bus.PullReply{}, pullErr // the engine is down or too slow: retryable
		}
		if present && behavior != PullAlways {
			return bus.PullReply{ImageID: local.ID, Digest: repoDigest(ref, local.RepoDigests)}, nil
		}
		// The wording of the real agent's reason, which users search for.
		return bus.PullReply{}, bus.Errorf(bus.CodePullFailed,
			"pull image manifest has been retried %d time(s): %s", attempts, oneLine(pullErr))
	}
	after, err := p.images.ImageInspect(ctx, ref)
	if err != nil {
		return bus.PullReply{}, engineError(err, bus.CodePullFailed, false, "inspecting pulled image %s", ref)
	}
	return bus.PullReply{ImageID: after.ID, Digest: repoDigest(ref, after.RepoDigests), Pulled: true}, nil
}

// pullWithRetries tries the pull up to PullAttempts times, backing off between
// attempts, and returns how many attempts were made. An engine that does not answer
// comes back as a *bus.Error right away; a registry answer that cannot change (no
// such repository, access denied, bad reference) is not retried.
func (p *puller) pullWithRetries(ctx context.Context, ref, auth string) (int, error) {
	bo := backoff.Backoff{Min: p.cfg.PullRetryWait, Max: 8 * p.cfg.PullRetryWait, Factor: 2, Jitter: 0.2}.Start()
	for attempt := 1; ; attempt++ {
		err := p.pullOnce(ctx, ref, auth)
		if err == nil {
			return attempt, nil
		}
		if be := engineError(err, bus.CodePullFailed, false, "pulling %s", ref); bus.CodeOf(be) != bus.CodePullFailed {
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

// pullOnce runs one pull to its end. The engine reports failures in the middle of a
// pull inside the progress stream, not as the call's error, so the stream is read to
// its end and its error messages are returned.
func (p *puller) pullOnce(ctx context.Context, ref, auth string) error {
	rc, err := p.images.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: auth})
	if err != nil {
		return err
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("reading pull progress: %w", err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
	}
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
