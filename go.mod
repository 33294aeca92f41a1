module github.com/ecs-agent/ecs-agent

go 1.26.0

require github.com/ecs-agent/ecs-agent/bus v0.0.0

require github.com/ecs-agent/ecs-agent/controlplane v0.0.0

require github.com/ecs-agent/ecs-agent/services/session v0.0.0

require github.com/ecs-agent/ecs-agent/services/scheduler v0.0.0

require github.com/ecs-agent/ecs-agent/services/dockerexec v0.0.0

require github.com/ecs-agent/ecs-agent/services/reporter v0.0.0

require (
	github.com/aws/aws-sdk-go-v2 v1.48.0 // indirect
	github.com/aws/aws-sdk-go-v2/credentials v1.21.0 // indirect
	github.com/aws/aws-sdk-go-v2/internal/configsources v1.5.12 // indirect
	github.com/aws/aws-sdk-go-v2/internal/endpoints/v2 v2.8.12 // indirect
	github.com/aws/aws-sdk-go-v2/service/ecs v1.105.1 // indirect
	github.com/aws/smithy-go v1.28.9 // indirect
)

replace github.com/ecs-agent/ecs-agent/bus => ./bus

replace github.com/ecs-agent/ecs-agent/controlplane => ./controlplane

replace github.com/ecs-agent/ecs-agent/services/session => ./services/session

replace github.com/ecs-agent/ecs-agent/services/scheduler => ./services/scheduler

replace github.com/ecs-agent/ecs-agent/services/dockerexec => ./services/dockerexec

replace github.com/ecs-agent/ecs-agent/services/reporter => ./services/reporter
