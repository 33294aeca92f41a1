module github.com/ecs-agent/ecs-agent/services/dockerexec

go 1.26.0

require github.com/ecs-agent/ecs-agent/bus v0.0.0

require (
	github.com/docker/docker v28.5.2+incompatible // indirect
	github.com/docker/go-connections v0.8.2 // indirect
)

replace github.com/ecs-agent/ecs-agent/bus => ../../bus
