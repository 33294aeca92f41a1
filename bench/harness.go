package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// The development credentials the local control plane accepts by default.
const (
	devAccessKey = "AKIDECSLOCALDEV"
	devSecretKey = "ecs-local-development-secret"
	region       = "us-west-2"
	benchImage   = "ecs-agent-test/busybox:latest"
	// taskMemoryMiB is the memory of every bench container, small so that 100 fit.
	taskMemoryMiB = 16
	// taskCPU is the CPU units of every bench container.
	taskCPU = 10
)

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// proc is a running binary of the agent or the control plane.
type proc struct {
	name string
	cmd  *exec.Cmd
	// debugLog is the process's ECS_LOGFILE (every line at debug level, JSON).
	debugLog string
	done     chan struct{}
}

func startProc(name, bin, logDir string, env []string, args ...string) (*proc, error) {
	f, err := os.OpenFile(filepath.Join(logDir, name+".out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	debugLog := filepath.Join(logDir, name+".debug.json")
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), env...), "ECS_LOGFILE="+debugLog)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, debugLog: debugLog, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the process with SIGTERM, then SIGKILL after 10 s.
func (p *proc) stop() {
	if p == nil || p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// controlPlane is the local control plane and a client of its ECS API.
type controlPlane struct {
	URL  string
	Proc *proc
	ECS  *ecs.Client
}

func startControlPlane(ctx context.Context, outDir, workDir string) (*controlPlane, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p, err := startProc("controlplane", filepath.Join(outDir, "ecs-controlplane"), workDir, nil,
		"--listen", addr, "--snapshot", filepath.Join(workDir, "cp.json"))
	if err != nil {
		return nil, err
	}
	cp := &controlPlane{URL: "http://" + addr, Proc: p, ECS: ecs.New(ecs.Options{
		Region:       region,
		BaseEndpoint: aws.String("http://" + addr),
		Credentials:  credentials.NewStaticCredentialsProvider(devAccessKey, devSecretKey, ""),
	})}
	err = waitUntil(ctx, 15*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("control plane does not listen on %s: %w", addr, err)
	}
	return cp, nil
}

// report is one state change the control plane received for a task.
type report struct {
	Operation  string    `json:"operation"`
	ReceivedAt time.Time `json:"receivedAt"`
	Status     string    `json:"status"`
}

// reports returns the state changes the control plane received for a task.
func (cp *controlPlane) reports(ctx context.Context, arn string) ([]report, error) {
	var out struct {
		Reports []report `json:"reports"`
	}
	err := cp.getJSON(ctx, "/admin/reports?task="+url.QueryEscape(arn), &out)
	return out.Reports, err
}

// allReports returns the state changes of every task, by task ARN.
func (cp *controlPlane) allReports(ctx context.Context) (map[string][]report, error) {
	var out struct {
		Reports map[string][]report `json:"reports"`
	}
	err := cp.getJSON(ctx, "/admin/reports", &out)
	return out.Reports, err
}

func (cp *controlPlane) getJSON(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cp.URL+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// received returns when the first task state change of that status arrived.
func received(rs []report, status string) (time.Time, bool) {
	for _, r := range rs {
		if r.Operation == "SubmitTaskStateChange" && r.Status == status {
			return r.ReceivedAt, true
		}
	}
	return time.Time{}, false
}

// waitReceived polls the control plane's record until the task's status report has
// arrived and returns its receipt time.
func (cp *controlPlane) waitReceived(ctx context.Context, arn, status string, timeout time.Duration) (time.Time, error) {
	var at time.Time
	err := waitUntil(ctx, timeout, func() bool {
		rs, err := cp.reports(ctx, arn)
		if err != nil {
			return false
		}
		var ok bool
		at, ok = received(rs, status)
		return ok
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("task %s: no %s report: %w", arn, status, err)
	}
	return at, nil
}

// registerSleep registers the bench's task definition: one busybox container
// sleeping an hour, stopped with a 1 s timeout (busybox sleep as PID 1 ignores
// SIGTERM, so every stop takes the timeout, as the baseline's).
func (cp *controlPlane) registerTaskDef(ctx context.Context, family string, command []string) (string, error) {
	out, err := cp.ECS.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("c"), Image: aws.String(benchImage), Memory: aws.Int32(taskMemoryMiB), Cpu: taskCPU,
			Essential: aws.Bool(true), Command: command, StopTimeout: aws.Int32(1),
		}},
	})
	if err != nil {
		return "", fmt.Errorf("RegisterTaskDefinition %s: %w", family, err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn), nil
}

// runTasks places count tasks (at most 10) and returns their ARNs; placement
// failures come back as fewer ARNs.
func (cp *controlPlane) runTasks(ctx context.Context, cluster, taskDef string, count int) ([]string, error) {
	out, err := cp.ECS.RunTask(ctx, &ecs.RunTaskInput{Cluster: &cluster, TaskDefinition: &taskDef, Count: aws.Int32(int32(count))})
	if err != nil {
		return nil, fmt.Errorf("RunTask: %w", err)
	}
	arns := make([]string, 0, len(out.Tasks))
	for _, t := range out.Tasks {
		arns = append(arns, aws.ToString(t.TaskArn))
	}
	return arns, nil
}

func (cp *controlPlane) stopTask(ctx context.Context, cluster, arn string) error {
	_, err := cp.ECS.StopTask(ctx, &ecs.StopTaskInput{Cluster: &cluster, Task: &arn, Reason: aws.String("bench")})
	return err
}

// agent is one running instance: the all-in-one binary or the pod of five processes.
type agent struct {
	Kind    string // "all-in-one" or "pod"
	Cluster string
	DataDir string
	BusPort int
	Procs   []*proc

	// ctx ends when one of the processes exits before stop is called; died says
	// which and how.
	ctx      context.Context
	cancel   context.CancelFunc
	mu       sync.Mutex
	stopping bool
	died     error
}

// watch ends the agent's context when p exits on its own.
func (a *agent) watch(p *proc) {
	<-p.done
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.stopping && a.died == nil {
		a.died = fmt.Errorf("%s exited during the run (%v); see its log in the work directory", p.name, p.cmd.ProcessState)
		a.cancel()
	}
}

// during runs a phase on the agent's context and says when the agent died under it.
func (a *agent) during(fn func(ctx context.Context) error) error {
	err := fn(a.ctx)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.died != nil {
		return a.died
	}
	return err
}

func (a *agent) stop() {
	a.mu.Lock()
	a.stopping = true
	a.mu.Unlock()
	// The session first, the bus last, as a supervisor would stop the pod.
	for i := len(a.Procs) - 1; i >= 0; i-- {
		a.Procs[i].stop()
	}
}

func (a *agent) debugLogs() []string {
	var out []string
	for _, p := range a.Procs {
		out = append(out, p.debugLog)
	}
	return out
}

// podBinaries are the pod's processes in their start order.
var podBinaries = []string{"ecs-bus", "ecs-dockerexec", "ecs-scheduler", "ecs-reporter", "ecs-session"}

// startAgent creates a fresh cluster and starts an instance of kind on it, with its
// own data directory and free ports, and waits until it is connected.
func startAgent(ctx context.Context, cp *controlPlane, kind, outDir, workDir string) (*agent, error) {
	cluster := fmt.Sprintf("bench-%s-%d", kind, time.Now().UnixNano()%1e9)
	dir := filepath.Join(workDir, kind)
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	var ports [3]int
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	if _, err := cp.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: &cluster}); err != nil {
		return nil, fmt.Errorf("CreateCluster: %w", err)
	}
	env := []string{
		"ECS_CLUSTER=" + cluster,
		"AWS_DEFAULT_REGION=" + region,
		"AWS_ACCESS_KEY_ID=" + devAccessKey,
		"AWS_SECRET_ACCESS_KEY=" + devSecretKey,
		"AWS_EC2_METADATA_DISABLED=true",
		"ECS_BACKEND_HOST=" + cp.URL,
		"ECS_DATADIR=" + dataDir,
		"ECS_BUS_PORT=" + strconv.Itoa(ports[0]),
		"ECS_BUS_URL=nats://127.0.0.1:" + strconv.Itoa(ports[0]),
		"ECS_INTROSPECTION_PORT=" + strconv.Itoa(ports[1]),
		"ECS_TASK_ENDPOINT_PORT=" + strconv.Itoa(ports[2]),
		"ECS_HOST_PORT_BIND_IP=127.0.0.1",
		"ECS_LOGLEVEL=info",
		"ECS_CONFIG_FILE=/dev/null",
		"ECS_IMAGE_PULL_BEHAVIOR=prefer-cached",
		"ECS_CONTAINER_STOP_TIMEOUT=1s",
		"ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION=1s",
	}
	a := &agent{Kind: kind, Cluster: cluster, DataDir: dataDir, BusPort: ports[0]}
	a.ctx, a.cancel = context.WithCancel(ctx)
	bins := []string{"amazon-ecs-agent"}
	if kind == kindPod {
		bins = podBinaries
	}
	for _, b := range bins {
		p, err := startProc(b, filepath.Join(outDir, b), dir, env)
		if err != nil {
			a.stop()
			return nil, err
		}
		a.Procs = append(a.Procs, p)
		go a.watch(p)
	}
	if err := waitInstance(ctx, cp, a); err != nil {
		a.stop()
		return nil, err
	}
	return a, nil
}

// waitInstance waits until the cluster has a connected container instance.
func waitInstance(ctx context.Context, cp *controlPlane, a *agent) error {
	err := waitUntil(ctx, 60*time.Second, func() bool {
		for _, p := range a.Procs {
			if p.exited() {
				return true
			}
		}
		l, err := cp.ECS.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: &a.Cluster})
		if err != nil || len(l.ContainerInstanceArns) == 0 {
			return false
		}
		d, err := cp.ECS.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{
			Cluster: &a.Cluster, ContainerInstances: l.ContainerInstanceArns})
		return err == nil && len(d.ContainerInstances) > 0 && d.ContainerInstances[0].AgentConnected
	})
	for _, p := range a.Procs {
		if p.exited() {
			return fmt.Errorf("%s exited while starting (see %s)", p.name, filepath.Dir(p.debugLog))
		}
	}
	if err != nil {
		return fmt.Errorf("no connected container instance in %s: %w", a.Cluster, err)
	}
	return nil
}

var errTimeout = errors.New("timed out")

// waitUntil polls cond every 50 ms until it holds, ctx ends or timeout passes.
func waitUntil(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %v", errTimeout, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
