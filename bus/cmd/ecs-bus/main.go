// Command ecs-bus runs the agent's bus on its own: the embedded NATS server with
// JetStream, on 127.0.0.1:$ECS_BUS_PORT (4222), storing under $ECS_DATADIR/bus, with
// one user per service whose password is kept in $ECS_DATADIR/bus/users/<user> (mode
// 0600; created at first start unless ECS_BUS_PASSWORD_<USER> gives it).
package main

import (
	"context"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/config"
	"github.com/ecs-agent/ecs-agent/bus/logger"
	busmetrics "github.com/ecs-agent/ecs-agent/bus/metrics"
	"github.com/ecs-agent/ecs-agent/bus/process"
)

func main() {
	process.Program{Name: "ecs-bus", Run: run, Health: process.BusServerAnswers}.Main()
}

func run(ctx context.Context, cfg config.Config, log zerolog.Logger) error {
	log = log.With().Str(logger.FieldService, "bus").Logger()
	users, err := bus.LoadOrCreateCredentials(cfg.DataDir, process.BusPasswords(cfg))
	if err != nil {
		return err
	}
	store := filepath.Join(cfg.DataDir, "bus")
	srv, err := bus.StartServer(bus.ServerConfig{StoreDir: store, Port: cfg.BusPort, Users: users, Log: log})
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	if err := bus.Prepare(ctx, bus.DialConfig{Name: "ecs-bus", User: bus.UserAdmin, InProcess: srv, Password: users[bus.UserAdmin], Log: log}); err != nil {
		return err
	}
	if cfg.PrometheusMetrics && cfg.BusMetricsPort > 0 {
		nc, err := bus.Dial(bus.DialConfig{Name: "ecs-bus-metrics", User: bus.UserAdmin, InProcess: srv, Password: users[bus.UserAdmin], Log: log})
		if err != nil {
			return err
		}
		defer nc.Close()
		js, err := bus.JetStream(nc)
		if err != nil {
			return err
		}
		reg := busmetrics.NewRegistry()
		if err := busmetrics.RegisterJetStream(reg, js, log); err != nil {
			return err
		}
		if err := busmetrics.ServeProcess(ctx, cfg, cfg.BusMetricsPort, "ECS_BUS_METRICS_PORT", reg, log); err != nil {
			return err
		}
	} else if err := busmetrics.ServeProcess(ctx, cfg, cfg.BusMetricsPort, "ECS_BUS_METRICS_PORT", nil, log); err != nil {
		return err
	}
	log.Info().Str("url", srv.ClientURL()).Str("store", store).Str("credentials", bus.CredentialsDir(cfg.DataDir)).Msg("bus ready")
	<-ctx.Done()
	log.Info().Msg("shutting down")
	return nil
}
