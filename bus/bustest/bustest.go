// Package bustest starts a private bus for tests: a real embedded NATS server with
// JetStream in a temporary directory, on a random loopback port.
package bustest

import (
	"testing"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/nats-io/nats.go"
)

// Bus is a running test bus.
type Bus struct {
	Server   *bus.Server
	Password string
	Dir      string
}

// Start starts a bus that is shut down when the test ends.
func Start(t testing.TB) *Bus {
	t.Helper()
	dir := t.TempDir()
	srv, err := bus.StartServer(bus.ServerConfig{StoreDir: dir, Port: -1, Password: "test"})
	if err != nil {
		t.Fatalf("starting test bus: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	return &Bus{Server: srv, Password: "test", Dir: dir}
}

// Conn opens a new connection to the bus, closed when the test ends.
func (b *Bus) Conn(t testing.TB, name string) *nats.Conn {
	t.Helper()
	nc, err := bus.Dial(bus.DialConfig{Name: name, URL: b.Server.ClientURL(), Password: b.Password})
	if err != nil {
		t.Fatalf("dialing test bus: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// DialConfig is how a service under test reaches the bus.
func (b *Bus) DialConfig(name string) bus.DialConfig {
	return bus.DialConfig{Name: name, URL: b.Server.ClientURL(), Password: b.Password}
}
