// Command ecs-dockerexec runs the agent's Docker executor: the one process that talks
// to the Docker engine, serving container commands and publishing container events
// on the bus.
package main

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/config"
	busmetrics "github.com/ecs-agent/ecs-agent/bus/metrics"
	"github.com/ecs-agent/ecs-agent/bus/process"
	"github.com/ecs-agent/ecs-agent/services/dockerexec"
)

const name = "ecs-dockerexec"

func main() {
	process.Program{Name: name, Run: run, Health: process.BusAnswers(bus.UserDockerexec)}.Main()
}

func run(ctx context.Context, cfg config.Config, log zerolog.Logger) error {
	nc, err := process.Dial(name, bus.UserDockerexec, cfg, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	reg := busmetrics.NewRegistry()
	if err := busmetrics.RegisterBusRTT(reg, nc); err != nil {
		return err
	}
	if err := busmetrics.ServeProcess(ctx, cfg, cfg.DockerexecMetricsPort, "ECS_DOCKEREXEC_METRICS_PORT", reg, log); err != nil {
		return err
	}
	svc, err := dockerexec.New(dockerexec.ConfigFrom(cfg), dockerexec.Deps{Conn: nc, Log: log, Metrics: reg})
	if err != nil {
		return err
	}
	return svc.Run(ctx)
}
