// Command ecs-dockerexec runs the agent's Docker executor: the one process that talks
// to the Docker engine, serving container commands and publishing container events
// on the bus.
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
	"github.com/ecs-agent/ecs-agent/services/dockerexec"
)

const name = "ecs-dockerexec"

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

func run() error {
	cfg, flags, err := config.Parse(name, os.Args[1:], os.Stderr)
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
	nc, err := bus.Dial(bus.DialConfig{Name: name, URL: cfg.BusURL, PasswordFile: bus.CredentialsFile(cfg.DataDir)})
	if err != nil {
		return err
	}
	defer nc.Close()
	svc, err := dockerexec.New(dockerexec.ConfigFrom(cfg), dockerexec.Deps{Conn: nc, Log: log})
	if err != nil {
		return err
	}
	return svc.Run(ctx)
}
