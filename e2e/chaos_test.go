package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestChaos proves DESIGN.md §4 under faults (make test-chaos): about thirty tasks
// churn through the five processes (long sleep tasks with dynamic host ports, short
// tasks with exit codes, a linked two-container task) while every process, the bus
// included, is killed with SIGKILL several times at random moments and started again:
// dockerexec also between a Docker call and its answer (a proxy in front of the
// engine), the reporter also while the control plane holds a state change before and
// after applying it; then the whole agent at once, then the whole agent with its data
// directory wiped. It ends by checking that every task reached the control plane with
// the right outcome, its state changes in order; one container per task container, no
// orphan, no duplicate; no host port held twice; no running container restarted.
//
// ECS_CHAOS_DURATION (default 200s) is how long faults are injected; ECS_CHAOS_SEED
// picks the run (printed, so a failure can be replayed).
func TestChaos(t *testing.T) {
	if os.Getenv("ECS_E2E_CHAOS") != "1" {
		t.Skip("the chaos suite: run with make test-chaos (ECS_E2E_CHAOS=1)")
	}
	duration := 200 * time.Second
	if v := os.Getenv("ECS_CHAOS_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("ECS_CHAOS_DURATION=%q: %v", v, err)
		}
		duration = d
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("ECS_CHAOS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("ECS_CHAOS_SEED=%q: %v", v, err)
		}
		seed = n
	}
	t.Logf("chaos: seed %d, faults for %v", seed, duration)
	started := time.Now()

	b := newBackend(t, "--payload-retry", "1s", "--manifest-interval", "10s")
	proxy := startDockerProxy(t)
	vars := append(b.Env.vars(),
		"DOCKER_HOST=unix://"+proxy.Socket,
		"ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION=1h",
		"ECS_LOGLEVEL=info",
	)
	p := newPod(t, vars)
	p.startAll()
	waitInstance(t, b.ECS, b.Env.Cluster, append(p.all(), b.CP)...)

	w := newWorkload(t, b, seed)
	ctx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	var loadDone sync.WaitGroup
	loadDone.Go(func() { w.run(ctx) })
	loadDone.Go(func() { w.monitor(ctx) })

	c := &chaos{t: t, b: b, p: p, proxy: proxy, w: w, r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	c.run(duration)

	stopLoad()
	loadDone.Wait()
	t.Logf("chaos: faults over after %v; waiting for every task to settle", time.Since(started).Round(time.Second))
	w.converge(3*time.Minute, p.explain)
	w.checkRunningUntouched()
	w.stopAll()
	w.converge(2*time.Minute, p.explain)
	sum := w.check()
	sum.kills = p.killCounts()
	sum.faults = c.faults
	sum.elapsed = time.Since(started)
	t.Log(sum.String())
}

// pod is the five processes of the agent, started, killed and started again by name.
type pod struct {
	t    *testing.T
	vars []string

	mu    sync.Mutex
	procs map[string]*proc
	gen   map[string]int
	kills map[string]int
}

var podOrder = []string{"ecs-bus", "ecs-dockerexec", "ecs-scheduler", "ecs-reporter", "ecs-session"}

func newPod(t *testing.T, vars []string) *pod {
	return &pod{t: t, vars: vars, procs: map[string]*proc{}, gen: map[string]int{}, kills: map[string]int{}}
}

func (p *pod) start(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr := p.procs[name]; pr != nil && !pr.exited() {
		return
	}
	p.gen[name]++
	p.procs[name] = startProc(p.t, fmt.Sprintf("%s-%d", name, p.gen[name]), binary(p.t, name), p.vars)
}

// kill sends SIGKILL to a process and waits for it; it counts only a live one.
func (p *pod) kill(name string) {
	p.mu.Lock()
	pr := p.procs[name]
	p.mu.Unlock()
	if pr == nil || pr.exited() {
		return
	}
	pr.kill()
	p.mu.Lock()
	p.kills[name]++
	p.mu.Unlock()
}

func (p *pod) startAll() {
	for _, n := range podOrder {
		p.start(n)
	}
}

func (p *pod) killAll() {
	var wg sync.WaitGroup
	for _, n := range podOrder {
		wg.Go(func() { p.kill(n) })
	}
	wg.Wait()
}

func (p *pod) all() []*proc {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*proc, 0, len(p.procs))
	for _, n := range podOrder {
		if pr := p.procs[n]; pr != nil {
			out = append(out, pr)
		}
	}
	return out
}

// explain logs, for tasks that did not settle, what every process of the agent said
// of the first two, and the last lines of each process: the logs themselves stay in
// the clone that ran the test.
func (p *pod) explain(arns []string) {
	t := p.t
	t.Helper()
	ids := make([]string, 0, 2)
	for _, a := range arns[:min(len(arns), 2)] {
		ids = append(ids, a[strings.LastIndex(a, "/")+1:])
	}
	for _, pr := range p.all() {
		data, err := os.ReadFile(pr.log)
		if err != nil {
			t.Logf("%s: %v", pr.name, err)
			continue
		}
		var about []string
		for _, l := range strings.Split(string(data), "\n") {
			for _, id := range ids {
				if strings.Contains(l, id) {
					about = append(about, l)
					break
				}
			}
		}
		t.Logf("%s (exited %v): %d lines about %v:\n%s\nits last lines:\n%s", pr.name, pr.exited(), len(about), ids,
			strings.Join(about, "\n"), pr.tail(25))
	}
}

func (p *pod) killCounts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for k, v := range p.kills {
		out[k] = v
	}
	return out
}

// chaos injects the faults.
type chaos struct {
	t      *testing.T
	b      backend
	p      *pod
	proxy  *dockerProxy
	w      *workload
	r      *rand.Rand
	faults []string
}

// run spreads the faults evenly over d, in a random order: each process killed three
// times (dockerexec twice of them between a start and its answer, the reporter while
// the control plane holds its state changes), the whole agent killed once, the whole
// agent killed and its store wiped once.
func (c *chaos) run(d time.Duration) {
	var plan []string
	for range 3 {
		plan = append(plan, "ecs-bus", "ecs-session", "ecs-scheduler")
	}
	plan = append(plan, "dockerexec-after-start", "dockerexec-after-start", "ecs-dockerexec",
		"reporter-held-after", "reporter-held-before", "reporter-held-before", "whole-agent", "wiped-store")
	c.r.Shuffle(len(plan), func(i, j int) { plan[i], plan[j] = plan[j], plan[i] })
	gap := d / time.Duration(len(plan)+1)
	for _, f := range plan {
		time.Sleep(gap/2 + time.Duration(c.r.Int64N(int64(gap))))
		c.inject(f)
	}
	time.Sleep(gap)
}

func (c *chaos) inject(f string) {
	t := c.t
	pause := func() { time.Sleep(300*time.Millisecond + time.Duration(c.r.Int64N(int64(1700*time.Millisecond)))) }
	note := f
	switch f {
	case "dockerexec-after-start":
		// Killed by the proxy once the engine has started a container, before
		// dockerexec can answer.
		if !c.proxy.armStart(func() { c.p.kill("ecs-dockerexec") }, 20*time.Second) {
			note += " (no start within 20s: killed at random instead)"
			c.p.kill("ecs-dockerexec")
		}
		pause()
		c.p.start("ecs-dockerexec")
	case "reporter-held-after", "reporter-held-before":
		// The control plane holds state changes (after or before applying them); the
		// reporter dies while they are held.
		phase := strings.TrimPrefix(f, "reporter-held-")
		admin(t, c.b.URL, "/admin/faults/delay", map[string]any{"operation": "SubmitTaskStateChange", "delayMillis": 2000, "phase": phase})
		time.Sleep(1200 * time.Millisecond)
		c.p.kill("ecs-reporter")
		admin(t, c.b.URL, "/admin/faults/delay", map[string]any{"operation": "SubmitTaskStateChange", "delayMillis": 0, "phase": phase})
		pause()
		c.p.start("ecs-reporter")
	case "whole-agent":
		c.p.killAll()
		pause()
		c.p.startAll()
	case "wiped-store":
		// What the store alone knows (a task stored but not yet in Docker) is lost with
		// it: the load pauses until everything placed is in Docker.
		c.w.pause(true)
		c.w.settle(90*time.Second, c.p.explain)
		c.p.killAll()
		if err := os.RemoveAll(c.b.Env.DataDir); err != nil {
			t.Fatal(err)
		}
		pause()
		c.p.startAll()
		c.w.pause(false)
	default:
		c.p.kill(f)
		pause()
		c.p.start(f)
	}
	c.faults = append(c.faults, note)
	t.Logf("chaos: %s", note)
}

// chaosTask is one task of the workload.
type chaosTask struct {
	arn     string
	kind    string // long, short, linked
	exit    int    // a short task's exit code
	stopped bool   // stop-task was called
	// first is each container as first seen running (long and linked tasks).
	first map[string]containerState
}

// workload keeps tasks running and churning.
type workload struct {
	t      *testing.T
	b      backend
	r      *rand.Rand
	long   string
	short  string
	linked string

	mu      sync.Mutex
	tasks   []*chaosTask
	paused  bool
	doubled []string // host ports seen held by two running containers at once
}

func newWorkload(t *testing.T, b backend, seed uint64) *workload {
	w := &workload{t: t, b: b, r: rand.New(rand.NewPCG(seed, 7))}
	c := b.ECS
	w.long = portTaskDef(t, c, "chaos-long", 0)
	w.short = sleepTaskDef(t, c, "chaos-short")
	out, err := c.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("chaos-linked"),
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: aws.String("db"), Image: aws.String(testImage), Memory: aws.Int32(16), Cpu: 10, Essential: aws.Bool(true),
				Command: []string{"sleep", "3600"}, StopTimeout: aws.Int32(2)},
			{Name: aws.String("app"), Image: aws.String(testImage), Memory: aws.Int32(16), Cpu: 10, Essential: aws.Bool(true),
				Command: []string{"sleep", "3600"}, StopTimeout: aws.Int32(2), Links: []string{"db"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	w.linked = aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	return w
}

func (w *workload) pause(on bool) {
	w.mu.Lock()
	w.paused = on
	w.mu.Unlock()
}

func (w *workload) snapshot() []*chaosTask {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*chaosTask(nil), w.tasks...)
}

// run keeps 8 long tasks and 2 linked ones running (stopping one now and then for a
// new one) and starts a short task about every 1.5 s, about 30 at a time in all.
func (w *workload) run(ctx context.Context) {
	tick := time.NewTicker(1500 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		w.mu.Lock()
		paused := w.paused
		w.mu.Unlock()
		if paused {
			continue
		}
		live := map[string]int{}
		var longs []*chaosTask
		for _, tk := range w.snapshot() {
			if !tk.stopped && tk.kind != "short" {
				live[tk.kind]++
				if tk.kind == "long" {
					longs = append(longs, tk)
				}
			}
		}
		switch {
		case live["long"] < 8:
			w.launch("long", -1)
		case live["linked"] < 2:
			w.launch("linked", -1)
		case n%12 == 0 && len(longs) > 0:
			w.stop(longs[w.r.IntN(len(longs))])
		}
		w.launch("short", w.r.IntN(6))
	}
}

func (w *workload) launch(kind string, exit int) {
	in := &ecs.RunTaskInput{Cluster: &w.b.Env.Cluster}
	switch kind {
	case "long":
		in.TaskDefinition = &w.long
	case "linked":
		in.TaskDefinition = &w.linked
	case "short":
		in.TaskDefinition = &w.short
		in.Overrides = &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{
			Name: aws.String("sleep"), Command: []string{"sh", "-c", fmt.Sprintf("sleep %d; exit %d", 1+exit%3, exit)},
		}}}
	}
	out, err := w.b.ECS.RunTask(context.Background(), in)
	if err != nil || len(out.Tasks) != 1 {
		w.t.Errorf("RunTask %s: %v, failures %s", kind, err, failures(out.Failures))
		return
	}
	w.mu.Lock()
	w.tasks = append(w.tasks, &chaosTask{arn: aws.ToString(out.Tasks[0].TaskArn), kind: kind, exit: exit, first: map[string]containerState{}})
	w.mu.Unlock()
}

func (w *workload) stop(tk *chaosTask) {
	if _, err := w.b.ECS.StopTask(context.Background(), &ecs.StopTaskInput{Cluster: &w.b.Env.Cluster, Task: &tk.arn}); err != nil {
		w.t.Errorf("StopTask: %v", err)
		return
	}
	w.mu.Lock()
	tk.stopped = true
	w.mu.Unlock()
}

// monitor samples the cluster's running containers every two seconds: no host port
// may be bound by two of them, and each long-running container is remembered as first
// seen, to check later that it was never restarted.
func (w *workload) monitor(ctx context.Context) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		byArn := map[string]*chaosTask{}
		for _, tk := range w.snapshot() {
			byArn[tk.arn] = tk
		}
		held := map[string]string{}
		for _, c := range w.clusterContainers() {
			if !c.Running {
				continue
			}
			for _, port := range c.HostPorts {
				if other, ok := held[port]; ok && other != c.ID {
					w.mu.Lock()
					w.doubled = append(w.doubled, fmt.Sprintf("port %s: %s and %s", port, other, c.ID))
					w.mu.Unlock()
				}
				held[port] = c.ID
			}
			if tk := byArn[c.task]; tk != nil && tk.kind != "short" {
				w.mu.Lock()
				if _, seen := tk.first[c.name]; !seen {
					tk.first[c.name] = c.containerState
				}
				w.mu.Unlock()
			}
		}
	}
}

// clusterContainer is one container of the cluster as docker inspect shows it.
type clusterContainer struct {
	containerState
	task, name string
	exitCode   int
}

func (w *workload) clusterContainers() []clusterContainer {
	out, err := exec.Command("docker", "ps", "-a", "-q", "--no-trunc", "--filter", "label=com.amazonaws.ecs.cluster="+w.b.Env.Cluster).Output()
	if err != nil {
		return nil
	}
	ids := strings.Fields(string(out))
	if len(ids) == 0 {
		return nil
	}
	raw, err := exec.Command("docker", append([]string{"inspect"}, ids...)...).Output()
	if err != nil {
		return nil // one was removed meanwhile; the next sample sees the rest
	}
	var ins []struct {
		ID           string `json:"Id"`
		RestartCount int
		State        struct {
			Running   bool
			StartedAt string
			ExitCode  int
		}
		Config          struct{ Labels map[string]string }
		NetworkSettings struct {
			Ports map[string][]struct{ HostIP, HostPort string }
		}
	}
	if err := json.Unmarshal(raw, &ins); err != nil {
		return nil
	}
	var cs []clusterContainer
	for _, in := range ins {
		c := clusterContainer{
			containerState: containerState{ID: in.ID, Running: in.State.Running, StartedAt: in.State.StartedAt, RestartCount: in.RestartCount},
			task:           in.Config.Labels["com.amazonaws.ecs.task-arn"], name: in.Config.Labels["com.amazonaws.ecs.container-name"],
			exitCode: in.State.ExitCode,
		}
		for proto, bs := range in.NetworkSettings.Ports {
			for _, b := range bs {
				c.HostPorts = append(c.HostPorts, b.HostIP+":"+b.HostPort+"/"+proto)
			}
		}
		cs = append(cs, c)
	}
	return cs
}

// describe returns the control plane's view of every task of the workload.
func (w *workload) describe() map[string]types.Task {
	out := map[string]types.Task{}
	arns := make([]string, 0)
	for _, tk := range w.snapshot() {
		arns = append(arns, tk.arn)
	}
	for len(arns) > 0 {
		n := min(len(arns), 100)
		d, err := w.b.ECS.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: &w.b.Env.Cluster, Tasks: arns[:n]})
		if err != nil {
			w.t.Fatalf("DescribeTasks: %v", err)
		}
		for _, tk := range d.Tasks {
			out[aws.ToString(tk.TaskArn)] = tk
		}
		arns = arns[n:]
	}
	return out
}

// settle waits until every task placed is in Docker: RUNNING or STOPPED for the
// control plane.
func (w *workload) settle(timeout time.Duration, explain func(arns []string)) {
	deadline := time.Now().Add(timeout)
	for {
		var pending []string
		for arn, tk := range w.describe() {
			if s := aws.ToString(tk.LastStatus); s != "RUNNING" && s != "STOPPED" {
				pending = append(pending, arn)
			}
		}
		if len(pending) == 0 {
			return
		}
		if time.Now().After(deadline) {
			// Wiping now would lose them by design: the agent stalled before the wipe.
			explain(pending)
			w.t.Fatalf("before the wipe, %d tasks were still not RUNNING or STOPPED after %v: %v", len(pending), timeout, pending)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// converge waits until every task has its expected status: a short or stopped one
// STOPPED, any other RUNNING.
func (w *workload) converge(timeout time.Duration, explain func(arns []string)) {
	deadline := time.Now().Add(timeout)
	var behind, arns []string
	for {
		behind, arns = behind[:0], arns[:0]
		view := w.describe()
		for _, tk := range w.snapshot() {
			want := "RUNNING"
			if tk.kind == "short" || tk.stopped {
				want = "STOPPED"
			}
			if got := aws.ToString(view[tk.arn].LastStatus); got != want {
				behind = append(behind, fmt.Sprintf("%s %s is %s, want %s", tk.kind, tk.arn, got, want))
				arns = append(arns, tk.arn)
			}
		}
		if len(behind) == 0 {
			return
		}
		if time.Now().After(deadline) {
			explain(arns)
			w.t.Fatalf("after %v, %d tasks have not reached their status:\n%s", timeout, len(behind), strings.Join(behind, "\n"))
		}
		time.Sleep(time.Second)
	}
}

// checkRunningUntouched checks that every long-running container still runs as first
// seen: the same container, never restarted.
func (w *workload) checkRunningUntouched() {
	now := map[string]containerState{}
	for _, c := range w.clusterContainers() {
		now[c.task+"/"+c.name] = c.containerState
	}
	checked := 0
	for _, tk := range w.snapshot() {
		if tk.kind == "short" || tk.stopped {
			continue
		}
		for name, first := range tk.first {
			got := now[tk.arn+"/"+name]
			if got.ID != first.ID || !got.Running || got.RestartCount != 0 || got.StartedAt != first.StartedAt {
				w.t.Errorf("container %s of %s: first seen %+v, now %+v", name, tk.arn, first, got)
			}
			checked++
		}
	}
	w.t.Logf("chaos: %d running containers checked: same ID, RestartCount 0, same StartedAt", checked)
}

func (w *workload) stopAll() {
	for _, tk := range w.snapshot() {
		if tk.kind != "short" && !tk.stopped {
			w.stop(tk)
		}
	}
}

// summary is what the suite prints at the end.
type summary struct {
	tasks             map[string]int
	kills             map[string]int
	faults            []string
	reports, changes  int
	containers        int
	elapsed           time.Duration
	checkedOrderTasks int
}

func (s summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "chaos summary (%v):\n", s.elapsed.Round(time.Second))
	fmt.Fprintf(&b, "  tasks: %d long, %d linked, %d short\n", s.tasks["long"], s.tasks["linked"], s.tasks["short"])
	names := make([]string, 0, len(s.kills))
	for n := range s.kills {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(&b, "  SIGKILLs:")
	for _, n := range names {
		fmt.Fprintf(&b, " %s %d,", strings.TrimPrefix(n, "ecs-"), s.kills[n])
	}
	fmt.Fprintf(&b, " faults in order: %s\n", strings.Join(s.faults, ", "))
	fmt.Fprintf(&b, "  state changes accepted by the control plane: %d calls, %d distinct transitions, in order for all %d tasks\n",
		s.reports, s.changes, s.checkedOrderTasks)
	fmt.Fprintf(&b, "  containers: %d, exactly one per task container, no orphan, no duplicate, no host port held twice\n", s.containers)
	return b.String()
}

// received is one state change the control plane accepted.
type received struct {
	Status     string `json:"status"`
	Containers []struct {
		Name     string `json:"containerName"`
		Status   string `json:"status"`
		ExitCode *int   `json:"exitCode"`
		Reason   string `json:"reason"`
	} `json:"containers"`
}

var rank = map[string]int{"PENDING": 1, "RUNNING": 2, "STOPPED": 3}

// check verifies the end state and returns the figures.
func (w *workload) check() summary {
	t := w.t
	sum := summary{tasks: map[string]int{}}
	resp, err := http.Get(w.b.URL + "/admin/reports")
	if err != nil {
		t.Fatal(err)
	}
	var all struct {
		Reports map[string][]received `json:"reports"`
	}
	err = json.NewDecoder(resp.Body).Decode(&all)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	view := w.describe()
	tasks := w.snapshot()
	known := map[string]*chaosTask{}
	for _, tk := range tasks {
		known[tk.arn] = tk
		sum.tasks[tk.kind]++
		reps := all.Reports[tk.arn]
		sum.reports += len(reps)
		// In order: the task's status and each container's never go back.
		taskRank, last := 0, ""
		ctr := map[string]int{}
		exits := map[string]int{}
		for _, r := range reps {
			if rank[r.Status] < taskRank {
				t.Errorf("task %s: %s reported after %s", tk.arn, r.Status, last)
			}
			if r.Status != last {
				sum.changes++
			}
			taskRank, last = max(taskRank, rank[r.Status]), r.Status
			for _, c := range r.Containers {
				if rank[c.Status] < ctr[c.Name] {
					t.Errorf("task %s container %s: %s reported after a later status", tk.arn, c.Name, c.Status)
				}
				ctr[c.Name] = max(ctr[c.Name], rank[c.Status])
				if c.ExitCode != nil {
					if prev, ok := exits[c.Name]; ok && prev != *c.ExitCode {
						t.Errorf("task %s container %s: exit code %d reported after %d", tk.arn, c.Name, *c.ExitCode, prev)
					}
					exits[c.Name] = *c.ExitCode
				}
				if strings.Contains(c.Reason, "port is already allocated") {
					t.Errorf("task %s container %s: %s", tk.arn, c.Name, c.Reason)
				}
			}
		}
		// Every change reached the control plane: a task that ran was reported
		// RUNNING (the agent sends it before STOPPED, however fast the exit), and its
		// containers RUNNING and then STOPPED.
		if taskRank != rank["STOPPED"] || !reportedStatus(reps, "RUNNING") {
			t.Errorf("task %s: the control plane received %s, want RUNNING and then STOPPED", tk.arn, statuses(reps))
		}
		sum.checkedOrderTasks++
		d := view[tk.arn]
		if aws.ToString(d.LastStatus) != "STOPPED" {
			t.Errorf("task %s is %s at the end", tk.arn, aws.ToString(d.LastStatus))
		}
		if tk.kind == "short" {
			if len(d.Containers) != 1 || d.Containers[0].ExitCode == nil || int(*d.Containers[0].ExitCode) != tk.exit {
				t.Errorf("short task %s: containers %s, want exit code %d", tk.arn, describeContainers(d.Containers), tk.exit)
			}
		}
	}
	// Docker: one container per task container, nothing else of the cluster.
	per := map[string]int{}
	for _, c := range w.clusterContainers() {
		sum.containers++
		if known[c.task] == nil {
			t.Errorf("orphan container %s of task %q", c.ID, c.task)
			continue
		}
		per[c.task+"/"+c.name]++
		if c.Running {
			t.Errorf("container %s of %s still runs after every task stopped", c.name, c.task)
		}
	}
	for key, n := range per {
		if n != 1 {
			t.Errorf("%s has %d containers", key, n)
		}
	}
	for _, tk := range tasks {
		names := []string{"web"}
		switch tk.kind {
		case "short":
			names = []string{"sleep"}
		case "linked":
			names = []string{"db", "app"}
		}
		for _, n := range names {
			if per[tk.arn+"/"+n] == 0 && tk.kind == "short" {
				t.Errorf("short task %s has no container %s", tk.arn, n)
			}
		}
	}
	w.mu.Lock()
	for _, d := range w.doubled {
		t.Errorf("host port held twice: %s", d)
	}
	w.mu.Unlock()
	return sum
}

func reportedStatus(reps []received, status string) bool {
	for _, r := range reps {
		if r.Status == status {
			return true
		}
	}
	return false
}

func statuses(reps []received) string {
	var parts []string
	for _, r := range reps {
		parts = append(parts, r.Status)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func describeContainers(cs []types.Container) string {
	var parts []string
	for _, c := range cs {
		code := "none"
		if c.ExitCode != nil {
			code = strconv.Itoa(int(*c.ExitCode))
		}
		parts = append(parts, fmt.Sprintf("%s %s exit %s %s", aws.ToString(c.Name), aws.ToString(c.LastStatus), code, aws.ToString(c.Reason)))
	}
	return strings.Join(parts, "; ")
}
