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

// Options are the logging variables: ECS_LOGLEVEL (stdout), ECS_LOGFILE and its
// level (ECS_LOGLEVEL_ON_INSTANCE; empty means debug, everything) and rotation
// (ECS_LOG_ROLLOVER_TYPE, ECS_LOG_MAX_FILE_SIZE_MB, ECS_LOG_MAX_ROLL_COUNT), and
// ECS_LOG_OUTPUT_FORMAT.
type Options struct {
	Level       string
	File        string
	FileLevel   string  // crit, error, warn, info, debug or off; "" = debug
	Rollover    string  // "hourly" (default) or "size"
	MaxSizeMB   float64 // with "size": rotate past this size (10 MB when 0)
	MaxRolls    int     // rotated files kept (24 when 0)
	Format      string  // "logfmt" (default) or "json"
	Stdout      io.Writer
	hourlyTicks <-chan time.Time // tests
}

// New builds the process logger: stdout at Level, and, when File is set, that file
// at FileLevel, rotated hourly or by size with MaxRolls old files kept, as the real
// agent rotates its log. The returned closer stops the rotation and closes the file.
func New(o Options) (zerolog.Logger, io.Closer, error) {
	lvl, err := Level(o.Level)
	if err != nil {
		return zerolog.Nop(), nil, err
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	out := o.Stdout
	if out == nil {
		out = os.Stdout
	}
	var stdout io.Writer = out
	switch strings.ToLower(o.Format) {
	case "json":
	case "", "logfmt":
		f, _ := out.(*os.File)
		stdout = zerolog.ConsoleWriter{Out: out, TimeFormat: time.RFC3339, NoColor: f == nil || !isTerminal(f)}
	default:
		return zerolog.Nop(), nil, fmt.Errorf("ECS_LOG_OUTPUT_FORMAT=%q: want logfmt or json", o.Format)
	}
	writers := []io.Writer{&zerolog.FilteredLevelWriter{
		Writer: zerolog.LevelWriterAdapter{Writer: stdout}, Level: lvl,
	}}
	var closer io.Closer = io.NopCloser(nil)
	lowest := lvl
	if o.File != "" && o.FileLevel != "off" {
		fileLvl := zerolog.DebugLevel
		if o.FileLevel != "" {
			if fileLvl, err = Level(o.FileLevel); err != nil {
				return zerolog.Nop(), nil, fmt.Errorf("ECS_LOGLEVEL_ON_INSTANCE: %w", err)
			}
		}
		rf, err := openRolling(o)
		if err != nil {
			return zerolog.Nop(), nil, err
		}
		writers = append(writers, &zerolog.FilteredLevelWriter{Writer: zerolog.LevelWriterAdapter{Writer: rf}, Level: fileLvl})
		closer = rf
		lowest = min(lvl, fileLvl)
	}
	l := zerolog.New(zerolog.MultiLevelWriter(writers...)).Level(lowest).With().Timestamp().Logger()
	return l, closer, nil
}

// isTerminal reports whether f is a character device, so that colours go only to a
// terminal and never into files or a log collector.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
