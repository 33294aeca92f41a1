package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/config"
)

// HealthTimeout bounds one -healthcheck: a process that has not answered by then is
// unhealthy.
const HealthTimeout = 4 * time.Second

// A Probe asks the running process of a binary whether it answers. It runs in the
// -healthcheck invocation, not in the process it asks about.
type Probe func(ctx context.Context, cfg config.Config) error

// healthcheck runs the program's probe and returns the exit status of -healthcheck.
func (p Program) healthcheck(ctx context.Context, cfg config.Config, stdout, stderr io.Writer) int {
	if p.Health == nil {
		fmt.Fprintf(stderr, "%s: no health check is defined for this binary\n", p.Name)
		return ExitRetry
	}
	ctx, cancel := context.WithTimeout(ctx, HealthTimeout)
	defer cancel()
	if err := p.Health(ctx, cfg); err != nil {
		fmt.Fprintf(stderr, "%s: unhealthy: %v\n", p.Name, err)
		return ExitRetry
	}
	fmt.Fprintf(stdout, "%s: healthy\n", p.Name)
	return 0
}

// BusServerAnswers is the bus's probe: the server on 127.0.0.1:$ECS_BUS_PORT accepts
// the admin user and its JetStream answers.
func BusServerAnswers(ctx context.Context, cfg config.Config) error {
	url := "nats://127.0.0.1:" + strconv.Itoa(cfg.BusPort)
	nc, err := probeDial(url, bus.UserAdmin, cfg)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	if _, err := js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("JetStream at %s: %w", url, err)
	}
	return nil
}

// BusAnswers is the probe of a service connected to the bus as u (Dial): it answers
// a request on bus.HealthSubject(u), asked as u.
func BusAnswers(u bus.User) Probe {
	return func(ctx context.Context, cfg config.Config) error {
		nc, err := probeDial(cfg.BusURL, u, cfg)
		if err != nil {
			return err
		}
		defer nc.Close()
		if _, err := nc.RequestWithContext(ctx, bus.HealthSubject(u), nil); err != nil {
			if errors.Is(err, nats.ErrNoResponders) {
				return fmt.Errorf("no %s process is connected to the bus at %s", u, cfg.BusURL)
			}
			return fmt.Errorf("asking the %s process over the bus at %s: %w", u, cfg.BusURL, err)
		}
		return nil
	}
}

// IntrospectionAnswers is the probe of the process that serves introspection
// (reporter, all-in-one): 127.0.0.1:$ECS_INTROSPECTION_PORT answers /v1/metadata.
func IntrospectionAnswers(ctx context.Context, cfg config.Config) error {
	url := "http://127.0.0.1:" + strconv.Itoa(cfg.IntrospectionPort) + "/v1/metadata"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("introspection: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return fmt.Errorf("introspection: GET %s: %s", url, resp.Status)
	}
	return nil
}

// All is a probe that needs every one of probes to pass.
func All(probes ...Probe) Probe {
	return func(ctx context.Context, cfg config.Config) error {
		for _, p := range probes {
			if err := p(ctx, cfg); err != nil {
				return err
			}
		}
		return nil
	}
}

func probeDial(url string, u bus.User, cfg config.Config) (*nats.Conn, error) {
	return bus.Dial(bus.DialConfig{
		Name: "healthcheck", User: u, URL: url, Log: zerolog.Nop(),
		Password:     cfg.BusPasswords[string(u)],
		PasswordFile: bus.CredentialFile(cfg.DataDir, u),
	})
}

// answerHealth makes the connection of the service connected as u answer its
// health probes for as long as it is open.
func answerHealth(nc *nats.Conn, name string, u bus.User) error {
	_, err := nc.Subscribe(bus.HealthSubject(u), func(m *nats.Msg) {
		_ = m.Respond([]byte(name))
	})
	return err
}
