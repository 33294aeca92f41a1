// Command amazon-ecs-agent is the all-in-one agent: the bus in-process (no TCP
// listener) and the four services, each on its own in-process connection, with the
// same New/Run as when they run as separate processes. This binary only wires.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/config"
	"github.com/ecs-agent/ecs-agent/bus/logger"
	"github.com/ecs-agent/ecs-agent/services/dockerexec"
	"github.com/ecs-agent/ecs-agent/services/reporter"
	"github.com/ecs-agent/ecs-agent/services/scheduler"
	"github.com/ecs-agent/ecs-agent/services/session"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

func main() {
	err := run()
	switch {
	case err == nil:
	case errors.Is(err, session.ErrTerminal):
		fmt.Fprintln(os.Stderr, "amazon-ecs-agent:", err)
		os.Exit(5) // terminal: do not restart
	default:
		fmt.Fprintln(os.Stderr, "amazon-ecs-agent:", err)
		os.Exit(1)
	}
}

// service is what every service of the agent is once built.
type service interface {
	Run(ctx context.Context) error
}

func run() error {
	cfg, flags, err := config.Parse("amazon-ecs-agent", os.Args[1:], os.Stderr)
	if err != nil {
		return err
	}
	if flags.Version {
		fmt.Println(config.VersionString())
		return nil
	}
	log, closer, err := logger.New(cfg.LogLevel, cfg.LogFile)
	if err != nil {
		return err
	}
	defer closer.Close()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	pw, err := bus.LoadOrCreatePassword(bus.CredentialsFile(cfg.DataDir))
	if err != nil {
		return err
	}
	srv, err := bus.StartServer(bus.ServerConfig{
		StoreDir:   filepath.Join(cfg.DataDir, "bus"),
		DontListen: true,
		Password:   pw,
	})
	if err != nil {
		return err
	}
	defer srv.Shutdown()

	conn := func(name string) (*nats.Conn, error) {
		return bus.Dial(bus.DialConfig{Name: name, InProcess: srv, Password: pw})
	}

	type built struct {
		name string
		svc  service
		nc   *nats.Conn
	}
	var services []built
	add := func(name string, mk func(nc *nats.Conn, l zerolog.Logger) (service, error)) error {
		nc, err := conn(name)
		if err != nil {
			return err
		}
		s, err := mk(nc, log)
		if err != nil {
			nc.Close()
			return err
		}
		services = append(services, built{name, s, nc})
		return nil
	}
	steps := []struct {
		name string
		mk   func(nc *nats.Conn, l zerolog.Logger) (service, error)
	}{
		{"dockerexec", func(nc *nats.Conn, l zerolog.Logger) (service, error) {
			return dockerexec.New(dockerexec.ConfigFrom(cfg), dockerexec.Deps{Conn: nc, Log: l})
		}},
		{"scheduler", func(nc *nats.Conn, l zerolog.Logger) (service, error) {
			return scheduler.New(scheduler.ConfigFrom(cfg), nc, l), nil
		}},
		{"reporter", func(nc *nats.Conn, l zerolog.Logger) (service, error) {
			return reporter.New(reporter.ConfigFrom(cfg), nc, l)
		}},
		{"session", func(nc *nats.Conn, l zerolog.Logger) (service, error) {
			return session.New(session.ConfigFrom(cfg), nc, l)
		}},
	}
	for _, s := range steps {
		if err := add(s.name, s.mk); err != nil {
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
