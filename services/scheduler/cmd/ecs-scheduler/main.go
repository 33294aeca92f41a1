// Command ecs-scheduler runs the agent's task engine as its own process, against
// the bus named by ECS_BUS_URL or -bus.
package main

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/config"
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
	return scheduler.New(scheduler.ConfigFrom(cfg), nc, log).Run(ctx)
}
