package process

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/rs/zerolog"
)

// handBack returns memory the process no longer uses: once start-up is over
// (trimStartup), then after every busy spell. A burst of tasks grows the heap; the
// runtime gives the free part back to the kernel only slowly, keeping headroom for
// the next burst, so an agent that has gone quiet again (no collection for
// trimCheck) with more than trimFree of free heap hands it back at once. A quiet
// agent with nothing to give costs one look every trimCheck.
func handBack(ctx context.Context, log zerolog.Logger) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(trimAfter):
	}
	n := trimStartup()
	log.Debug().Int("binary_bytes", n).Msg("start-up memory handed back")
	t := time.NewTicker(trimCheck)
	defer t.Stop()
	cycles, _ := heapStats()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c, free := heapStats()
		if c == cycles && free > trimFree {
			debug.FreeOSMemory()
			c, _ = heapStats()
			log.Debug().Uint64("bytes", free).Msg("free heap handed back after a busy spell")
		}
		cycles = c
	}
}

const (
	// trimAfter is when start-up is over: the services have opened their streams and
	// the session has registered.
	trimAfter = 15 * time.Second
	trimCheck = 30 * time.Second
	trimFree  = 4 << 20
)

// heapStats is the number of completed collections and the free heap the runtime
// still holds (not yet returned to the kernel).
func heapStats() (cycles, free uint64) {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/memory/classes/heap/free:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		cycles = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		free = s[1].Value.Uint64()
	}
	return cycles, free
}
