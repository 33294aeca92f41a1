package session

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/ecs-agent/ecs-agent/awsclient"
	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/backoff"
	"github.com/ecs-agent/ecs-agent/bus/logger"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	defaultCluster       = "default"
	msgClusterNotFound   = "Cluster not found."
	msgTypeChangeRefused = "Container instance type changes are not supported."
)

// register registers the instance (again, with its stored ARN, when the bucket
// holds a registration for the same cluster) and stores the result in the bucket.
// Called once, from Run, before anything reads the registration.
func (s *Service) register(ctx context.Context) (bus.Registration, error) {
	var prev bus.Registration
	found := false
	err := bus.Retry(ctx, func(ctx context.Context) error {
		err := bus.GetJSON(ctx, s.kv, bus.KeyRegistration, &prev)
		switch {
		case err == nil:
			found = true
		case errors.Is(err, jetstream.ErrKeyNotFound):
		default:
			s.log.Warn().Err(err).Msg("reading the stored registration")
			return err
		}
		return nil
	})
	if err != nil {
		return bus.Registration{}, fmt.Errorf("reading the stored registration: %w", err)
	}
	again := found && prev.ContainerInstanceArn != "" && prev.Cluster == s.cfg.Cluster && !s.cfg.NoCheckpoint
	if found && s.cfg.NoCheckpoint && prev.ContainerInstanceArn != "" {
		s.log.Info().Msg("ECS_CHECKPOINT is false; registering as a new instance")
	}
	if found && !again && prev.ContainerInstanceArn != "" {
		s.log.Info().Str("stored_cluster", prev.Cluster).Msg("stored registration is for another cluster; registering as a new instance")
	}
	// No stored registration but containers of this cluster labelled with an instance:
	// the store was lost under running tasks (DESIGN.md §4.3). Registering as that
	// instance again keeps its tasks where the control plane placed them.
	discovered := false
	if !found && !s.cfg.NoCheckpoint {
		if arn := s.discoverInstance(ctx); arn != "" {
			prev = bus.Registration{Cluster: s.cfg.Cluster, ContainerInstanceArn: arn}
			again, discovered = true, true
		}
	}

	res, err := hostResources(s.cfg)
	if err != nil {
		return bus.Registration{}, err
	}
	if err := s.checkCredentials(ctx); err != nil {
		return bus.Registration{}, err
	}
	id := s.instanceIdentity(ctx)
	in := &ecs.RegisterContainerInstanceInput{
		Cluster:        aws.String(s.cfg.Cluster),
		TotalResources: totalResources(res),
		// The identity document and its signature on EC2; empty in external mode
		// or when IMDS has none, as the real agent sends them.
		InstanceIdentityDocument:          aws.String(id.Document),
		InstanceIdentityDocumentSignature: aws.String(id.Signature),
		// Custom attributes go with the first registration only.
		Attributes: attributes(s.cfg, !again),
		Tags:       instanceTags(s.cfg.InstanceTags),
	}
	if again {
		in.ContainerInstanceArn = aws.String(prev.ContainerInstanceArn)
	}

	out, err := s.registerWithRetry(ctx, in)
	if err != nil && !s.cfg.ClusterSet && isClusterNotFound(err) {
		s.log.Info().Str(logger.FieldCluster, defaultCluster).Msg("cluster not found; creating it")
		if err := s.createDefaultCluster(ctx); err != nil {
			return bus.Registration{}, err
		}
		out, err = s.registerWithRetry(ctx, in)
	}
	if err != nil {
		return bus.Registration{}, classifyRegisterError(err)
	}
	ci := out.ContainerInstance
	if ci == nil || aws.ToString(ci.ContainerInstanceArn) == "" {
		return bus.Registration{}, errors.New("registering the container instance: the response has no containerInstanceArn")
	}
	arn := aws.ToString(ci.ContainerInstanceArn)
	if err := checkEcho(in.Attributes, ci.Attributes); err != nil {
		s.log.Error().Str(logger.FieldInstance, arn).Str("endpoint", s.endpointName()).Err(err).
			Msg("RegisterContainerInstance succeeded, but the ECS API did not keep the attributes sent; the real agent stops here (exit 5)")
		return bus.Registration{}, err
	}
	if again && !discovered && arn != prev.ContainerInstanceArn {
		// The real agent ignores the ARN of a re-registration's response: the
		// instance is the one it registered before.
		s.log.Warn().Str("returned_arn", arn).Str(logger.FieldInstance, prev.ContainerInstanceArn).
			Msg("re-registration returned another ARN; keeping the stored one")
		arn = prev.ContainerInstanceArn
	}
	if id.Parsed.InstanceID != "" {
		s.log.Info().Str("ec2_instance_id", id.Parsed.InstanceID).Str(logger.FieldInstance, arn).
			Msg("registered with the instance identity document")
	}
	reg := bus.Registration{
		Type:                 bus.TypeRegistration,
		Cluster:              s.cfg.Cluster,
		ContainerInstanceArn: arn,
		Region:               s.cfg.Region,
		AvailabilityZone:     availabilityZone(ci.Attributes),
		RegisteredAt:         s.now().UTC(),
		AgentVersion:         s.cfg.AgentVersionString,
		Resources:            res,
	}
	if err := bus.Retry(ctx, func(ctx context.Context) error {
		return bus.PutJSON(ctx, s.kv, bus.KeyRegistration, reg)
	}); err != nil {
		return bus.Registration{}, fmt.Errorf("storing the registration: %w", err)
	}
	s.log.Info().Str(logger.FieldCluster, reg.Cluster).Str(logger.FieldInstance, arn).
		Str("availability_zone", reg.AvailabilityZone).Bool("reregistered", again).
		Msg("container instance registered")
	return reg, nil
}

// registerWithRetry calls RegisterContainerInstance until it succeeds, fails for a
// reason that repeating will not cure, or RegisterRetryFor has passed. All attempts
// of one sequence share one client token, so the control plane can recognise a
// retry of a call whose answer was lost.
func (s *Service) registerWithRetry(ctx context.Context, in *ecs.RegisterContainerInstanceInput) (*ecs.RegisterContainerInstanceOutput, error) {
	token := newUUID()
	t := s.cfg.Timers
	bo := backoff.Backoff{Min: t.RegisterBackoffMin, Max: t.RegisterBackoffMax, Factor: 2, Jitter: 0.2}.Start()
	giveUp := s.now().Add(t.RegisterRetryFor)
	for {
		out, err := s.api.RegisterContainerInstance(ctx, in, withClientToken(token))
		if err == nil {
			return out, nil
		}
		if !isTransient(err) || ctx.Err() != nil {
			return nil, err
		}
		wait := bo.Next()
		what := describeCallError("RegisterContainerInstance", s.endpointName(), err)
		if s.now().Add(wait).After(giveUp) {
			return nil, fmt.Errorf("registering the container instance: still failing after %s: %s: %w", t.RegisterRetryFor, what, err)
		}
		s.log.Warn().Str("error", what).Bool("identity_document_sent", aws.ToString(in.InstanceIdentityDocument) != "").
			Dur("retry_in", wait).Msg("registering the container instance failed; retrying")
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// endpointName is the ECS API the session calls, for log lines.
func (s *Service) endpointName() string {
	if s.cfg.BackendHost != "" {
		return s.cfg.BackendHost
	}
	return "the regional ECS endpoint of " + s.cfg.Region
}

// checkCredentials fetches the agent's credentials once before registering, so
// that a machine with none says so plainly instead of through a failed call.
func (s *Service) checkCredentials(ctx context.Context) error {
	if s.creds == nil {
		return fmt.Errorf("%w: no AWS credentials provider", ErrConfig)
	}
	if _, err := s.creds.Retrieve(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: no AWS credentials for the ECS API: none in the environment or the configuration "+
			"(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), the shared credentials file (AWS_PROFILE, "+
			"ECS_ALTERNATE_CREDENTIAL_PROFILE) nor the instance role: %w", ErrConfig, err)
	}
	return nil
}

// instanceIdentity asks IMDS for the instance identity document and its signature,
// as the real agent does on EC2, retrying for IdentityRetryFor. In external mode, or
// with IMDS disabled or silent, both are sent empty.
func (s *Service) instanceIdentity(ctx context.Context) awsclient.InstanceIdentity {
	if s.cfg.External || s.cfg.NoIID {
		return awsclient.InstanceIdentity{}
	}
	giveUp := s.now().Add(s.cfg.Timers.IdentityRetryFor)
	bo := backoff.Backoff{Min: time.Second, Max: 5 * time.Second, Factor: 2, Jitter: 0.2}.Start()
	for {
		id, err := awsclient.FetchInstanceIdentity(ctx, s.aws)
		switch {
		case err == nil:
			return id
		case errors.Is(err, awsclient.ErrIMDSDisabled):
			s.log.Info().Msg("the instance metadata service is disabled (AWS_EC2_METADATA_DISABLED); registering without an instance identity document")
			return awsclient.InstanceIdentity{}
		}
		wait := bo.Next()
		if ctx.Err() != nil || s.now().Add(wait).After(giveUp) {
			s.log.Warn().Err(err).Dur("tried_for", s.cfg.Timers.IdentityRetryFor).
				Msg("no instance identity document; registering without one (off EC2, set ECS_EXTERNAL=true)")
			return awsclient.InstanceIdentity{}
		}
		s.log.Debug().Err(err).Dur("retry_in", wait).Msg("reading the instance identity document")
		if sleep(ctx, wait) != nil {
			return awsclient.InstanceIdentity{}
		}
	}
}

// createDefaultCluster creates the "default" cluster, retrying transient failures
// like registration does.
func (s *Service) createDefaultCluster(ctx context.Context) error {
	t := s.cfg.Timers
	bo := backoff.Backoff{Min: t.RegisterBackoffMin, Max: t.RegisterBackoffMax, Factor: 2, Jitter: 0.2}.Start()
	giveUp := s.now().Add(t.RegisterRetryFor)
	for {
		out, err := s.api.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(defaultCluster)})
		if err == nil {
			if out.Cluster == nil || aws.ToString(out.Cluster.ClusterName) == "" {
				return errors.New("creating the default cluster: the response has no cluster name")
			}
			return nil
		}
		wait := bo.Next()
		what := describeCallError("CreateCluster", s.endpointName(), err)
		if !isTransient(err) || ctx.Err() != nil || s.now().Add(wait).After(giveUp) {
			return fmt.Errorf("creating the default cluster: %s: %w", what, err)
		}
		s.log.Warn().Str("error", what).Dur("retry_in", wait).Msg("creating the default cluster failed; retrying")
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

func isClusterNotFound(err error) bool {
	_, msg, ok := apiError(err)
	return ok && strings.Contains(msg, msgClusterNotFound)
}

// classifyRegisterError marks the failures the real agent treats as terminal (exit
// code 5, no restart): a rejected request, an unknown configured cluster, an
// instance type change.
func classifyRegisterError(err error) error {
	code, msg, ok := apiError(err)
	if !ok {
		return fmt.Errorf("registering the container instance: %w", err)
	}
	switch {
	case code == "ClientException", code == "InvalidParameterException",
		strings.Contains(msg, msgTypeChangeRefused), strings.Contains(msg, msgClusterNotFound):
		return fmt.Errorf("%w: registering the container instance: %s: %s", ErrTerminal, code, msg)
	}
	return fmt.Errorf("registering the container instance: %w", err)
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if !backoff.Sleep(ctx, d) {
		return ctx.Err()
	}
	return nil
}

// discoverInstance asks dockerexec for the containers of the configured cluster and
// returns the container instance they were created for, when they name exactly one.
// dockerexec may start after the session: it is waited for up to DiscoverWait.
func (s *Service) discoverInstance(ctx context.Context) string {
	var list bus.ListReply
	wait := s.cfg.Timers.DiscoverWait
	err := backoff.Retry(ctx, backoff.Fast, func(ctx context.Context) error {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		var err error
		list, err = bus.Call[bus.ListRequest, bus.ListReply](cctx, s.nc, bus.SubjectDockerList, bus.ListRequest{Cluster: s.cfg.Cluster})
		if err != nil && bus.IsRetryable(err) && s.now().Before(s.started.Add(wait)) {
			return err
		}
		return backoff.Permanent(err)
	})
	if err != nil {
		s.log.Warn().Err(err).Msg("cannot list the cluster's containers; registering as a new instance")
		return ""
	}
	arns := map[string]int{}
	for _, c := range list.Containers {
		if arn := c.Labels[bus.LabelContainerInstanceARN]; arn != "" {
			arns[arn]++
		}
	}
	switch len(arns) {
	case 0:
		return ""
	case 1:
		for arn, n := range arns {
			s.log.Warn().Str(logger.FieldInstance, arn).Int("containers", n).
				Msg("no stored registration, but containers of this cluster belong to a container instance: registering as it again")
			return arn
		}
	}
	names := make([]string, 0, len(arns))
	for arn := range arns {
		names = append(names, arn)
	}
	sort.Strings(names)
	s.log.Error().Strs("container_instance_arns", names).
		Msg("no stored registration, and this cluster's containers belong to several container instances: registering as a new instance")
	return ""
}

// instanceTags are ECS_CONTAINER_INSTANCE_TAGS in the API's shape, sorted by key.
func instanceTags(tags map[string]string) []types.Tag {
	if len(tags) == 0 {
		return nil
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]types.Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}
