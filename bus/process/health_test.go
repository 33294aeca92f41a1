package process

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/bustest"
	"github.com/ecs-agent/ecs-agent/bus/config"
)

func busConfig(t *testing.T, b *bustest.Bus) config.Config {
	t.Helper()
	url := b.Server.ClientURL()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(url, "nats://"))
	cfg, err := config.FromEnv(func(k string) (string, bool) {
		switch k {
		case "ECS_BUS_URL":
			return url, true
		case "ECS_BUS_PORT":
			return port, true
		case "ECS_DATADIR":
			return t.TempDir(), true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.BusPasswords = map[string]string{}
	for u, pw := range b.Passwords {
		cfg.BusPasswords[string(u)] = pw
	}
	return cfg
}

func probe(p Probe, cfg config.Config) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return p(ctx, cfg)
}

func TestBusAnswersWhileTheServiceIsConnected(t *testing.T) {
	b := bustest.Start(t)
	cfg := busConfig(t, b)
	if err := probe(BusAnswers(bus.UserScheduler), cfg); err == nil || !strings.Contains(err.Error(), "scheduler") {
		t.Fatalf("no scheduler connected: %v", err)
	}
	nc, err := Dial("ecs-scheduler", bus.UserScheduler, cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := probe(BusAnswers(bus.UserScheduler), cfg); err != nil {
		t.Fatalf("scheduler connected: %v", err)
	}
	// Another service's connection does not answer for the scheduler.
	if err := probe(BusAnswers(bus.UserSession), cfg); err == nil {
		t.Fatal("session probe answered by the scheduler")
	}
	nc.Close()
	if err := probe(BusAnswers(bus.UserScheduler), cfg); err == nil {
		t.Fatal("scheduler gone, probe still passes")
	}
}

func TestBusServerAnswers(t *testing.T) {
	b := bustest.Start(t)
	cfg := busConfig(t, b)
	if err := probe(BusServerAnswers, cfg); err != nil {
		t.Fatalf("bus running: %v", err)
	}
	b.Server.Shutdown()
	if err := probe(BusServerAnswers, cfg); err == nil {
		t.Fatal("bus stopped, probe still passes")
	}
}

func TestIntrospectionAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/metadata" {
			http.NotFound(w, r)
		}
	}))
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	cfg := config.Defaults()
	cfg.IntrospectionPort, _ = strconv.Atoi(port)
	if err := probe(IntrospectionAnswers, cfg); err != nil {
		t.Fatalf("introspection up: %v", err)
	}
	srv.Close()
	if err := probe(IntrospectionAnswers, cfg); err == nil {
		t.Fatal("introspection down, probe still passes")
	}
}

func TestHealthcheckFlag(t *testing.T) {
	t.Setenv("ECS_CONFIG_FILE", "/dev/null")
	var probed bool
	ok := Program{Name: "ecs-test", Run: func(context.Context, config.Config, zerolog.Logger) error {
		t.Fatal("-healthcheck ran the program")
		return nil
	}, Health: func(context.Context, config.Config) error { probed = true; return nil }}
	var out, errOut bytes.Buffer
	if got := ok.Exec(context.Background(), []string{"-healthcheck"}, &out, &errOut); got != 0 || !probed || !strings.Contains(out.String(), "healthy") {
		t.Fatalf("healthy: exit %d probed %v out %q err %q", got, probed, out.String(), errOut.String())
	}
	bad := ok
	bad.Health = func(context.Context, config.Config) error { return errFatal }
	if got := bad.Exec(context.Background(), []string{"-healthcheck"}, &out, &errOut); got != ExitRetry || !strings.Contains(errOut.String(), "unhealthy: cluster gone") {
		t.Fatalf("unhealthy: exit %d err %q", got, errOut.String())
	}
	none := ok
	none.Health = nil
	if got := none.Exec(context.Background(), []string{"-healthcheck"}, &out, &errOut); got != ExitRetry {
		t.Fatalf("no probe: exit %d", got)
	}
}

// With ECS_WAIT_ON_TERMINAL_ERROR a terminal error keeps the process waiting until it
// is signalled, then exits 5; without it, it exits 5 at once.
func TestTerminalErrorWaits(t *testing.T) {
	t.Setenv("ECS_CONFIG_FILE", "/dev/null")
	p := Program{
		Name:     "ecs-test",
		Run:      func(context.Context, config.Config, zerolog.Logger) error { return errFatal },
		Terminal: func(err error) bool { return err == errFatal },
	}
	var out, errOut bytes.Buffer
	if got := p.Exec(context.Background(), []string{"-loglevel", "crit"}, &out, &errOut); got != ExitTerminal {
		t.Fatalf("exit %d", got)
	}
	t.Setenv("ECS_WAIT_ON_TERMINAL_ERROR", "true")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- p.Exec(ctx, []string{"-loglevel", "crit"}, &out, &errOut) }()
	select {
	case got := <-done:
		t.Fatalf("exited %d without waiting", got)
	case <-time.After(300 * time.Millisecond):
	}
	cancel()
	select {
	case got := <-done:
		if got != ExitTerminal {
			t.Fatalf("exit %d after the signal, want %d", got, ExitTerminal)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still waiting after the signal")
	}
}
