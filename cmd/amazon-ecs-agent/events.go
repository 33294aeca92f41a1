package main

// amazon-ecs-agent events: a live view of what the instance does. It follows the
// pod's bus (ECS_BUS_URL, as the read-only viewer user) and prints one line per
// desired task from the control plane, container event from Docker, change of a
// task record (task and container transitions, what a task waits for), state report
// for the control plane, and registration. The all-in-one agent's bus is in-process
// and has no listener: follow the five processes or the compose pod.
//
//	amazon-ecs-agent events [--task ARN|ID] [--json]

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/bus/config"
)

// event is one line of the view.
type event struct {
	Time      time.Time `json:"time"`
	Kind      string    `json:"kind"` // desired, docker, task, container, waiting, report, cleanup, registration
	Task      string    `json:"task,omitempty"`
	Container string    `json:"container,omitempty"`
	Status    string    `json:"status,omitempty"`
	From      string    `json:"from,omitempty"`
	Detail    string    `json:"detail,omitempty"`
}

func (e event) text() string {
	var b strings.Builder
	b.WriteString(e.Time.Local().Format("15:04:05.000"))
	b.WriteString(" ")
	b.WriteString(fmt.Sprintf("%-12s", e.Kind))
	if e.Task != "" {
		b.WriteString(" task " + e.Task)
	}
	if e.Container != "" {
		b.WriteString(" container " + e.Container)
	}
	if e.Status != "" {
		b.WriteString(" " + e.Status)
	}
	if e.From != "" {
		b.WriteString(" (was " + e.From + ")")
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	return b.String()
}

func runEvents(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("amazon-ecs-agent events", flag.ContinueOnError)
	fs.SetOutput(stderr)
	taskFilter := fs.String("task", "", "only this task (its ARN or ID)")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	busURL := fs.String("bus", "", "the bus URL (default ECS_BUS_URL)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintf(stderr, "amazon-ecs-agent events: %v\n", err)
		return 1
	}
	if *busURL != "" {
		cfg.BusURL = *busURL
	}
	pwFile := bus.CredentialFile(cfg.DataDir, bus.UserViewer)
	if cfg.BusPasswords[string(bus.UserViewer)] == "" {
		if _, err := os.Stat(pwFile); err != nil {
			fmt.Fprintf(stderr, "amazon-ecs-agent events: no password for the bus user viewer: %s is not readable (%v); "+
				"set ECS_DATADIR to the bus's data directory or ECS_BUS_PASSWORD_VIEWER\n", pwFile, err)
			return 1
		}
	}
	nc, err := bus.Dial(bus.DialConfig{
		Name: "amazon-ecs-agent-events", User: bus.UserViewer, URL: cfg.BusURL, Log: zerolog.Nop(),
		Password: cfg.BusPasswords[string(bus.UserViewer)], PasswordFile: pwFile,
	})
	if err != nil {
		fmt.Fprintf(stderr, "amazon-ecs-agent events: connecting to the bus at %s: %v\n", cfg.BusURL, err)
		return 1
	}
	defer nc.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	want := bus.TaskID(*taskFilter)
	out := make(chan event, 256)
	v := &viewer{records: map[string]bus.TaskRecord{}}
	if err := v.subscribe(nc, out); err != nil {
		fmt.Fprintf(stderr, "amazon-ecs-agent events: %v\n", err)
		return 1
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "following the bus at %s (Ctrl-C to stop)\n", cfg.BusURL)
	}
	enc := json.NewEncoder(stdout)
	for {
		select {
		case <-ctx.Done():
			return 0
		case e := <-out:
			if want != "" && e.Task != want {
				continue
			}
			if *asJSON {
				_ = enc.Encode(e)
			} else {
				fmt.Fprintln(stdout, e.text())
			}
		}
	}
}

// viewer turns bus messages into events. Task records are compared with the last
// one seen of the same task, so that only what changed is printed. Its state is
// touched by the NATS delivery goroutine only (one subscription handler at a time
// per connection, since all use the same handler below).
type viewer struct {
	records map[string]bus.TaskRecord // by key
}

func (v *viewer) subscribe(nc *nats.Conn, out chan<- event) error {
	// One channel-based subscription for every subject, so that messages are handled
	// in the order the bus delivers them, one at a time.
	msgs := make(chan *nats.Msg, 1024)
	for _, subj := range []string{bus.SubjectDesiredAll, bus.SubjectEventsAll, bus.SubjectOutboxAll,
		"$KV." + bus.BucketTasks + ".>", "$KV." + bus.BucketInstance + ".>"} {
		if _, err := nc.ChanSubscribe(subj, msgs); err != nil {
			return fmt.Errorf("following %s: %w", subj, err)
		}
	}
	if err := nc.Flush(); err != nil {
		return err
	}
	go func() {
		for m := range msgs {
			for _, e := range v.handle(m, time.Now()) {
				out <- e
			}
		}
	}()
	return nil
}

func (v *viewer) handle(m *nats.Msg, now time.Time) []event {
	switch {
	case strings.HasPrefix(m.Subject, bus.Prefix+".desired."):
		var d bus.DesiredTask
		if json.Unmarshal(m.Data, &d) != nil {
			return nil
		}
		detail := "from message " + d.MessageID
		if d.LoadError != "" {
			detail = d.LoadError
		}
		return []event{{Time: now, Kind: "desired", Task: bus.TaskID(d.Task.Arn), Status: string(d.Task.DesiredStatus), Detail: detail}}
	case strings.HasPrefix(m.Subject, bus.Prefix+".events."):
		var c bus.ContainerEvent
		if json.Unmarshal(m.Data, &c) != nil {
			return nil
		}
		detail := "docker " + c.Action
		if c.ExitCode != nil {
			detail += fmt.Sprintf(", exit %d", *c.ExitCode)
		}
		if c.Health != "" {
			detail += ", health " + string(c.Health)
		}
		return []event{{Time: now, Kind: "docker", Task: bus.TaskID(c.TaskArn), Container: c.ContainerName, Status: string(c.Status), Detail: detail}}
	case strings.HasPrefix(m.Subject, bus.Prefix+".outbox."):
		var r bus.TaskStateChange
		if json.Unmarshal(m.Data, &r) != nil {
			return nil
		}
		var parts []string
		for _, c := range r.Containers {
			p := c.ContainerName + "=" + c.Status
			if c.ExitCode != nil {
				p += fmt.Sprintf("(exit %d)", *c.ExitCode)
			}
			parts = append(parts, p)
		}
		detail := "to the control plane"
		if len(parts) > 0 {
			detail += ", containers " + strings.Join(parts, " ")
		}
		if r.Reason != "" {
			detail += ", reason " + r.Reason
		}
		return []event{{Time: now, Kind: "report", Task: bus.TaskID(r.TaskArn), Status: r.Status, Detail: detail}}
	case strings.HasPrefix(m.Subject, "$KV."+bus.BucketTasks+"."):
		return v.record(strings.TrimPrefix(m.Subject, "$KV."+bus.BucketTasks+"."), m, now)
	case strings.HasPrefix(m.Subject, "$KV."+bus.BucketInstance+"."):
		var reg bus.Registration
		if len(m.Data) == 0 || json.Unmarshal(m.Data, &reg) != nil || reg.ContainerInstanceArn == "" {
			return nil
		}
		return []event{{Time: now, Kind: "registration", Status: "REGISTERED", Detail: reg.ContainerInstanceArn + " in " + reg.Cluster}}
	}
	return nil
}

// record compares a task record with the last one seen of the task.
func (v *viewer) record(key string, m *nats.Msg, now time.Time) []event {
	if op := m.Header.Get("KV-Operation"); op == "DEL" || op == "PURGE" || len(m.Data) == 0 {
		old, ok := v.records[key]
		delete(v.records, key)
		if !ok {
			return []event{{Time: now, Kind: "cleanup", Task: key, Detail: "task record removed"}}
		}
		return []event{{Time: now, Kind: "cleanup", Task: bus.TaskID(old.Spec.Arn), Detail: "containers removed, task forgotten"}}
	}
	var rec bus.TaskRecord
	if json.Unmarshal(m.Data, &rec) != nil {
		return nil
	}
	old := v.records[key]
	v.records[key] = rec
	id := bus.TaskID(rec.Spec.Arn)
	var out []event
	// The containers first: they move the task.
	prev := map[string]bus.ContainerRecord{}
	for _, c := range old.Containers {
		prev[c.Name] = c
	}
	for _, c := range rec.Containers {
		p := prev[c.Name]
		if c.KnownStatus != p.KnownStatus {
			e := event{Time: now, Kind: "container", Task: id, Container: c.Name, Status: string(c.KnownStatus), From: string(p.KnownStatus)}
			switch {
			case c.KnownStatus == bus.StatusPulled && c.ImageID != "":
				e.Detail = c.Image + " " + c.ImageID
			case c.ExitCode != nil && c.KnownStatus == bus.StatusStopped:
				e.Detail = fmt.Sprintf("exit %d", *c.ExitCode)
				if c.Reason != "" {
					e.Detail += ", " + c.Reason
				}
			case c.Reason != "":
				e.Detail = c.Reason
			}
			out = append(out, e)
		}
	}
	if rec.KnownStatus != old.KnownStatus {
		e := event{Time: now, Kind: "task", Task: id, Status: string(rec.KnownStatus), From: string(old.KnownStatus),
			Detail: rec.Spec.Family + ":" + rec.Spec.Version}
		if rec.Reason != "" && rec.KnownStatus == bus.StatusStopped {
			e.Detail += ", " + rec.Reason
		}
		out = append(out, e)
	}
	if rec.Waiting != old.Waiting && rec.Waiting != "" {
		out = append(out, event{Time: now, Kind: "waiting", Task: id, Detail: rec.Waiting})
	}
	return out
}
