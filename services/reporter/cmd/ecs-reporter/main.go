// Command ecs-reporter delivers task state changes to the ECS control plane and
// serves the introspection and metrics endpoints.
package main

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/config"
	"github.com/ecs-agent/ecs-agent/bus/process"
	"github.com/ecs-agent/ecs-agent/services/reporter"
)

func main() {
	process.Program{
		Name: reporter.Name,
		Run:  run,
		// Connected to the bus, and serving introspection.
		Health: process.All(process.BusAnswers(bus.UserReporter), process.IntrospectionAnswers),
	}.Main()
}

func run(ctx context.Context, cfg config.Config, log zerolog.Logger) error {
	nc, err := process.Dial(reporter.Name, bus.UserReporter, cfg, log)
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
