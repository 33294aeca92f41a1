// Command ecs-scheduler runs the agent's task engine as its own process, against
// the bus named by ECS_BUS_URL or -bus.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/config"
	"github.com/ecs-agent/ecs-agent/bus/logger"
	"github.com/ecs-agent/ecs-agent/services/scheduler"
)

func main() {
	cfg, flags, err := config.Parse("ecs-scheduler", os.Args[1:], os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if flags.Version {
		fmt.Println(config.VersionString())
		return
	}
	log, closer, err := logger.New(cfg.LogLevel, cfg.LogFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer closer.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	nc, err := bus.Dial(bus.DialConfig{Name: "ecs-scheduler", URL: cfg.BusURL, PasswordFile: bus.CredentialsFile(cfg.DataDir)})
	if err != nil {
		log.Error().Err(err).Msg("connecting to the bus")
		os.Exit(1)
	}
	defer nc.Close()
	if err := scheduler.New(scheduler.ConfigFrom(cfg), nc, log).Run(ctx); err != nil {
		log.Error().Err(err).Msg("scheduler stopped")
		os.Exit(1)
	}
}
