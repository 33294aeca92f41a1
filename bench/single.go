package main

import (
	"context"
	"fmt"
	"time"
)

// singleResult is the single-task figures of one agent, with the baseline reps run
// between its reps.
type singleResult struct {
	Reps int `json:"reps"`
	// Start is RunTask called → RUNNING received by the control plane; Stop is
	// StopTask called → STOPPED received.
	Start dist `json:"start"`
	Stop  dist `json:"stop"`
	// BaselineStart is ContainerCreate + ContainerStart; BaselineStop ContainerStop
	// with a 1 s timeout.
	BaselineStart dist `json:"baseline_start"`
	BaselineStop  dist `json:"baseline_stop"`
	// AgentOwn is payload received → RUNNING received less the time inside the
	// Docker create and start calls: the agent's own share of a start.
	AgentOwn dist `json:"agent_own"`
	// DieToStopped is the engine's die event → STOPPED received.
	DieToStopped dist        `json:"die_to_stopped_received"`
	StartStages  []stageDist `json:"start_stages"`
	StopStages   []stageDist `json:"stop_stages"`
}

type stageDist struct {
	Stage string `json:"stage"`
	dist
}

// agentRep is what one single-task rep of the agent saw from outside.
type agentRep struct {
	Arn               string
	RunCall, StopCall time.Time
	Running, Stopped  time.Time
}

// benchSingle runs reps single tasks on the agent, each followed by one baseline
// container, and reads the agent's stages from its logs.
func (r *runner) benchSingle(ctx context.Context, a *agent) (*singleResult, error) {
	td, err := r.sleepTaskDef(ctx)
	if err != nil {
		return nil, err
	}
	reps := r.cfg.singleReps
	var agentReps []agentRep
	bStart, bStop := newSeries(), newSeries()
	for i := range reps {
		rep := agentRep{RunCall: time.Now()}
		arns, err := r.cp.runTasks(ctx, a.Cluster, td, 1)
		if err != nil || len(arns) != 1 {
			return nil, fmt.Errorf("rep %d: RunTask placed %d tasks: %v", i, len(arns), err)
		}
		rep.Arn = arns[0]
		if rep.Running, err = r.cp.waitReceived(ctx, rep.Arn, "RUNNING", time.Minute); err != nil {
			return nil, err
		}
		rep.StopCall = time.Now()
		if err := r.cp.stopTask(ctx, a.Cluster, rep.Arn); err != nil {
			return nil, fmt.Errorf("StopTask: %w", err)
		}
		if rep.Stopped, err = r.cp.waitReceived(ctx, rep.Arn, "STOPPED", time.Minute); err != nil {
			return nil, err
		}
		agentReps = append(agentReps, rep)

		key := r.base.nextKey()
		t0 := time.Now()
		id, err := r.base.createStart(ctx, key)
		t1 := time.Now()
		if err != nil {
			return nil, fmt.Errorf("baseline: %w", err)
		}
		if err := r.base.stop(ctx, id); err != nil {
			return nil, fmt.Errorf("baseline stop: %w", err)
		}
		t2 := time.Now()
		_ = r.base.remove(ctx, id)
		bStart.add("start", t0, t1)
		bStop.add("stop", t1, t2)
	}
	marks, err := readMarks(a.debugLogs())
	if err != nil {
		return nil, fmt.Errorf("reading the agent's logs: %w", err)
	}
	start, stop := newSeries(), newSeries()
	e2e := newSeries()
	for _, rep := range agentReps {
		m := marks[rep.Arn]
		d := r.ev.wait(ctx, rep.Arn, true)
		e2e.add("start", rep.RunCall, rep.Running)
		e2e.add("stop", rep.StopCall, rep.Stopped)
		e2e.add("die", d.Die, rep.Stopped)

		at := func(mark string, since time.Time) time.Time { t, _ := m.first(mark, since); return t }
		recv := at(markReceived, rep.RunCall)
		stored := at(markStored+"RUNNING", rep.RunCall)
		create := at(markStep+"create", rep.RunCall)
		created := at(markCreated, rep.RunCall)
		startStep := at(markStep+"start", rep.RunCall)
		started := at(markStarted, rep.RunCall)
		evStart := at(markEvent+"start", rep.RunCall)
		pubRunning := at(markPublished+"RUNNING", rep.RunCall)
		accRunning := at(markAccepted+"RUNNING", rep.RunCall)
		start.add("RunTask called → payload received (control plane, ACS)", rep.RunCall, recv)
		start.add("payload received → desired task stored on the bus", recv, stored)
		start.add("stored → first Docker call (create dispatched)", stored, create)
		start.add("create dispatched → ContainerCreate returned", create, created)
		start.add("created → start dispatched", created, startStep)
		start.add("start dispatched → ContainerStart returned", startStep, started)
		start.add("ContainerStart returned → Docker start event (engine)", started, d.Start)
		start.add("ContainerStart returned → start event on the bus", started, evStart)
		start.add("ContainerStart returned → RUNNING published (outbox)", started, pubRunning)
		start.add("RUNNING published → RUNNING received (control plane)", pubRunning, rep.Running)
		start.add("RUNNING published → RUNNING accepted (reporter)", pubRunning, accRunning)
		if !recv.IsZero() && !create.IsZero() && !created.IsZero() && !startStep.IsZero() && !started.IsZero() {
			own := rep.Running.Sub(recv) - created.Sub(create) - started.Sub(startStep)
			e2e.addDur("own", own)
		}

		sRecv := at(markReceived, rep.StopCall)
		sStored := at(markStored+"STOPPED", rep.StopCall)
		sStep := at(markStep+"stop", rep.StopCall)
		evDie := at(markEvent+"die", rep.StopCall)
		pubStopped := at(markPublished+"STOPPED", rep.StopCall)
		accStopped := at(markAccepted+"STOPPED", rep.StopCall)
		stop.add("StopTask called → payload received", rep.StopCall, sRecv)
		stop.add("payload received → desired STOPPED stored", sRecv, sStored)
		stop.add("stored → stop dispatched", sStored, sStep)
		stop.add("stop dispatched → Docker die event (engine; 1 s timeout)", sStep, d.Die)
		stop.add("die → die event on the bus", d.Die, evDie)
		stop.add("die event on the bus → STOPPED published", evDie, pubStopped)
		stop.add("STOPPED published → STOPPED received", pubStopped, rep.Stopped)
		stop.add("STOPPED published → STOPPED accepted (reporter)", pubStopped, accStopped)
	}
	res := &singleResult{
		Reps: reps, Start: e2e.dist("start"), Stop: e2e.dist("stop"),
		BaselineStart: bStart.dist("start"), BaselineStop: bStop.dist("stop"),
		AgentOwn: e2e.dist("own"), DieToStopped: e2e.dist("die"),
	}
	for _, n := range start.order {
		res.StartStages = append(res.StartStages, stageDist{Stage: n, dist: start.dist(n)})
	}
	for _, n := range stop.order {
		res.StopStages = append(res.StopStages, stageDist{Stage: n, dist: stop.dist(n)})
	}
	return res, nil
}
