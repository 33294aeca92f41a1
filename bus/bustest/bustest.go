// Package bustest starts a private bus for tests: a real embedded NATS server with
// JetStream in a temporary directory, on a random loopback port, with every user of
// the contract and its permissions, and every stream and bucket prepared.
package bustest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
)

// Bus is a running test bus.
type Bus struct {
	Server *bus.Server
	// Passwords of every user.
	Passwords map[bus.User]string
	// Dir is the bus's data directory; it holds the credentials key
	// (bus.SealKeyFile(Dir)).
	Dir string
}

// Keyring opens what the services seal with the test bus's credentials key.
func (b *Bus) Keyring() *bus.Keyring { return bus.NewKeyring(bus.SealKeyFile(b.Dir)) }

// Start starts a bus that is shut down when the test ends.
func Start(t testing.TB) *Bus {
	t.Helper()
	dir := t.TempDir()
	pws := map[bus.User]string{}
	for _, u := range bus.Users() {
		pws[u] = "test-" + string(u)
	}
	if err := bus.LoadOrCreateSealKey(bus.SealKeyFile(dir)); err != nil {
		t.Fatalf("creating the credentials key: %v", err)
	}
	srv, err := bus.StartServer(bus.ServerConfig{StoreDir: dir, Port: -1, Users: pws, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})
	if err != nil {
		t.Fatalf("starting test bus: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	b := &Bus{Server: srv, Passwords: pws, Dir: dir}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := bus.Prepare(ctx, b.DialConfig(bus.UserAdmin, "prepare")); err != nil {
		t.Fatalf("preparing test bus: %v", err)
	}
	return b
}

// Conn opens an admin connection (for a test's own checks and fakes), closed when the
// test ends.
func (b *Bus) Conn(t testing.TB, name string) *nats.Conn {
	t.Helper()
	return b.ConnAs(t, bus.UserAdmin, name)
}

// ConnAs opens a connection as user u, with u's permissions, closed when the test
// ends.
func (b *Bus) ConnAs(t testing.TB, u bus.User, name string) *nats.Conn {
	t.Helper()
	nc, err := bus.Dial(b.DialConfig(u, name))
	if err != nil {
		t.Fatalf("dialing test bus: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// DialConfig is how a service under test reaches the bus as user u.
func (b *Bus) DialConfig(u bus.User, name string) bus.DialConfig {
	return bus.DialConfig{Name: name, User: u, URL: b.Server.ClientURL(), Password: b.Passwords[u]}
}
