package logger

import (
	"fmt"
	"os"
	"sync"
	"time"

	"gopkg.in/natefinch/lumberjack.v2"
)

// rollingFile is ECS_LOGFILE, rotated as the real agent rotates it: every hour (its
// "date" rollover, the default) or past ECS_LOG_MAX_FILE_SIZE_MB ("size"), keeping
// ECS_LOG_MAX_ROLL_COUNT old files beside it.
type rollingFile struct {
	*lumberjack.Logger
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

func openRolling(o Options) (*rollingFile, error) {
	// Fail now, with the variable's name, rather than at the first line logged.
	f, err := os.OpenFile(o.File, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ECS_LOGFILE=%q: %w", o.File, err)
	}
	f.Close()
	rolls := o.MaxRolls
	if rolls <= 0 {
		rolls = 24
	}
	lj := &lumberjack.Logger{Filename: o.File, MaxBackups: rolls, LocalTime: true}
	r := &rollingFile{Logger: lj, stop: make(chan struct{})}
	switch o.Rollover {
	case "size":
		size := o.MaxSizeMB
		if size <= 0 {
			size = 10
		}
		// lumberjack counts whole megabytes; below one, one.
		lj.MaxSize = max(1, int(size+0.5))
	case "", "hourly":
		lj.MaxSize = 1 << 20 // hours, not size, decide
		ticks := o.hourlyTicks
		var t *time.Timer
		if ticks == nil {
			t = time.NewTimer(time.Until(time.Now().Truncate(time.Hour).Add(time.Hour)))
		}
		r.wg.Go(func() { r.hourly(t, ticks) })
	default:
		return nil, fmt.Errorf("ECS_LOG_ROLLOVER_TYPE=%q: want hourly or size", o.Rollover)
	}
	return r, nil
}

// hourly rotates at the top of every hour (or at each tick of a test's channel).
func (r *rollingFile) hourly(t *time.Timer, ticks <-chan time.Time) {
	for {
		var c <-chan time.Time = ticks
		if t != nil {
			c = t.C
		}
		select {
		case <-r.stop:
			if t != nil {
				t.Stop()
			}
			return
		case <-c:
			_ = r.Rotate()
			if t != nil {
				t.Reset(time.Until(time.Now().Truncate(time.Hour).Add(time.Hour)))
			}
		}
	}
}

func (r *rollingFile) Close() error {
	r.once.Do(func() { close(r.stop) })
	r.wg.Wait()
	return r.Logger.Close()
}
