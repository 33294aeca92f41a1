// Command ecs-bus runs the agent's bus on its own: the embedded NATS server with
// JetStream, on 127.0.0.1:$ECS_BUS_PORT (4222), storing under $ECS_DATADIR/bus, with a
// password kept in $ECS_DATADIR/bus/password for the other processes to read.
package main

import (
	"context"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/config"
	"github.com/ecs-agent/ecs-agent/bus/logger"
	"github.com/ecs-agent/ecs-agent/bus/process"
)

func main() {
	process.Program{Name: "ecs-bus", Run: run}.Main()
}

func run(ctx context.Context, cfg config.Config, log zerolog.Logger) error {
	log = log.With().Str(logger.FieldService, "bus").Logger()
	pw, err := bus.LoadOrCreatePassword(bus.CredentialsFile(cfg.DataDir))
	if err != nil {
		return err
	}
	store := filepath.Join(cfg.DataDir, "bus")
	srv, err := bus.StartServer(bus.ServerConfig{StoreDir: store, Port: cfg.BusPort, Password: pw})
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	if err := bus.Prepare(ctx, bus.DialConfig{Name: "ecs-bus", InProcess: srv, Password: pw}); err != nil {
		return err
	}
	log.Info().Str("url", srv.ClientURL()).Str("store", store).Msg("bus ready")
	<-ctx.Done()
	log.Info().Msg("shutting down")
	return nil
}
