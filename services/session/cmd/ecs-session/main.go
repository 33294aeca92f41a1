// Command ecs-session registers the container instance and keeps its ACS
// connection, storing the tasks the control plane assigns on the bus.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/config"
	"github.com/ecs-agent/ecs-agent/bus/logger"
	"github.com/ecs-agent/ecs-agent/services/session"
)

const name = "ecs-session"

// exitTerminal is the real agent's exit code for a registration that can never
// succeed; ecs-init does not restart it.
const exitTerminal = 5

func main() {
	os.Exit(run())
}

func run() int {
	cfg, flags, err := config.Parse(name, os.Args[1:], os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if flags.Version {
		fmt.Println(config.VersionString())
		return 0
	}
	log, closer, err := logger.New(cfg.LogLevel, cfg.LogFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer closer.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	nc, err := bus.Dial(bus.DialConfig{Name: name, URL: cfg.BusURL, PasswordFile: bus.CredentialsFile(cfg.DataDir)})
	if err != nil {
		log.Error().Err(err).Msg("connecting to the bus")
		return 1
	}
	defer nc.Close()
	svc, err := session.New(session.ConfigFrom(cfg), nc, log)
	if err != nil {
		log.Error().Err(err).Msg("starting the session")
		return 1
	}
	if err := svc.Run(ctx); err != nil {
		log.Error().Err(err).Msg("session stopped")
		if errors.Is(err, session.ErrTerminal) {
			return exitTerminal
		}
		return 1
	}
	return 0
}
