package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
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
	testImage    = "ecs-agent-test/busybox:latest"
)

// repoRoot is the repository root, where ./out lives.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// binary returns the path of a built binary, skipping the test when it is missing.
func binary(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), "out", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s is not built (run make gobuild): %v", p, err)
	}
	return p
}

// requireDocker skips when no Docker engine answers, and when the test image is absent.
func requireDocker(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("no Docker engine answers: %v: %s", err, out)
	}
	if out, err := exec.Command("docker", "image", "inspect", testImage).CombinedOutput(); err != nil {
		t.Skipf("test image %s missing (run deploy/testimage/build-busybox.sh): %s", testImage, out)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// proc is a running binary whose output goes to a log file kept with the test's output.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func startProc(t *testing.T, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	logDir := filepath.Join(repoRoot(t), "out", "e2e-logs", t.Name())
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop ends the process with SIGTERM, then SIGKILL after 10 s.
func (p *proc) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// kill ends the process with SIGKILL at once.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// tail returns the last lines of the process's log, for failure messages.
func (p *proc) tail(n int) string {
	f, err := os.Open(p.log)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// controlPlane starts ecs-controlplane on a free loopback port and returns its URL.
func controlPlane(t *testing.T, extraArgs ...string) (string, *proc) {
	t.Helper()
	port := freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args := append([]string{"--listen", addr, "--snapshot", filepath.Join(t.TempDir(), "controlplane.json")}, extraArgs...)
	p := startProc(t, "controlplane", binary(t, "ecs-controlplane"), nil, args...)
	url := "http://" + addr
	waitFor(t, 15*time.Second, "control plane to listen", func() (bool, string) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	})
	return url, p
}

func ecsClient(url string) *ecs.Client {
	return ecs.New(ecs.Options{
		Region:       region,
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(devAccessKey, devSecretKey, ""),
	})
}

// backend is a running control plane with a fresh cluster for one test's agent.
type backend struct {
	URL string
	CP  *proc
	ECS *ecs.Client
	Env agentEnv
}

// newBackend starts the control plane (with extra flags), creates the test's cluster
// and removes the cluster's containers when the test ends. It skips without Docker.
func newBackend(t *testing.T, cpArgs ...string) backend {
	t.Helper()
	requireDocker(t)
	url, cp := controlPlane(t, cpArgs...)
	b := backend{URL: url, CP: cp, ECS: ecsClient(url), Env: newAgentEnv(t, url)}
	t.Cleanup(func() { removeClusterContainers(b.Env.Cluster) })
	if _, err := b.ECS.CreateCluster(context.Background(), &ecs.CreateClusterInput{ClusterName: &b.Env.Cluster}); err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	return b
}

// agentEnv is the environment of every agent process of one test instance.
type agentEnv struct {
	Cluster           string
	DataDir           string
	BusPort           int
	IntrospectionPort int
	TaskEndpointPort  int
	BackendURL        string
	// MetricsPorts are the /metrics ports of the reporter (or the all-in-one agent),
	// the bus, the session, the scheduler and dockerexec, in that order.
	MetricsPorts [5]int
}

// metricsVars name the MetricsPorts.
var metricsVars = [5]string{"ECS_METRICS_PORT", "ECS_BUS_METRICS_PORT", "ECS_SESSION_METRICS_PORT",
	"ECS_SCHEDULER_METRICS_PORT", "ECS_DOCKEREXEC_METRICS_PORT"}

func newAgentEnv(t *testing.T, backend string) agentEnv {
	return agentEnv{
		Cluster:           fmt.Sprintf("e2e-%d", time.Now().UnixNano()%1e9),
		DataDir:           t.TempDir(),
		BusPort:           freePort(t),
		IntrospectionPort: freePort(t),
		TaskEndpointPort:  freePort(t),
		BackendURL:        backend,
		MetricsPorts:      [5]int{freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)},
	}
}

func (a agentEnv) vars() []string {
	var metrics []string
	for i, v := range metricsVars {
		metrics = append(metrics, v+"="+strconv.Itoa(a.MetricsPorts[i]))
	}
	return append(metrics,
		"ECS_ENABLE_PROMETHEUS_METRICS=true",
		"ECS_CLUSTER="+a.Cluster,
		"AWS_DEFAULT_REGION="+region,
		"AWS_ACCESS_KEY_ID="+devAccessKey,
		"AWS_SECRET_ACCESS_KEY="+devSecretKey,
		"AWS_EC2_METADATA_DISABLED=true", // off EC2: no identity document to ask for
		"ECS_BACKEND_HOST="+a.BackendURL,
		"ECS_DATADIR="+a.DataDir,
		"ECS_BUS_PORT="+strconv.Itoa(a.BusPort),
		"ECS_BUS_URL=nats://127.0.0.1:"+strconv.Itoa(a.BusPort),
		"ECS_INTROSPECTION_PORT="+strconv.Itoa(a.IntrospectionPort),
		"ECS_TASK_ENDPOINT_PORT="+strconv.Itoa(a.TaskEndpointPort),
		"ECS_HOST_PORT_BIND_IP=127.0.0.1",
		"ECS_LOGLEVEL=debug",
		"ECS_CONFIG_FILE=/dev/null",
		// The test images are local only: under default every task would try the
		// registry first (PROTOCOL.md §7). Tests of the pull behaviours set their own.
		"ECS_IMAGE_PULL_BEHAVIOR=prefer-cached",
	)
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s (last: %s)", timeout, what, last)
}

// registerTaskDef registers a task definition file of the shared test data with the
// image rewritten to the local busybox image.
func registerTaskDefFile(t *testing.T, c *ecs.Client, path string) *types.TaskDefinition {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("test data %s: %v", path, err)
	}
	raw = []byte(strings.ReplaceAll(string(raw), "127.0.0.1:51670/busybox:latest", testImage))
	var in ecs.RegisterTaskDefinitionInput
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	out, err := c.RegisterTaskDefinition(context.Background(), &in)
	if err != nil {
		t.Fatalf("RegisterTaskDefinition %s: %v", path, err)
	}
	return out.TaskDefinition
}

// sharedTestdata finds the shared peer task definitions: the control plane's copy in the
// repository.
func sharedTestdata(t *testing.T, name string) string {
	return filepath.Join(repoRoot(t), "controlplane", "testdata", "peer-taskdefs", name)
}

func describeTask(t *testing.T, c *ecs.Client, cluster, arn string) types.Task {
	t.Helper()
	out, err := c.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: &cluster, Tasks: []string{arn}})
	if err != nil {
		t.Fatalf("DescribeTasks: %v", err)
	}
	if len(out.Tasks) != 1 {
		t.Fatalf("DescribeTasks returned %d tasks, failures %+v", len(out.Tasks), out.Failures)
	}
	return out.Tasks[0]
}

func waitTaskStatus(t *testing.T, c *ecs.Client, cluster, arn, status string, timeout time.Duration, procs ...*proc) types.Task {
	t.Helper()
	var task types.Task
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		task = describeTask(t, c, cluster, arn)
		if aws.ToString(task.LastStatus) == status {
			return task
		}
		time.Sleep(300 * time.Millisecond)
	}
	var logs strings.Builder
	for _, p := range procs {
		fmt.Fprintf(&logs, "\n--- %s (exited=%v) ---\n%s", p.name, p.exited(), p.tail(40))
	}
	t.Fatalf("task %s is %s after %v, want %s%s", arn, aws.ToString(task.LastStatus), timeout, status, logs.String())
	return task
}

// runTask runs one task of the family on the cluster and returns its ARN.
func runTask(t *testing.T, c *ecs.Client, cluster, taskDef string) string {
	t.Helper()
	out, err := c.RunTask(context.Background(), &ecs.RunTaskInput{Cluster: &cluster, TaskDefinition: &taskDef})
	if err != nil {
		t.Fatalf("RunTask: %v", err)
	}
	if len(out.Tasks) != 1 {
		t.Fatalf("RunTask placed %d tasks, failures: %s", len(out.Tasks), failures(out.Failures))
	}
	return aws.ToString(out.Tasks[0].TaskArn)
}

func failures(fs []types.Failure) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "%s: %s; ", aws.ToString(f.Arn), aws.ToString(f.Reason))
	}
	return b.String()
}

// waitInstance waits until the cluster has a container instance with its agent
// connected and returns its ARN.
func waitInstance(t *testing.T, c *ecs.Client, cluster string, procs ...*proc) string {
	t.Helper()
	var arn string
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		l, err := c.ListContainerInstances(context.Background(), &ecs.ListContainerInstancesInput{Cluster: &cluster})
		if err == nil && len(l.ContainerInstanceArns) > 0 {
			d, err := c.DescribeContainerInstances(context.Background(), &ecs.DescribeContainerInstancesInput{
				Cluster: &cluster, ContainerInstances: l.ContainerInstanceArns})
			if err == nil && len(d.ContainerInstances) > 0 && d.ContainerInstances[0].AgentConnected {
				return aws.ToString(d.ContainerInstances[0].ContainerInstanceArn)
			}
			arn = l.ContainerInstanceArns[0]
		}
		time.Sleep(300 * time.Millisecond)
	}
	var logs strings.Builder
	for _, p := range procs {
		fmt.Fprintf(&logs, "\n--- %s (exited=%v) ---\n%s", p.name, p.exited(), p.tail(40))
	}
	t.Fatalf("no connected container instance in %s (registered: %q)%s", cluster, arn, logs.String())
	return ""
}

// dockerPS lists the containers (all states) of a task: ID, running state, labels.
type dockerContainer struct {
	ID      string
	Running bool
	Labels  map[string]string
}

func dockerTaskContainers(t *testing.T, taskArn string) []dockerContainer {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "-q", "--no-trunc", "--filter", "label=com.amazonaws.ecs.task-arn="+taskArn).Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	var cs []dockerContainer
	for _, id := range strings.Fields(string(out)) {
		raw, err := exec.Command("docker", "inspect", "--format", "{{json .State.Running}} {{json .Config.Labels}}", id).Output()
		if err != nil {
			continue
		}
		running, labels, _ := strings.Cut(strings.TrimSpace(string(raw)), " ")
		c := dockerContainer{ID: id, Running: running == "true"}
		_ = json.Unmarshal([]byte(labels), &c.Labels)
		cs = append(cs, c)
	}
	return cs
}

// removeClusterContainers removes every container the agent created for a cluster.
func removeClusterContainers(cluster string) {
	out, _ := exec.Command("docker", "ps", "-a", "-q", "--filter", "label=com.amazonaws.ecs.cluster="+cluster).Output()
	ids := strings.Fields(string(out))
	if len(ids) > 0 {
		_ = exec.Command("docker", append([]string{"rm", "-f", "-v"}, ids...)...).Run()
	}
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: decoding: %v", url, err)
	}
	return resp.StatusCode
}

func sleepTaskDef(t *testing.T, c *ecs.Client, family string) string {
	t.Helper()
	out, err := c.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("sleep"), Image: aws.String(testImage), Memory: aws.Int32(32), Cpu: 10,
			Essential: aws.Bool(true), Command: []string{"sleep", "3600"},
			// busybox sleep as PID 1 ignores SIGTERM: keep the kill short.
			StopTimeout: aws.Int32(2),
		}},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}
