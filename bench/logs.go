package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"time"
)

// The agent's own timestamps, read from the debug log files (ECS_LOGFILE: every line
// at debug level, JSON, time in RFC3339Nano). Each mark is one kind of line, with
// the field that tells its variant where it has one:
//
//	session    "task received"            a task's payload arrived
//	session    "desired task stored"      desired_status: stored on the bus
//	scheduler  "container step"           step: the Docker call dispatched
//	scheduler  "state change published"   status: the report put in the outbox
//	dockerexec "container created"        ContainerCreate returned
//	dockerexec "container started"        ContainerStart returned
//	dockerexec "container event"          action: the engine's event, on the bus
//	reporter   "state change accepted"    status: submitted and accepted
const (
	markReceived  = "received"
	markStored    = "stored:"    // + desired status
	markStep      = "step:"      // + create, start, stop
	markPublished = "published:" // + task status
	markCreated   = "created"
	markStarted   = "started"
	markEvent     = "event:"    // + start, die
	markAccepted  = "accepted:" // + task status
)

// taskMarks are the times of every mark of one task, in log order.
type taskMarks map[string][]time.Time

// first returns the first time of mark at or after since.
func (m taskMarks) first(mark string, since time.Time) (time.Time, bool) {
	for _, t := range m[mark] {
		if !t.Before(since) {
			return t, true
		}
	}
	return time.Time{}, false
}

type logLine struct {
	Time          time.Time `json:"time"`
	Message       string    `json:"message"`
	TaskARN       string    `json:"task_arn"`
	Status        string    `json:"status"`
	Step          string    `json:"step"`
	Action        string    `json:"action"`
	DesiredStatus string    `json:"desired_status"`
}

func (l logLine) mark() string {
	switch l.Message {
	case "task received":
		return markReceived
	case "desired task stored":
		return markStored + l.DesiredStatus
	case "container step":
		return markStep + l.Step
	case "state change published":
		return markPublished + l.Status
	case "container created":
		return markCreated
	case "container started":
		return markStarted
	case "container event":
		return markEvent + l.Action
	case "state change accepted":
		return markAccepted + l.Status
	}
	return ""
}

// readMarks reads the debug logs and returns the marks of every task.
func readMarks(files []string) (map[string]taskMarks, error) {
	out := map[string]taskMarks{}
	for _, f := range files {
		if err := readMarksFile(f, out); err != nil {
			return nil, err
		}
	}
	for _, m := range out {
		for k, ts := range m {
			sortTimes(ts)
			m[k] = ts
		}
	}
	return out, nil
}

func readMarksFile(path string, out map[string]taskMarks) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	for sc.Scan() {
		b := sc.Bytes()
		if len(b) == 0 || b[0] != '{' || !bytes.Contains(b, []byte(`"task_arn"`)) {
			continue
		}
		var l logLine
		if json.Unmarshal(b, &l) != nil || l.TaskARN == "" {
			continue
		}
		mk := l.mark()
		if mk == "" {
			continue
		}
		m := out[l.TaskARN]
		if m == nil {
			m = taskMarks{}
			out[l.TaskARN] = m
		}
		m[mk] = append(m[mk], l.Time)
	}
	return sc.Err()
}
