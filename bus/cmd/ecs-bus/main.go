// Command ecs-bus runs the agent's bus on its own: the embedded NATS server with
// JetStream, on 127.0.0.1:$ECS_BUS_PORT (4222), storing under $ECS_DATADIR/bus, with a
// password kept in $ECS_DATADIR/bus/password for the other processes to read.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/config"
	"github.com/ecs-agent/ecs-agent/bus/logger"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ecs-bus:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, flags, err := config.Parse("ecs-bus", os.Args[1:], os.Stderr)
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
	log = log.With().Str(logger.FieldService, "bus").Logger()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	pw, err := bus.LoadOrCreatePassword(bus.CredentialsFile(cfg.DataDir))
	if err != nil {
		return err
	}
	srv, err := bus.StartServer(bus.ServerConfig{
		StoreDir: filepath.Join(cfg.DataDir, "bus"),
		Port:     cfg.BusPort,
		Password: pw,
	})
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	if err := bus.Prepare(ctx, bus.DialConfig{Name: "ecs-bus", InProcess: srv, Password: pw}); err != nil {
		return err
	}
	log.Info().Str("url", srv.ClientURL()).Str("store", filepath.Join(cfg.DataDir, "bus")).Msg("bus ready")
	<-ctx.Done()
	log.Info().Msg("shutting down")
	shutdownDone := make(chan struct{})
	go func() { srv.Shutdown(); close(shutdownDone) }()
	select {
	case <-shutdownDone:
	case <-time.After(10 * time.Second):
	}
	return nil
}
