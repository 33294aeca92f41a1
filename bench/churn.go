package main

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// churnResult is a run of many short tasks through one instance.
type churnResult struct {
	Instance  string  `json:"instance"`
	Target    int     `json:"target"`
	Issued    int     `json:"issued"`
	Completed int     `json:"completed"`
	BoundS    float64 `json:"bound_s"`
	// Bounded is true when issuing stopped at the time bound before the target.
	Bounded bool `json:"bounded"`
	// Seconds is from the first RunTask call to the last STOPPED received.
	Seconds     float64 `json:"seconds"`
	TasksPerSec float64 `json:"tasks_per_s"`
	MaxInFlight int     `json:"max_in_flight"`
	// Placement failures: RunTask calls that placed fewer tasks than asked.
	PlacementShort int `json:"placement_short"`
	// PollErrors counts DescribeTasks calls that failed while polling.
	PollErrors int `json:"poll_errors"`
	// MemoryBefore is taken before the first task, MemoryAfter once every container
	// has been cleaned up.
	MemoryBefore []procCost `json:"memory_before"`
	MemoryAfter  []procCost `json:"memory_after"`
	RSSChangePct float64    `json:"rss_change_pct"`
}

// benchChurn runs target tasks that exit at once, keeping at most maxInFlight
// unfinished, issuing for at most bound.
func (r *runner) benchChurn(ctx context.Context, a *agent, target, maxInFlight int, bound time.Duration) (*churnResult, error) {
	td, err := r.cp.registerTaskDef(ctx, "bench-churn", []string{"sh", "-c", "exit 0"})
	if err != nil {
		return nil, err
	}
	res := &churnResult{Target: target, BoundS: bound.Seconds(), MaxInFlight: maxInFlight}
	res.MemoryBefore = sampleMemory(a)
	inFlight := map[string]bool{}
	var all []string
	t0 := time.Now()
	for {
		issuing := res.Issued < target && time.Since(t0) < bound
		if !issuing && res.Issued < target {
			res.Bounded = true
		}
		if !issuing && len(inFlight) == 0 {
			break
		}
		if !issuing && time.Since(t0) > bound+30*time.Second {
			break // what is still in flight does not count
		}
		if issuing && len(inFlight) < maxInFlight {
			want := min(10, maxInFlight-len(inFlight), target-res.Issued)
			got, err := r.cp.runTasks(ctx, a.Cluster, td, want)
			if err != nil {
				return nil, err
			}
			if len(got) < want {
				res.PlacementShort++
			}
			for _, arn := range got {
				inFlight[arn] = true
			}
			all = append(all, got...)
			res.Issued += len(got)
		}
		time.Sleep(100 * time.Millisecond)
		if err := r.pollStopped(ctx, a.Cluster, inFlight); err != nil {
			// A failed poll only delays the next look; the figures come from the
			// control plane's receipt times.
			if res.PollErrors++; res.PollErrors == 1 {
				logf("churn: DescribeTasks failed (counted, polling on): %v", err)
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
	}
	reports, err := r.cp.allReports(ctx)
	if err != nil {
		return nil, err
	}
	var last time.Time
	for _, arn := range all {
		if at, ok := received(reports[arn], "STOPPED"); ok {
			res.Completed++
			if at.After(last) {
				last = at
			}
		}
	}
	if res.Completed > 0 {
		res.Seconds = last.Sub(t0).Seconds()
		res.TasksPerSec = float64(res.Completed) / res.Seconds
	}
	if err := r.waitCleanedUp(ctx, a, 2*time.Minute); err != nil {
		return nil, err
	}
	// Let the agent forget the tasks and the runtime return what it freed.
	time.Sleep(5 * time.Second)
	res.MemoryAfter = sampleMemory(a)
	before, _, _, _ := totals(res.MemoryBefore)
	after, _, _, _ := totals(res.MemoryAfter)
	if before > 0 {
		res.RSSChangePct = 100 * float64(after-before) / float64(before)
	}
	return res, nil
}

// pollStopped removes from inFlight the tasks whose last status is STOPPED.
func (r *runner) pollStopped(ctx context.Context, cluster string, inFlight map[string]bool) error {
	arns := make([]string, 0, len(inFlight))
	for arn := range inFlight {
		arns = append(arns, arn)
	}
	for len(arns) > 0 {
		batch := arns[:min(100, len(arns))]
		arns = arns[len(batch):]
		out, err := r.cp.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: &cluster, Tasks: batch})
		if err != nil {
			return err
		}
		for _, t := range out.Tasks {
			if aws.ToString(t.LastStatus) == "STOPPED" {
				delete(inFlight, aws.ToString(t.TaskArn))
			}
		}
	}
	return nil
}
