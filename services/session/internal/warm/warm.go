package warm

import (
	_ "github.com/aws/aws-sdk-go-v2/service/ecs"
	_ "github.com/aws/aws-sdk-go-v2/credentials"
	_ "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	_ "github.com/gorilla/websocket"
	_ "github.com/ecs-agent/ecs-agent/bus"
)
