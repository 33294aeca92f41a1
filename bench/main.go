// Command bench measures the agent against the real Docker engine: the all-in-one
// binary and the pod of five processes, each against the local control plane,
// interleaved with baselines that make the same Docker calls directly. It prints one
// table and writes the same figures as JSON under bench/results/. See
// bench/README.md for what each figure means and where its timestamps come from.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const (
	kindAllInOne = "all-in-one"
	kindPod      = "pod"
)

// config is the bench's flags.
type config struct {
	outDir      string // the built binaries
	resultsDir  string
	only        map[string]bool
	singleReps  int
	bursts      []int
	idle        time.Duration
	churnTasks  int
	churnBound  time.Duration
	busTrips    int
	budget      time.Duration // the whole run's; the churn is bounded by what is left
	keepWorkDir bool
}

func (c config) on(phase string) bool { return len(c.only) == 0 || c.only[phase] }

func main() {
	var c config
	var only string
	quick := flag.Bool("quick", false, "fewer reps, bursts of 20 only, 10 s idle, no churn")
	flag.StringVar(&c.outDir, "bin", "out", "directory of the built binaries")
	flag.StringVar(&c.resultsDir, "out", filepath.Join("bench", "results"), "directory the JSON results go to")
	flag.StringVar(&only, "only", "", "comma-separated phases to run: idle,single,burst,churn,bus (default all)")
	flag.IntVar(&c.singleReps, "reps", 20, "single-task repetitions per agent")
	flag.DurationVar(&c.idle, "idle", 60*time.Second, "how long idle CPU is measured")
	flag.IntVar(&c.churnTasks, "churn", 1000, "short tasks in the churn")
	flag.DurationVar(&c.churnBound, "churn-bound", 5*time.Minute, "the churn stops issuing tasks after this")
	flag.DurationVar(&c.budget, "budget", 14*time.Minute, "time budget of the whole run; the churn stops issuing a minute before it")
	flag.IntVar(&c.busTrips, "bus-trips", 2000, "bus round trips and publishes")
	flag.BoolVar(&c.keepWorkDir, "keep", false, "keep the work directory (logs, data) at the end")
	flag.Parse()
	c.bursts = []int{20, 100}
	if *quick {
		c.singleReps, c.bursts, c.idle, c.churnTasks, c.busTrips = 5, []int{20}, 10*time.Second, 0, 500
	}
	if only != "" {
		c.only = map[string]bool{}
		for _, p := range strings.Split(only, ",") {
			c.only[strings.TrimSpace(p)] = true
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
