package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/client"
)

// runner holds what every phase shares: the control plane, the engine, its event
// log and the baseline.
type runner struct {
	cfg  config
	cp   *controlPlane
	dc   *client.Client
	ev   *eventLog
	base *baseline
	// workers is the baseline's best parallelism, found on the first 20-burst.
	workers int
	tried   []baselineBurst

	tdOnce sync.Once
	td     string
	tdErr  error
}

func (r *runner) sleepTaskDef(ctx context.Context) (string, error) {
	r.tdOnce.Do(func() { r.td, r.tdErr = r.cp.registerTaskDef(ctx, "bench-sleep", []string{"sleep", "3600"}) })
	return r.td, r.tdErr
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func run(ctx context.Context, c config) (err error) {
	began := time.Now()
	workDir, err := os.MkdirTemp("", "ecs-bench-")
	if err != nil {
		return err
	}
	dc, err := newDocker()
	if err != nil {
		return err
	}
	defer dc.Close()
	mach, err := describeMachine(ctx, dc)
	if err != nil {
		return err
	}
	evCtx, evStop := context.WithCancel(ctx)
	defer evStop()
	ev, err := watchEvents(evCtx, dc)
	if err != nil {
		return err
	}
	runID := strconv.FormatInt(time.Now().Unix(), 36)
	r := &runner{cfg: c, dc: dc, ev: ev, base: &baseline{dc: dc, runID: runID}}
	res := &results{Started: began.UTC(), Machine: mach, Settings: newSettings(c)}

	logf("control plane starting (work directory %s)", workDir)
	r.cp, err = startControlPlane(ctx, c.outDir, workDir)
	if err != nil {
		return err
	}
	var agents []*agent
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for _, a := range agents {
			a.stop()
			removeLabelled(cctx, dc, labelCluster, a.Cluster)
		}
		removeLabelled(cctx, dc, labelBench, runID)
		r.cp.Proc.stop()
		if c.keepWorkDir || err != nil {
			logf("logs and data kept in %s", workDir)
		} else {
			_ = os.RemoveAll(workDir)
		}
	}()

	// Both instances start first and are measured idle over the same window.
	aio, err := startAgent(ctx, r.cp, kindAllInOne, c.outDir, workDir)
	if err != nil {
		return err
	}
	agents = append(agents, aio)
	pod, err := startAgent(ctx, r.cp, kindPod, c.outDir, workDir)
	if err != nil {
		return err
	}
	agents = append(agents, pod)
	resA := &agentResult{Kind: aio.Kind, Cluster: aio.Cluster}
	resP := &agentResult{Kind: pod.Kind, Cluster: pod.Cluster}
	res.Agents = []*agentResult{resA, resP}

	if c.on("idle") {
		logf("idle: both instances for %v", c.idle)
		// Let registration, the first heartbeats and the agent's hand-back of its
		// start-up memory (15 s after start) settle: idle is the steady state.
		time.Sleep(20 * time.Second)
		ca, cpod := sampleCPU(aio), sampleCPU(pod)
		select {
		case <-time.After(c.idle):
		case <-ctx.Done():
			return ctx.Err()
		}
		resA.Idle = newIdle(cpuSince(aio, ca))
		resP.Idle = newIdle(cpuSince(pod, cpod))
	} else {
		resA.Idle = newIdle(sampleMemory(aio))
		resP.Idle = newIdle(sampleMemory(pod))
	}

	// The pod first, with the all-in-one instance idle beside it; then the pod
	// stops and the all-in-one instance runs alone, the churn last, bounded by
	// what is left of the run's time budget.
	// A phase that fails is reported and the run goes on, so that the other figures
	// are still written; the bench exits non-zero at the end.
	failed := func(phase string, err error) {
		logf("%s failed: %v", phase, err)
		res.Errors = append(res.Errors, phase+": "+err.Error())
	}
	if err := pod.during(func(ctx context.Context) error { return r.benchAgent(ctx, pod, resP) }); err != nil {
		failed(pod.Kind, err)
	}
	if c.on("bus") && ctx.Err() == nil {
		logf("bus: %d round trips and publishes on the pod's bus", c.busTrips)
		var b busResult
		if err := pod.during(func(ctx context.Context) (err error) { b, err = benchBus(ctx, pod, c.busTrips); return err }); err != nil {
			failed("bus", err)
		} else {
			res.Bus = &b
		}
	}
	pod.stop()
	if err := aio.during(func(ctx context.Context) error { return r.benchAgent(ctx, aio, resA) }); err != nil {
		failed(aio.Kind, err)
	}
	if c.on("churn") && c.churnTasks > 0 && ctx.Err() == nil {
		bound := min(c.churnBound, time.Until(began.Add(c.budget))-time.Minute)
		if bound < 30*time.Second {
			logf("churn: skipped, %v left of the %v budget", time.Until(began.Add(c.budget)).Round(time.Second), c.budget)
			res.Settings.Notes = append(res.Settings.Notes, "churn skipped: the run's time budget was spent")
		} else {
			logf("churn: %d short tasks on the %s instance (bound %v)", c.churnTasks, aio.Kind, bound.Round(time.Second))
			var ch *churnResult
			if err := aio.during(func(ctx context.Context) (err error) {
				ch, err = r.benchChurn(ctx, aio, c.churnTasks, 20, bound)
				return err
			}); err != nil {
				failed("churn", err)
			} else {
				ch.Instance = aio.Kind
				res.Churn = ch
			}
		}
	}
	if len(r.tried) > 0 {
		res.BaselineWorkers = &workersChoice{Chosen: r.workers, Tried: r.tried}
	}
	res.WallSeconds = time.Since(began).Seconds()
	if err := publish(res, c.resultsDir); err != nil {
		return err
	}
	if len(res.Errors) > 0 {
		return fmt.Errorf("%d phases failed: %s", len(res.Errors), strings.Join(res.Errors, "; "))
	}
	return nil
}

// benchAgent runs the single-task and burst phases on one instance.
func (r *runner) benchAgent(ctx context.Context, a *agent, ar *agentResult) error {
	var err error
	if r.cfg.on("single") {
		logf("single: %d reps on the %s instance, each followed by a baseline rep", r.cfg.singleReps, a.Kind)
		if ar.Single, err = r.benchSingle(ctx, a); err != nil {
			return err
		}
		if err := r.waitCleanedUp(ctx, a, time.Minute); err != nil {
			return err
		}
	}
	if r.cfg.on("burst") {
		if r.workers == 0 {
			n := r.cfg.bursts[0]
			logf("baseline: choosing the parallelism on a burst of %d", n)
			if r.workers, r.tried, err = r.pickWorkers(ctx, n); err != nil {
				return err
			}
			logf("baseline: %d workers", r.workers)
		}
		for _, n := range r.cfg.bursts {
			logf("burst: %d tasks on the %s instance, then the baseline", n, a.Kind)
			b, err := r.benchBurst(ctx, a, n)
			if err != nil {
				return err
			}
			ar.Bursts = append(ar.Bursts, b)
		}
		ar.AfterCleanup = sampleMemory(a)
	}
	return nil
}
