// Command ecs-scheduler runs the agent's task engine as its own process, against
// the bus named by ECS_BUS_URL or -bus.
package main

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/config"
	busmetrics "github.com/ecs-agent/ecs-agent/bus/metrics"
	"github.com/ecs-agent/ecs-agent/bus/process"
	"github.com/ecs-agent/ecs-agent/services/scheduler"
)

const name = "ecs-scheduler"

func main() {
	process.Program{Name: name, Run: run, Health: process.BusAnswers(bus.UserScheduler)}.Main()
}

func run(ctx context.Context, cfg config.Config, log zerolog.Logger) error {
	nc, err := process.Dial(name, bus.UserScheduler, cfg, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	reg := busmetrics.NewRegistry()
	if err := busmetrics.RegisterBusRTT(reg, nc); err != nil {
		return err
	}
	if err := busmetrics.ServeProcess(ctx, cfg, cfg.SchedulerMetricsPort, "ECS_SCHEDULER_METRICS_PORT", reg, log); err != nil {
		return err
	}
	sc := scheduler.ConfigFrom(cfg)
	sc.Metrics = reg
	return scheduler.New(sc, nc, log).Run(ctx)
}
