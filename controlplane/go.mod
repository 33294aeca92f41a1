module github.com/ecs-agent/ecs-agent/controlplane

go 1.26.0

