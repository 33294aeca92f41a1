package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// expectation is one file of the peer test data's expectations/ folder.
type expectation struct {
	TaskDefinition string
	Timeout        string
	ExitCodes      map[string]int
}

// peerTaskDef reads a peer task definition and points it at images that exist here:
// busybox for busybox, and for nginx a busybox httpd serving on port 80.
func peerTaskDef(t *testing.T, name string) ecs.RegisterTaskDefinitionInput {
	t.Helper()
	raw, err := os.ReadFile(sharedTestdata(t, name+".taskdef.json"))
	if err != nil {
		t.Fatal(err)
	}
	var in ecs.RegisterTaskDefinitionInput
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
	for i := range in.ContainerDefinitions {
		c := &in.ContainerDefinitions[i]
		switch aws.ToString(c.Image) {
		case "127.0.0.1:51670/busybox:latest":
			c.Image = aws.String(testImage)
		case "127.0.0.1:51670/nginx:latest":
			c.Image = aws.String(testImage)
			c.Command = []string{"sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 80 -h /www"}
		}
	}
	return in
}

// TestPeerTaskDefinitions runs the real agent's functional-test task definitions
// through the all-in-one agent, in parallel, and checks each container's exit code
// against the expectations shipped with them; then the failing pull and the static
// host port.
func TestPeerTaskDefinitions(t *testing.T) {
	b := newBackend(t)
	c, env, cp := b.ECS, b.Env, b.CP
	agent := startProc(t, "amazon-ecs-agent", binary(t, "amazon-ecs-agent"), env.vars())
	waitInstance(t, c, env.Cluster, agent, cp)
	peerSuite(t, c, env.Cluster, agent)
}

// peerSuite runs every peer task definition against the agent of cluster, in
// parallel, checking each container's exit code against its expectations; then the
// failing pull and the static host port 5180. procs' logs are shown on a failure.
func peerSuite(t *testing.T, c *ecs.Client, cluster string, procs ...*proc) {
	ctx := context.Background()
	files, _ := filepath.Glob(sharedTestdata(t, filepath.Join("expectations", "*.json")))
	if len(files) == 0 {
		t.Fatal("no expectations found")
	}
	t.Run("exit-codes", func(t *testing.T) {
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var exp expectation
			if err := json.Unmarshal(raw, &exp); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			t.Run(exp.TaskDefinition, func(t *testing.T) {
				t.Parallel()
				timeout, err := time.ParseDuration(exp.Timeout)
				if err != nil {
					timeout = 2 * time.Minute
				}
				in := peerTaskDef(t, exp.TaskDefinition)
				td, err := c.RegisterTaskDefinition(ctx, &in)
				if err != nil {
					t.Fatalf("RegisterTaskDefinition: %v", err)
				}
				start := time.Now()
				arn := runTask(t, c, cluster, aws.ToString(td.TaskDefinition.TaskDefinitionArn))
				task := waitTaskStatus(t, c, cluster, arn, "STOPPED", timeout, procs...)
				t.Logf("%s STOPPED after %v", exp.TaskDefinition, time.Since(start).Round(time.Millisecond))
				got := map[string]*int32{}
				for _, ct := range task.Containers {
					got[aws.ToString(ct.Name)] = ct.ExitCode
				}
				for name, want := range exp.ExitCodes {
					if ec := got[name]; ec == nil || int(*ec) != want {
						t.Errorf("container %s exit code %v, want %d", name, ec, want)
					}
				}
			})
		}
	})

	t.Run("invalid-image", func(t *testing.T) {
		in := peerTaskDef(t, "invalid-image")
		// An image no registry serves; 127.0.0.1:1 keeps the failed pull on this machine.
		in.ContainerDefinitions[0].Image = aws.String("127.0.0.1:1/nonexistent:latest")
		td, err := c.RegisterTaskDefinition(ctx, &in)
		if err != nil {
			t.Fatalf("RegisterTaskDefinition: %v", err)
		}
		arn := runTask(t, c, cluster, aws.ToString(td.TaskDefinition.TaskDefinitionArn))
		task := waitTaskStatus(t, c, cluster, arn, "STOPPED", 2*time.Minute, procs...)
		reason := aws.ToString(task.Containers[0].Reason)
		if !strings.HasPrefix(reason, "CannotPullContainerError") {
			t.Errorf("container reason %q, want CannotPullContainerError…", reason)
		}
		if n := len(dockerTaskContainers(t, arn)); n != 0 {
			t.Errorf("%d containers created for an image that could not be pulled", n)
		}
	})

	t.Run("busybox-port-5180", func(t *testing.T) {
		if l, err := net.Listen("tcp", "127.0.0.1:5180"); err != nil {
			t.Skipf("127.0.0.1:5180 is taken: %v", err)
		} else {
			l.Close()
		}
		in := peerTaskDef(t, "busybox-port-5180")
		td, err := c.RegisterTaskDefinition(ctx, &in)
		if err != nil {
			t.Fatalf("RegisterTaskDefinition: %v", err)
		}
		arn := runTask(t, c, cluster, aws.ToString(td.TaskDefinition.TaskDefinitionArn))
		task := waitTaskStatus(t, c, cluster, arn, "RUNNING", time.Minute, procs...)
		nb := task.Containers[0].NetworkBindings
		if len(nb) != 1 || aws.ToInt32(nb[0].HostPort) != 5180 || aws.ToInt32(nb[0].ContainerPort) != 80 {
			t.Fatalf("network bindings %+v, want 80 → 5180", nb)
		}
		conn, err := net.DialTimeout("tcp", "127.0.0.1:5180", 5*time.Second)
		if err != nil {
			t.Fatalf("dialing the published port: %v", err)
		}
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		got, _ := io.ReadAll(conn)
		conn.Close()
		if strings.TrimSpace(string(got)) != "foobar" {
			t.Errorf("read %q from 127.0.0.1:5180, want foobar", got)
		}
		// The container exits once it has answered; the task follows.
		waitTaskStatus(t, c, cluster, arn, "STOPPED", time.Minute, procs...)
	})
}
