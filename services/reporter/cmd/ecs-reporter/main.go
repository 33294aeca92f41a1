// Command ecs-reporter delivers task state changes to the ECS control plane and
// serves the introspection and metrics endpoints.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/config"
	"github.com/ecs-agent/ecs-agent/bus/logger"
	"github.com/ecs-agent/ecs-agent/services/reporter"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ecs-reporter:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, flags, err := config.Parse(reporter.Name, os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
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

	nc, err := bus.Dial(bus.DialConfig{Name: reporter.Name, URL: cfg.BusURL, PasswordFile: bus.CredentialsFile(cfg.DataDir)})
	if err != nil {
		return err
	}
	defer nc.Close()

	r, err := reporter.New(reporter.ConfigFrom(cfg), nc, log)
	if err != nil {
		return err
	}
	return r.Run(ctx)
}
