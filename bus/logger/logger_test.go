package logger

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func backups(t *testing.T, file string) []string {
	t.Helper()
	all, _ := filepath.Glob(strings.TrimSuffix(file, ".log") + "-*.log")
	return all
}

func TestFileRotatesBySize(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ecs-agent.log")
	var out bytes.Buffer
	l, c, err := New(Options{Level: "info", File: file, Rollover: "size", MaxSizeMB: 1, MaxRolls: 2, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("x", 1000)
	for range 3500 { // ~3.5 MB: three rotations, two kept
		l.Debug().Msg(line)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // lumberjack removes old files in the background
	if n := len(backups(t, file)); n != 2 {
		t.Fatalf("%d rotated files, want ECS_LOG_MAX_ROLL_COUNT=2", n)
	}
	if fi, err := os.Stat(file); err != nil || fi.Size() > 1<<20 {
		t.Fatalf("current file: %v %v", fi, err)
	}
	if out.Len() != 0 {
		t.Fatal("debug lines reached stdout at info")
	}
}

func TestFileRotatesHourly(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ecs-agent.log")
	ticks := make(chan time.Time)
	l, c, err := New(Options{Level: "info", File: file, MaxRolls: 24, Stdout: &bytes.Buffer{}, hourlyTicks: ticks})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l.Info().Msg("first hour")
	ticks <- time.Now()
	// The rotation runs on the rotating goroutine once it has the tick: wait for it
	// (a second tick as a sync point would start a second rotation, racing the write).
	for deadline := time.Now().Add(2 * time.Second); len(backups(t, file)) == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	l.Info().Msg("second hour")
	if n := len(backups(t, file)); n != 1 {
		t.Fatalf("%d rotated files after an hour, want 1", n)
	}
	b, _ := os.ReadFile(file)
	if !strings.Contains(string(b), "second hour") || strings.Contains(string(b), "first hour") {
		t.Fatalf("current file: %s", b)
	}
}

func TestFileLevelAndFormat(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ecs-agent.log")
	var out bytes.Buffer
	l, c, err := New(Options{Level: "debug", File: file, FileLevel: "warn", Format: "json", Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	l.Info().Msg("routine")
	l.Warn().Msg("trouble")
	c.Close()
	b, _ := os.ReadFile(file)
	if strings.Contains(string(b), "routine") || !strings.Contains(string(b), "trouble") {
		t.Fatalf("ECS_LOGLEVEL_ON_INSTANCE=warn: file has %s", b)
	}
	first, _, _ := strings.Cut(out.String(), "\n")
	var m map[string]any
	if err := json.Unmarshal([]byte(first), &m); err != nil || m["message"] != "routine" {
		t.Fatalf("ECS_LOG_OUTPUT_FORMAT=json: stdout %q", out.String())
	}

	out.Reset()
	l, c, err = New(Options{Level: "info", File: file, FileLevel: "off", Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	l.Info().Msg("logfmt line")
	c.Close()
	if !strings.Contains(out.String(), "logfmt line") || strings.HasPrefix(out.String(), "{") {
		t.Fatalf("logfmt stdout %q", out.String())
	}
	if _, _, err := New(Options{Level: "info", Format: "xml"}); err == nil || !strings.Contains(err.Error(), "ECS_LOG_OUTPUT_FORMAT") {
		t.Fatalf("bad format: %v", err)
	}
}
