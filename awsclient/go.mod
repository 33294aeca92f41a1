module github.com/ecs-agent/ecs-agent/awsclient

go 1.26.0

require (
	github.com/aws/aws-sdk-go-v2 v1.48.0
	github.com/gorilla/websocket v1.5.3
)

require github.com/aws/smithy-go v1.28.9 // indirect
