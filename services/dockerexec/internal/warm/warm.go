package warm

import (
	_ "github.com/docker/docker/client"
	_ "github.com/rs/zerolog"
	_ "github.com/nats-io/nats.go/micro"
)
