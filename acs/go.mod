module github.com/ecs-agent/ecs-agent/acs

go 1.26.0
