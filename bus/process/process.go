// Package process is the start-up every agent binary shares, so that the bus, each
// service alone and the all-in-one agent read their flags and configuration, log, stop
// on a signal and choose their exit status the same way:
//
//	flags + ECS_* ─▶ logger ─▶ context ended by SIGINT/SIGTERM ─▶ Run ─▶ exit status
//
// A main is one Program literal.
package process

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/config"
	"github.com/ecs-agent/ecs-agent/bus/logger"
)

// Exit statuses of the real agent: 1 asks a supervisor to restart the process, 5 says
// a restart cannot help (for example a cluster that does not exist).
const (
	ExitRetry    = 1
	ExitTerminal = 5
)

// Program is one agent binary.
type Program struct {
	// Name is the binary's name, used in flag help, errors and the bus connection.
	Name string
	// Run does the work until ctx ends; nil means a clean stop.
	Run func(ctx context.Context, cfg config.Config, log zerolog.Logger) error
	// Terminal reports whether an error from Run is one a restart cannot mend; nil
	// means none is.
	Terminal func(error) bool
	// Health is what -healthcheck asks the running process of this binary (see
	// Probe); nil means the binary has no health check.
	Health Probe
}

// Main runs the program with the process's arguments and exits with its status.
func (p Program) Main() {
	os.Exit(p.Exec(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// Exec runs the program and returns its exit status: 0 for -version, -h and a clean
// stop; ExitTerminal for a terminal error; ExitRetry for any other. Errors before the
// logger exists go to stderr, later ones to the log.
func (p Program) Exec(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, flags, err := config.Parse(p.Name, args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
		return ExitRetry
	}
	if flags.Version {
		fmt.Fprintln(stdout, config.VersionString())
		return 0
	}
	if flags.Healthcheck {
		return p.healthcheck(ctx, cfg, stdout, stderr)
	}
	log, closer, err := logger.New(logger.Options{
		Level: cfg.LogLevel, File: cfg.LogFile, FileLevel: cfg.LogLevelOnInstance, Rollover: cfg.LogRolloverType,
		MaxSizeMB: cfg.LogMaxFileSizeMB, MaxRolls: cfg.LogMaxRollCount, Format: cfg.LogOutputFormat,
	})
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
		return ExitRetry
	}
	defer closer.Close()
	for _, w := range cfg.Warnings {
		log.Warn().Msg(w)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go handBack(ctx, log)
	err = p.Run(ctx, cfg, log)
	if err == nil || (ctx.Err() != nil && errors.Is(err, context.Canceled)) {
		return 0
	}
	log.Error().Err(err).Msg(p.Name + " stopped")
	fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
	if p.Terminal != nil && p.Terminal(err) {
		if cfg.WaitOnTerminalError && ctx.Err() == nil {
			// A container restart policy cannot tell 5 from 1: wait, stopped and
			// unhealthy, for the operator instead of being restarted in a loop.
			log.Error().Err(err).Int("exit_status", ExitTerminal).
				Msg(p.Name + ": a restart cannot mend this error; waiting for SIGTERM before exiting (ECS_WAIT_ON_TERMINAL_ERROR=true)")
			<-ctx.Done()
		}
		return ExitTerminal
	}
	return ExitRetry
}

// Dial connects a service running alone to the pod's bus (ECS_BUS_URL or -bus) as
// user u, with the password ECS_BUS_PASSWORD_<USER> gives or else the one the bus
// keeps for u in ECS_DATADIR.
//
// The connection answers the binary's -healthcheck (BusAnswers) for as long as it is
// open.
func Dial(name string, u bus.User, cfg config.Config, log zerolog.Logger) (*nats.Conn, error) {
	nc, err := bus.Dial(bus.DialConfig{
		Name: name, User: u, URL: cfg.BusURL, Log: log,
		Password:     cfg.BusPasswords[string(u)],
		PasswordFile: bus.CredentialFile(cfg.DataDir, u),
	})
	if err != nil {
		return nil, err
	}
	if err := answerHealth(nc, name, u); err != nil {
		nc.Close()
		return nil, fmt.Errorf("%s: answering health checks: %w", name, err)
	}
	return nc, nil
}

// BusPasswords are the passwords the environment gives, by user.
func BusPasswords(cfg config.Config) map[bus.User]string {
	out := map[bus.User]string{}
	for k, v := range cfg.BusPasswords {
		out[bus.User(k)] = v
	}
	return out
}
