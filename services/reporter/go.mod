module github.com/ecs-agent/ecs-agent/services/reporter

go 1.26.0

require github.com/ecs-agent/ecs-agent/bus v0.0.0
replace github.com/ecs-agent/ecs-agent/bus => ../../bus
