package dockerexec_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/ecs-agent/ecs-agent/bus"
	"github.com/ecs-agent/ecs-agent/services/dockerexec"
)

const (
	testImage = "ecs-agent-test/busybox:latest"
	testLabel = "ecs-agent-test"
)

// realEngine returns a client of the local engine, or skips the test saying why.
func realEngine(t *testing.T) *client.Client {
	t.Helper()
	cli, err := dockerexec.NewDockerClient("")
	if err != nil {
		t.Skipf("no Docker client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		t.Skipf("no Docker engine answers: %v", err)
	}
	if _, err := cli.ImageInspect(ctx, testImage); err != nil {
		t.Skipf("test image %s is missing (build it with deploy/testimage/build-busybox.sh): %v", testImage, err)
	}
	return cli
}

// removeTaskContainers removes every container of a test task.
func removeTaskContainers(t *testing.T, cli *client.Client, arn string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", bus.LabelTaskARN+"="+arn))})
	if err != nil {
		t.Errorf("listing test containers: %v", err)
		return
	}
	for _, c := range list {
		if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			t.Errorf("removing test container %s: %v", c.ID, err)
		}
	}
}

// itCluster is the cluster of the real-engine test's containers.
const itCluster = "dockerexec-it"

func realRequest(arn, name string, cmd ...string) bus.CreateRequest {
	return bus.CreateRequest{
		TaskArn: arn, Cluster: itCluster, Family: "dockerexec-it", Version: "1", ContainerInstanceArn: instanceArn,
		DockerName: fmt.Sprintf("ecs-dockerexec-it-1-%s-%d", name, time.Now().UnixNano()),
		Container: bus.ContainerSpec{
			Name: name, Image: testImage, CPU: 10, Memory: 32, Command: cmd,
			DockerConfig: bus.DockerConfig{Config: `{"Labels":{"` + testLabel + `":"dockerexec"}}`},
		},
	}
}

func TestRealEngine(t *testing.T) {
	cli := realEngine(t)
	arn := fmt.Sprintf("arn:aws:ecs:us-west-2:123456789012:task/test/dockerexec-it-%d", time.Now().UnixNano())
	t.Cleanup(func() { removeTaskContainers(t, cli, arn) })
	// A cluster of its own, so that other agents' containers on the engine are not its.
	cfg := testConfig()
	cfg.Cluster = itCluster
	h := startService(t, cfg, cli)
	events := h.events(t)

	pulled, err := call[bus.PullRequest, bus.PullReply](t, h, bus.SubjectDockerPull,
		bus.PullRequest{TaskArn: arn, ContainerName: "web", Image: testImage})
	if err != nil || pulled.Pulled || pulled.ImageID == "" {
		t.Fatalf("pull of a local image: %+v %v", pulled, err)
	}

	t.Run("lifecycle with a published port", func(t *testing.T) {
		req := realRequest(arn, "web", "httpd", "-f", "-p", "8080", "-h", "/")
		req.PortBindings = []bus.PortMapping{{ContainerPort: 8080, HostPort: 0}}
		created, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, realRequest(arn, "web", "true"))
		if err != nil || !again.Existed || again.DockerID != created.DockerID {
			t.Fatalf("second create %+v %v, want %s", again, err, created.DockerID)
		}
		ref := bus.ContainerRef{TaskArn: arn, ContainerName: "web"}
		st, err := call[bus.StartRequest, bus.ContainerState](t, h, bus.SubjectDockerStart, bus.StartRequest{ContainerRef: ref})
		if err != nil || st.Status != bus.StatusRunning {
			t.Fatalf("start: %+v %v", st, err)
		}
		if ev := events.until("start", created.DockerID, 10*time.Second); ev.Status != bus.StatusRunning || ev.ContainerName != "web" {
			t.Errorf("start event %+v", ev)
		}
		var port int
		for _, b := range st.NetworkBindings {
			if b.BindIP == "127.0.0.1" && b.ContainerPort == 8080 && b.Protocol == "tcp" && b.HostPort > 0 {
				port = b.HostPort
			}
		}
		if port == 0 {
			t.Fatalf("no binding of 8080/tcp on 127.0.0.1: %+v", st.NetworkBindings)
		}
		conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 5*time.Second)
		if err != nil {
			t.Errorf("published port %d does not answer: %v", port, err)
		} else {
			conn.Close()
		}

		st, err = call[bus.StopRequest, bus.ContainerState](t, h, bus.SubjectDockerStop,
			bus.StopRequest{ContainerRef: ref, Timeout: time.Second})
		if err != nil || st.Status != bus.StatusStopped || st.ExitCode == nil {
			t.Fatalf("stop: %+v %v", st, err)
		}
		ev := events.until("die", created.DockerID, 10*time.Second)
		if ev.Status != bus.StatusStopped || ev.ExitCode == nil || *ev.ExitCode != *st.ExitCode {
			t.Errorf("die event %+v, want exit code %d", ev, *st.ExitCode)
		}
		if _, err := call[bus.StopRequest, bus.ContainerState](t, h, bus.SubjectDockerStop,
			bus.StopRequest{ContainerRef: ref, Timeout: time.Second}); err != nil {
			t.Errorf("second stop: %v", err)
		}
		for range 2 {
			if _, err := call[bus.RemoveRequest, struct{}](t, h, bus.SubjectDockerRemove, bus.RemoveRequest{ContainerRef: ref}); err != nil {
				t.Fatalf("remove: %v", err)
			}
		}
		_, err = call[bus.InspectRequest, bus.ContainerState](t, h, bus.SubjectDockerInspect, bus.InspectRequest{ContainerRef: ref})
		wantCode(t, err, bus.CodeNotFound)
	})

	t.Run("exit code 42", func(t *testing.T) {
		created, err := call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate,
			realRequest(arn, "exit", "sh", "-c", "exit 42"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := call[bus.StartRequest, bus.ContainerState](t, h, bus.SubjectDockerStart,
			bus.StartRequest{ContainerRef: bus.ContainerRef{DockerID: created.DockerID}}); err != nil {
			t.Fatal(err)
		}
		ev := events.until("die", created.DockerID, 10*time.Second)
		if ev.Status != bus.StatusStopped || ev.ExitCode == nil || *ev.ExitCode != 42 || ev.ContainerName != "exit" {
			t.Errorf("die event %+v, want STOPPED with exit code 42", ev)
		}
		list, err := call[bus.ListRequest, bus.ListReply](t, h, bus.SubjectDockerList, bus.ListRequest{TaskArn: arn})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, c := range list.Containers {
			if c.DockerID == created.DockerID {
				found = c.Status == bus.StatusStopped && c.ExitCode != nil && *c.ExitCode == 42
			}
		}
		if !found {
			t.Errorf("list does not show the exited container: %+v", list.Containers)
		}
	})

	t.Run("missing image", func(t *testing.T) {
		_, err := call[bus.PullRequest, bus.PullReply](t, h, bus.SubjectDockerPull,
			bus.PullRequest{TaskArn: arn, ContainerName: "x", Image: "127.0.0.1:1/nothing/here:1", Behavior: "prefer-cached"})
		wantCode(t, err, bus.CodePullFailed)
		t.Logf("pull failure reads: %s", err.(*bus.Error).Description)
		req := realRequest(arn, "noimage")
		req.Container.Image = "ecs-agent-test/does-not-exist:1"
		_, err = call[bus.CreateRequest, bus.CreateReply](t, h, bus.SubjectDockerCreate, req)
		wantCode(t, err, bus.CodeCreateFailed)
	})
}
