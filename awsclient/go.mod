module github.com/ecs-agent/ecs-agent/awsclient

go 1.26.0
