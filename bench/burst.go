package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// burstResult is one burst of n tasks on one agent and its direct baseline.
type burstResult struct {
	Size int `json:"size"`
	// FirstRunning and AllRunning are from the first RunTask call to the first and
	// the last RUNNING received; PerTask is each task's RUNNING received after that
	// same start.
	FirstRunningMS float64 `json:"first_running_ms"`
	AllRunningMS   float64 `json:"all_running_ms"`
	PerTask        dist    `json:"per_task_running"`
	// FirstStartAfterPayloadMS is the first payload received → the first Docker
	// start event of the burst.
	FirstStartAfterPayloadMS float64 `json:"first_start_after_payload_ms"`
	// AllStoppedMS is from the first StopTask call to the last STOPPED received;
	// DieToStopped each task's die event → STOPPED received.
	AllStoppedMS float64 `json:"all_stopped_ms"`
	DieToStopped dist    `json:"die_to_stopped_received"`
	// Memory while the n tasks run, and CPU of every process from the first RunTask
	// to the last STOPPED received.
	MemoryRunning []procCost `json:"memory_running"`
	CPU           []procCost `json:"cpu"`
	// Baseline is the same containers created and started directly with
	// BaselineWorkers at once.
	Baseline        baselineBurst `json:"baseline"`
	BaselineWorkers int           `json:"baseline_workers"`
}

// baselineBurst is a burst of containers created and started through the Docker API.
type baselineBurst struct {
	Workers        int     `json:"workers"`
	FirstRunningMS float64 `json:"first_started_ms"`
	AllRunningMS   float64 `json:"all_started_ms"`
	PerTask        dist    `json:"per_container_started"`
}

// runBaselineBurst creates and starts n containers with workers at once, then
// removes them (force: the stop is not part of this baseline).
func (r *runner) runBaselineBurst(ctx context.Context, n, workers int) (baselineBurst, error) {
	keys := make(chan string, n)
	for range n {
		keys <- r.base.nextKey()
	}
	close(keys)
	var mu sync.Mutex
	var done []time.Duration
	var ids []string
	var firstErr error
	t0 := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range keys {
				id, err := r.base.createStart(ctx, k)
				d := time.Since(t0)
				mu.Lock()
				if id != "" {
					ids = append(ids, id)
				}
				if err != nil && firstErr == nil {
					firstErr = err
				}
				done = append(done, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	removeLabelled(ctx, r.dc, labelBench, r.base.runID)
	if firstErr != nil {
		return baselineBurst{}, firstErr
	}
	d := newDist(done)
	first := done[0]
	for _, x := range done {
		first = min(first, x)
	}
	return baselineBurst{Workers: workers, FirstRunningMS: ms(first), AllRunningMS: d.Max, PerTask: d}, nil
}

// pickWorkers tries each parallelism on a burst of n and returns the fastest.
func (r *runner) pickWorkers(ctx context.Context, n int) (int, []baselineBurst, error) {
	var tried []baselineBurst
	best := 0
	for _, w := range []int{1, 2, 4, 8, n} {
		b, err := r.runBaselineBurst(ctx, n, w)
		if err != nil {
			return 0, nil, err
		}
		tried = append(tried, b)
		if best == 0 || b.AllRunningMS < tried[indexOf(tried, best)].AllRunningMS {
			best = w
		}
	}
	return best, tried, nil
}

func indexOf(bs []baselineBurst, workers int) int {
	for i, b := range bs {
		if b.Workers == workers {
			return i
		}
	}
	return 0
}

// benchBurst runs n tasks at once on the agent (RunTask calls of 10), waits for all
// RUNNING, then stops them all and waits for all STOPPED and for the agent to clean
// up their containers; then the baseline burst of the same size.
func (r *runner) benchBurst(ctx context.Context, a *agent, n int) (*burstResult, error) {
	td, err := r.sleepTaskDef(ctx)
	if err != nil {
		return nil, err
	}
	res := &burstResult{Size: n, BaselineWorkers: r.workers}
	cpu0 := sampleCPU(a)
	t0 := time.Now()
	var arns []string
	for len(arns) < n {
		got, err := r.cp.runTasks(ctx, a.Cluster, td, min(10, n-len(arns)))
		if err != nil {
			return nil, err
		}
		if len(got) == 0 {
			if time.Since(t0) > time.Minute {
				return nil, fmt.Errorf("burst of %d: only %d placed after a minute", n, len(arns))
			}
			time.Sleep(100 * time.Millisecond)
		}
		arns = append(arns, got...)
	}
	running, err := r.waitAll(ctx, arns, "RUNNING", 4*time.Minute)
	if err != nil {
		return nil, err
	}
	res.MemoryRunning = sampleMemory(a)
	var per []time.Duration
	first, last := time.Time{}, time.Time{}
	for _, arn := range arns {
		at := running[arn]
		per = append(per, at.Sub(t0))
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	res.PerTask = newDist(per)
	res.FirstRunningMS, res.AllRunningMS = ms(first.Sub(t0)), ms(last.Sub(t0))

	s0 := time.Now()
	if err := r.stopAll(ctx, a, arns); err != nil {
		return nil, err
	}
	stopped, err := r.waitAll(ctx, arns, "STOPPED", 3*time.Minute)
	if err != nil {
		return nil, err
	}
	res.CPU = cpuSince(a, cpu0)
	last = time.Time{}
	die := newSeries()
	for _, arn := range arns {
		at := stopped[arn]
		if at.After(last) {
			last = at
		}
		die.add("die", r.ev.wait(ctx, arn, true).Die, at)
	}
	res.AllStoppedMS = ms(last.Sub(s0))
	res.DieToStopped = die.dist("die")

	marks, err := readMarks(a.debugLogs())
	if err != nil {
		return nil, err
	}
	var firstPayload, firstStart time.Time
	for _, arn := range arns {
		if t, ok := marks[arn].first(markReceived, t0); ok && (firstPayload.IsZero() || t.Before(firstPayload)) {
			firstPayload = t
		}
		if t := r.ev.get(arn).Start; !t.IsZero() && (firstStart.IsZero() || t.Before(firstStart)) {
			firstStart = t
		}
	}
	if !firstPayload.IsZero() && !firstStart.IsZero() {
		res.FirstStartAfterPayloadMS = ms(firstStart.Sub(firstPayload))
	}
	if err := r.waitCleanedUp(ctx, a, 2*time.Minute); err != nil {
		return nil, err
	}
	if res.Baseline, err = r.runBaselineBurst(ctx, n, r.workers); err != nil {
		return nil, fmt.Errorf("baseline burst: %w", err)
	}
	return res, nil
}

// stopAll calls StopTask for every task, four calls at a time.
func (r *runner) stopAll(ctx context.Context, a *agent, arns []string) error {
	sem := make(chan struct{}, 4)
	errs := make(chan error, len(arns))
	var wg sync.WaitGroup
	for _, arn := range arns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := r.cp.stopTask(ctx, a.Cluster, arn); err != nil {
				errs <- fmt.Errorf("StopTask %s: %w", arn, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// waitAll polls the control plane's record of reports until every task has a status
// report, and returns their receipt times.
func (r *runner) waitAll(ctx context.Context, arns []string, status string, timeout time.Duration) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	deadline := time.Now().Add(timeout)
	for {
		all, err := r.cp.allReports(ctx)
		if err == nil {
			for _, arn := range arns {
				if at, ok := received(all[arn], status); ok {
					out[arn] = at
				}
			}
			if len(out) == len(arns) {
				return out, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d of %d tasks %s after %v", len(out), len(arns), status, timeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitCleanedUp waits until the agent has removed every container of its cluster.
func (r *runner) waitCleanedUp(ctx context.Context, a *agent, timeout time.Duration) error {
	err := waitUntil(ctx, timeout, func() bool {
		time.Sleep(200 * time.Millisecond)
		return len(labelled(ctx, r.dc, labelCluster, a.Cluster)) == 0
	})
	if err != nil {
		return fmt.Errorf("%s: containers not cleaned up: %w", a.Cluster, err)
	}
	return nil
}
