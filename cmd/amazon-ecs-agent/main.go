// Command amazon-ecs-agent is the all-in-one agent: the bus in-process (no TCP
// listener) and the four services, each on its own in-process connection, with the
// same New/Run as when they run as separate processes. This binary only wires.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/config"
	"github.com/ecs-agent/ecs-agent/bus/logger"
	busmetrics "github.com/ecs-agent/ecs-agent/bus/metrics"
	"github.com/ecs-agent/ecs-agent/bus/process"
	"github.com/ecs-agent/ecs-agent/services/dockerexec"
	"github.com/ecs-agent/ecs-agent/services/reporter"
	"github.com/ecs-agent/ecs-agent/services/scheduler"
	"github.com/ecs-agent/ecs-agent/services/session"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "events" {
		os.Exit(runEvents(os.Args[2:], os.Stdout, os.Stderr))
	}
	process.Program{
		Name: "amazon-ecs-agent",
		Run:  run,
		// A registration that can never succeed exits 5, which supervisors do not restart.
		Terminal: func(err error) bool { return errors.Is(err, session.ErrTerminal) },
		// The bus is in-process: the agent answers when its introspection does.
		Health: process.IntrospectionAnswers,
	}.Main()
}

// service is what every service of the agent is once built.
type service interface {
	Run(ctx context.Context) error
}

func run(ctx context.Context, cfg config.Config, log zerolog.Logger) error {
	users, err := bus.LoadOrCreateCredentials(cfg.DataDir, process.BusPasswords(cfg))
	if err != nil {
		return err
	}
	srv, err := bus.StartServer(bus.ServerConfig{
		StoreDir:   filepath.Join(cfg.DataDir, "bus"),
		DontListen: true,
		Users:      users,
		Log:        log.With().Str(logger.FieldService, "bus").Logger(),
	})
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	if err := bus.Prepare(ctx, bus.DialConfig{Name: "amazon-ecs-agent", User: bus.UserAdmin, InProcess: srv, Password: users[bus.UserAdmin], Log: log}); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}

	// One registry holds every service's metrics, served by the reporter
	// (ECS_METRICS_PORT); the admin connection reads the JetStream consumers.
	reg := busmetrics.NewRegistry()
	admin, err := bus.Dial(bus.DialConfig{Name: "amazon-ecs-agent", User: bus.UserAdmin, InProcess: srv, Password: users[bus.UserAdmin], Log: log})
	if err != nil {
		return err
	}
	defer admin.Close()
	js, err := bus.JetStream(admin)
	if err != nil {
		return err
	}
	if err := busmetrics.RegisterJetStream(reg, js, log); err != nil {
		return err
	}

	// Each service connects as its own user, with the permissions it has in the pod.
	conn := func(name string, u bus.User) (*nats.Conn, error) {
		return bus.Dial(bus.DialConfig{Name: name, User: u, InProcess: srv, Password: users[u], Log: log})
	}

	type built struct {
		name string
		svc  service
		nc   *nats.Conn
	}
	var services []built
	add := func(name string, u bus.User, mk func(nc *nats.Conn, l zerolog.Logger) (service, error)) error {
		nc, err := conn(name, u)
		if err != nil {
			return err
		}
		s, err := mk(nc, log)
		if err == nil {
			err = busmetrics.RegisterBusRTT(reg, nc)
		}
		if err != nil {
			nc.Close()
			return err
		}
		services = append(services, built{name, s, nc})
		return nil
	}
	steps := []struct {
		name string
		user bus.User
		mk   func(nc *nats.Conn, l zerolog.Logger) (service, error)
	}{
		{"dockerexec", bus.UserDockerexec, func(nc *nats.Conn, l zerolog.Logger) (service, error) {
			return dockerexec.New(dockerexec.ConfigFrom(cfg), dockerexec.Deps{Conn: nc, Log: l, Metrics: reg})
		}},
		{"scheduler", bus.UserScheduler, func(nc *nats.Conn, l zerolog.Logger) (service, error) {
			c := scheduler.ConfigFrom(cfg)
			c.Metrics = reg
			return scheduler.New(c, nc, l), nil
		}},
		{"reporter", bus.UserReporter, func(nc *nats.Conn, l zerolog.Logger) (service, error) {
			c := reporter.ConfigFrom(cfg)
			c.Metrics, c.Gatherer = reg, reg
			return reporter.New(c, nc, l)
		}},
		{"session", bus.UserSession, func(nc *nats.Conn, l zerolog.Logger) (service, error) {
			c := session.ConfigFrom(cfg)
			c.Metrics = reg
			return session.New(c, nc, l)
		}},
	}
	for _, s := range steps {
		if err := add(s.name, s.user, s.mk); err != nil {
			return err
		}
	}
	log.Info().Str("version", config.VersionString()).Str(logger.FieldCluster, cfg.Cluster).Msg("agent starting")

	// The agent stops when the signal comes or when any service fails: a failed
	// service takes the others down with it, so that a supervisor restarts the whole.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errs := make(chan error, len(services))
	for _, b := range services {
		go func(b built) {
			err := b.svc.Run(ctx)
			if err != nil && ctx.Err() == nil {
				err = fmt.Errorf("%s: %w", b.name, err)
				cancel(err)
			}
			errs <- err
		}(b)
	}
	var first error
	for range services {
		if err := <-errs; err != nil && first == nil && !errors.Is(err, context.Canceled) {
			first = err
		}
	}
	for _, b := range services {
		b.nc.Close()
	}
	if cause := context.Cause(ctx); first == nil && cause != nil && !errors.Is(cause, context.Canceled) {
		first = cause
	}
	if first == nil {
		log.Info().Msg("agent stopped; containers keep running")
	}
	return first
}
