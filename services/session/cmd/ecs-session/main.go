// Command ecs-session registers the container instance and keeps its ACS
// connection, storing the tasks the control plane assigns on the bus.
package main

import (
	"context"
	"errors"

	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/config"
	busmetrics "github.com/ecs-agent/ecs-agent/bus/metrics"
	"github.com/ecs-agent/ecs-agent/bus/process"
	"github.com/ecs-agent/ecs-agent/services/session"
)

const name = "ecs-session"

func main() {
	process.Program{
		Name: name,
		Run:  run,
		// A registration that can never succeed exits 5, which supervisors do not restart.
		Terminal: func(err error) bool { return errors.Is(err, session.ErrTerminal) },
		Health:   process.BusAnswers(bus.UserSession),
	}.Main()
}

func run(ctx context.Context, cfg config.Config, log zerolog.Logger) error {
	nc, err := process.Dial(name, bus.UserSession, cfg, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	reg := busmetrics.NewRegistry()
	if err := busmetrics.RegisterBusRTT(reg, nc); err != nil {
		return err
	}
	if err := busmetrics.ServeProcess(ctx, cfg, cfg.SessionMetricsPort, "ECS_SESSION_METRICS_PORT", reg, log); err != nil {
		return err
	}
	sc := session.ConfigFrom(cfg)
	sc.Metrics = reg
	svc, err := session.New(sc, nc, log)
	if err != nil {
		return err
	}
	return svc.Run(ctx)
}
