module github.com/ecs-agent/ecs-agent

go 1.26.0

require github.com/ecs-agent/ecs-agent/bus v0.0.0
require github.com/ecs-agent/ecs-agent/controlplane v0.0.0
require github.com/ecs-agent/ecs-agent/services/session v0.0.0
require github.com/ecs-agent/ecs-agent/services/scheduler v0.0.0
require github.com/ecs-agent/ecs-agent/services/dockerexec v0.0.0
require github.com/ecs-agent/ecs-agent/services/reporter v0.0.0
replace github.com/ecs-agent/ecs-agent/bus => ./bus
replace github.com/ecs-agent/ecs-agent/controlplane => ./controlplane
replace github.com/ecs-agent/ecs-agent/services/session => ./services/session
replace github.com/ecs-agent/ecs-agent/services/scheduler => ./services/scheduler
replace github.com/ecs-agent/ecs-agent/services/dockerexec => ./services/dockerexec
replace github.com/ecs-agent/ecs-agent/services/reporter => ./services/reporter
