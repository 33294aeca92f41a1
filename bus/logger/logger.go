// Package logger builds the agent's zerolog loggers and holds the field names every
// service uses, so that logs of all processes can be read and filtered alike.
package logger

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Field names shared by every service.
const (
	FieldService   = "service"
	FieldTaskARN   = "task_arn"
	FieldContainer = "container"
	FieldDockerID  = "docker_id"
	FieldMessageID = "message_id"
	FieldCluster   = "cluster"
	FieldInstance  = "container_instance_arn"
)

// Level maps an ECS_LOGLEVEL value (crit, error, warn, info, debug) to zerolog.
func Level(s string) (zerolog.Level, error) {
	switch strings.ToLower(s) {
	case "crit":
		return zerolog.FatalLevel, nil
	case "error":
		return zerolog.ErrorLevel, nil
	case "warn":
		return zerolog.WarnLevel, nil
	case "info", "":
		return zerolog.InfoLevel, nil
	case "debug":
		return zerolog.DebugLevel, nil
	}
	return zerolog.NoLevel, fmt.Errorf("log level %q: want crit, error, warn, info or debug", s)
}

// New builds the process logger: stdout at level, and, when file is not empty, that
// file at debug level regardless (ECS_LOGFILE). The returned closer closes the file.
func New(level, file string) (zerolog.Logger, io.Closer, error) {
	lvl, err := Level(level)
	if err != nil {
		return zerolog.Nop(), nil, err
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	console := zerolog.ConsoleWriter{Out: os.Stdout, TimeFormat: time.RFC3339, NoColor: !isTerminal(os.Stdout)}
	var stdout io.Writer = console
	if os.Getenv("ECS_LOG_OUTPUT_FORMAT") == "json" {
		stdout = os.Stdout
	}
	writers := []io.Writer{&zerolog.FilteredLevelWriter{
		Writer: zerolog.LevelWriterAdapter{Writer: stdout}, Level: lvl,
	}}
	var closer io.Closer = io.NopCloser(nil)
	if file != "" {
		f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return zerolog.Nop(), nil, fmt.Errorf("ECS_LOGFILE=%q: %w", file, err)
		}
		writers = append(writers, zerolog.LevelWriterAdapter{Writer: f})
		closer = f
	}
	l := zerolog.New(zerolog.MultiLevelWriter(writers...)).Level(zerolog.DebugLevel).With().Timestamp().Logger()
	if file == "" {
		l = l.Level(lvl)
	}
	return l, closer, nil
}

// isTerminal reports whether f is a character device, so that colours go only to a
// terminal and never into files or a log collector.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
