package telemetry

import (
	"context"
	"crypto/rand"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ecs-agent/ecs-agent/acs/tcs"
	"github.com/ecs-agent/ecs-agent/bus"
)

// tasksPerRequest is the real agent's page size of metrics and health requests.
const tasksPerRequest = 10

// instanceStatusType is the one instance health check: the container runtime.
const instanceStatusType = "CONTAINER_RUNTIME"

// publish sends the publications of one socket until ctx ends (the socket's end).
// It runs on its own goroutine and is the socket's only writer of requests.
func (c *Client) publish(ctx context.Context, k *conn, reg bus.Registration) {
	t := c.cfg.Timers
	tick := time.NewTicker(t.PublishInterval)
	defer tick.Stop()
	var (
		lastHealth string
		status     instanceStatus
	)
	sendHealth := func() {
		if c.cfg.DisableHealth {
			return
		}
		tasks := healthOf(c.src.Tasks())
		lastHealth = healthDigest(tasks)
		c.sendHealth(ctx, k, reg, tasks)
	}
	// The instance status and the health go out at once; metrics need a window.
	changed := c.src.TasksChanged()
	var settle <-chan time.Time
	c.sendStatus(ctx, k, reg, &status)
	sendHealth()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
			// A health change goes out at once; a burst of changes is looked at
			// once a HealthPoll.
			changed = nil
			if !c.cfg.DisableHealth && healthDigest(healthOf(c.src.Tasks())) != lastHealth {
				sendHealth()
			}
			settle = time.After(t.HealthPoll)
		case <-settle:
			// Changes made while settling were not signalled: take the channel for
			// the next one first, then look at what they did.
			settle = nil
			changed = c.src.TasksChanged()
			if !c.cfg.DisableHealth && healthDigest(healthOf(c.src.Tasks())) != lastHealth {
				sendHealth()
			}
		case <-tick.C:
			if !c.cfg.DisableMetrics {
				c.sendMetrics(ctx, k, reg)
			}
			sendHealth()
			c.sendStatus(ctx, k, reg, &status)
		}
	}
}

// metricsRequests builds one publication of the window's metrics: requests of at
// most tasksPerRequest tasks sharing one message ID, the last one fin; a single idle
// request when no task has metrics.
func metricsRequests(reg bus.Registration, window map[string][]tcs.ContainerMetric, tasks []bus.TaskRecord, now time.Time) []tcs.PublishMetricsRequest {
	byArn := map[string]bus.TaskRecord{}
	for _, r := range tasks {
		byArn[r.Spec.Arn] = r
	}
	var metrics []tcs.TaskMetric
	for arn, cms := range window {
		rec, ok := byArn[arn]
		if !ok {
			continue
		}
		sort.Slice(cms, func(i, j int) bool { return cms[i].ContainerName < cms[j].ContainerName })
		metrics = append(metrics, tcs.TaskMetric{
			TaskArn: arn, ClusterArn: rec.Spec.ClusterArn,
			TaskDefinitionFamily: rec.Spec.Family, TaskDefinitionVersion: rec.Spec.Version,
			ContainerMetrics: cms,
		})
	}
	sort.Slice(metrics, func(i, j int) bool { return metrics[i].TaskArn < metrics[j].TaskArn })
	id := messageID()
	md := func(idle, fin bool) *tcs.MetricsMetadata {
		return &tcs.MetricsMetadata{Cluster: reg.Cluster, ContainerInstance: reg.ContainerInstanceArn, MessageID: id, Idle: idle, Fin: fin}
	}
	if len(metrics) == 0 {
		return []tcs.PublishMetricsRequest{{Metadata: md(true, true), TaskMetrics: []tcs.TaskMetric{}, Timestamp: tcs.At(now)}}
	}
	var out []tcs.PublishMetricsRequest
	for i := 0; i < len(metrics); i += tasksPerRequest {
		end := min(i+tasksPerRequest, len(metrics))
		out = append(out, tcs.PublishMetricsRequest{Metadata: md(false, end == len(metrics)), TaskMetrics: metrics[i:end], Timestamp: tcs.At(now)})
	}
	return out
}

func (c *Client) sendMetrics(ctx context.Context, k *conn, reg bus.Registration) {
	now := c.now()
	tasks := c.src.Tasks()
	for _, r := range tasks {
		if r.KnownStatus == bus.StatusStopped {
			c.agg.forget(r.Spec.Arn)
		}
	}
	for _, req := range metricsRequests(reg, c.agg.window(now), tasks, now) {
		if err := k.send(ctx, tcs.TypePublishMetricsRequest, req); err != nil {
			c.log.Debug().Err(err).Msg("publishing metrics")
			return
		}
		c.counts.metrics.Add(1)
	}
}

// healthOf is the health of every running container with a Docker health check,
// by task (the tasks without one are left out).
func healthOf(records []bus.TaskRecord) []tcs.TaskHealth {
	var out []tcs.TaskHealth
	for _, r := range records {
		checked := map[string]bool{}
		for _, cs := range r.Spec.Containers {
			checked[cs.Name] = cs.HealthCheckType == bus.HealthCheckDocker
		}
		th := tcs.TaskHealth{TaskArn: r.Spec.Arn, ClusterArn: r.Spec.ClusterArn,
			TaskDefinitionFamily: r.Spec.Family, TaskDefinitionVersion: r.Spec.Version}
		for _, ctr := range r.Containers {
			if ctr.KnownStatus != bus.StatusRunning || (!checked[ctr.Name] && ctr.Health == "") {
				continue
			}
			h := tcs.ContainerHealth{ContainerName: ctr.Name, HealthStatus: tcs.HealthUnknown}
			if ctr.Health != "" {
				h.HealthStatus = string(ctr.Health)
			}
			if ctr.HealthSince != nil {
				h.StatusSince = tcs.At(*ctr.HealthSince)
			} else if ctr.StartedAt != nil {
				h.StatusSince = tcs.At(*ctr.StartedAt)
			}
			th.Containers = append(th.Containers, h)
		}
		if len(th.Containers) > 0 {
			sort.Slice(th.Containers, func(i, j int) bool { return th.Containers[i].ContainerName < th.Containers[j].ContainerName })
			out = append(out, th)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TaskArn < out[j].TaskArn })
	return out
}

// healthDigest identifies a health report's statuses, to publish on change.
func healthDigest(tasks []tcs.TaskHealth) string {
	var b strings.Builder
	for _, t := range tasks {
		for _, h := range t.Containers {
			fmt.Fprintf(&b, "%s/%s=%s;", t.TaskArn, h.ContainerName, h.HealthStatus)
		}
	}
	return b.String()
}

// healthRequests pages a health report as the real agent does; none when no
// container has a health check.
func healthRequests(reg bus.Registration, tasks []tcs.TaskHealth, now time.Time) []tcs.PublishHealthRequest {
	id := messageID()
	var out []tcs.PublishHealthRequest
	for i := 0; i < len(tasks); i += tasksPerRequest {
		end := min(i+tasksPerRequest, len(tasks))
		out = append(out, tcs.PublishHealthRequest{
			Metadata: &tcs.HealthMetadata{Cluster: reg.Cluster, ContainerInstance: reg.ContainerInstanceArn, MessageID: id, Fin: end == len(tasks)},
			Tasks:    tasks[i:end], Timestamp: tcs.At(now),
		})
	}
	return out
}

func (c *Client) sendHealth(ctx context.Context, k *conn, reg bus.Registration, tasks []tcs.TaskHealth) {
	for _, req := range healthRequests(reg, tasks, c.now()) {
		if err := k.send(ctx, tcs.TypePublishHealthRequest, req); err != nil {
			c.log.Debug().Err(err).Msg("publishing health")
			return
		}
		c.counts.health.Add(1)
	}
}

// instanceStatus is the container runtime check's state on one socket.
type instanceStatus struct {
	status              string
	reason              string
	changed, checked    time.Time
	published           time.Time
	publishedStatusSent string
}

// sendStatus checks the container runtime and publishes the status when it changed
// or was last published InstanceStatusEvery ago.
func (c *Client) sendStatus(ctx context.Context, k *conn, reg bus.Registration, st *instanceStatus) {
	status, reason := tcs.InstanceStatusOK, ""
	if c.engine != nil {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := c.engine.Ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			status, reason = tcs.InstanceStatusImpaired, err.Error()
		}
	}
	now := c.now()
	if status != st.status {
		st.status, st.changed = status, now
	}
	st.reason, st.checked = reason, now
	if st.publishedStatusSent == st.status && now.Sub(st.published) < c.cfg.Timers.InstanceStatusEvery {
		return
	}
	req := tcs.PublishInstanceStatusRequest{
		Metadata: &tcs.InstanceStatusMetadata{Cluster: reg.Cluster, ContainerInstance: reg.ContainerInstanceArn, RequestID: messageID()},
		Statuses: []tcs.InstanceStatus{{Type: instanceStatusType, Status: st.status, StatusReason: st.reason,
			LastUpdated: tcs.At(st.checked), LastStatusChange: tcs.At(st.changed)}},
		Timestamp: tcs.At(now),
	}
	if err := k.send(ctx, tcs.TypePublishInstanceStatusRequest, req); err != nil {
		c.log.Debug().Err(err).Msg("publishing the instance status")
		return
	}
	c.counts.status.Add(1)
	st.published, st.publishedStatusSent = now, st.status
}

// messageID is a random UUID (version 4), as the real agent's message IDs are.
func messageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
