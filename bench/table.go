package main

import (
	"fmt"
	"io"
	"strings"
)

// row is one line of the table: a latency (median, p90, max) or a single value
// (in Median), its baseline and ratio where there is one, and its target.
type row struct {
	Section  string   `json:"section"`
	Name     string   `json:"name"`
	Unit     string   `json:"unit"`
	N        int      `json:"n,omitempty"`
	Median   *float64 `json:"median,omitempty"`
	P90      *float64 `json:"p90,omitempty"`
	Max      *float64 `json:"max,omitempty"`
	Value    *float64 `json:"value,omitempty"`
	Baseline *float64 `json:"baseline,omitempty"`
	Ratio    *float64 `json:"ratio,omitempty"`
	Target   string   `json:"target,omitempty"`
	Met      *bool    `json:"met,omitempty"`
	Note     string   `json:"note,omitempty"`
}

func f(v float64) *float64 { return &v }
func b(v bool) *bool       { return &v }

func distRow(section, name string, d dist) row {
	if d.N == 0 {
		return row{Section: section, Name: name, Unit: "ms", Note: "no data"}
	}
	return row{Section: section, Name: name, Unit: "ms", N: d.N, Median: f(d.Median), P90: f(d.P90), Max: f(d.Max)}
}

func valueRow(section, name, unit string, v float64) row {
	return row{Section: section, Name: name, Unit: unit, Value: f(v)}
}

// vs adds a baseline and the ratio of the row's median (or value) to it.
func (r row) vs(base float64) row {
	v := r.Median
	if v == nil {
		v = r.Value
	}
	r.Baseline = f(base)
	if v != nil && base > 0 {
		r.Ratio = f(*v / base)
	}
	return r
}

// target sets the row's target text and whether it is met.
func (r row) target(text string, met bool) row {
	r.Target, r.Met = text, b(met)
	return r
}

func (r row) note(s string) row { r.Note = s; return r }

func buildTable(res *results) []row {
	var t []row
	for _, a := range res.Agents {
		sec := a.Kind
		if s := a.Single; s != nil {
			start := distRow(sec, "single: RunTask → RUNNING received", s.Start).vs(s.BaselineStart.Median)
			if start.Ratio != nil {
				start = start.target("÷ baseline ≤ 1.10", *start.Ratio <= 1.10)
			}
			t = append(t, start)
			t = append(t, distRow(sec, "  baseline: ContainerCreate + ContainerStart", s.BaselineStart))
			t = append(t, distRow(sec, "  agent's own stages (payload → RUNNING received, less Docker calls)", s.AgentOwn).
				target("≤ 20 ms", s.AgentOwn.N > 0 && s.AgentOwn.Median <= 20))
			for _, st := range s.StartStages {
				t = append(t, distRow(sec, "    "+st.Stage, st.dist))
			}
			t = append(t, distRow(sec, "single: StopTask → STOPPED received (1 s timeout)", s.Stop).vs(s.BaselineStop.Median))
			t = append(t, distRow(sec, "  baseline: ContainerStop, 1 s", s.BaselineStop))
			t = append(t, distRow(sec, "  die → STOPPED received", s.DieToStopped).
				target("≤ 30 ms", s.DieToStopped.N > 0 && s.DieToStopped.Median <= 30))
			for _, st := range s.StopStages {
				t = append(t, distRow(sec, "    "+st.Stage, st.dist))
			}
		}
		for _, bu := range a.Bursts {
			p := fmt.Sprintf("burst %d: ", bu.Size)
			base := bu.Baseline.AllRunningMS
			t = append(t, valueRow(sec, p+"first RUNNING received", "ms", bu.FirstRunningMS).vs(bu.Baseline.FirstRunningMS))
			t = append(t, valueRow(sec, p+"all RUNNING received", "ms", bu.AllRunningMS).vs(base).
				target("≤ 1.0 × baseline", bu.AllRunningMS <= base).note(fmt.Sprintf("baseline: %d workers", bu.Baseline.Workers)))
			t = append(t, distRow(sec, p+"per task RUNNING received", bu.PerTask).vs(bu.Baseline.PerTask.Median).
				target("median ≤ 0.6 × baseline all", bu.PerTask.Median <= 0.6*base))
			t = append(t, valueRow(sec, p+"first payload → first container started", "ms", bu.FirstStartAfterPayloadMS).
				target("≤ 300 ms", bu.FirstStartAfterPayloadMS > 0 && bu.FirstStartAfterPayloadMS <= 300))
			t = append(t, valueRow(sec, p+"StopTask → all STOPPED received", "ms", bu.AllStoppedMS))
			die := distRow(sec, p+"die → STOPPED received", bu.DieToStopped)
			if bu.Size == 20 {
				die = die.target("p90 ≤ 300 ms", bu.DieToStopped.N > 0 && bu.DieToStopped.P90 <= 300)
			}
			t = append(t, die)
			_, _, stat, sched := totals(bu.CPU)
			t = append(t, valueRow(sec, p+"CPU of the agent (run → all STOPPED)", "s", sched).
				note(fmt.Sprintf("utime+stime %.2f s", stat)))
			if bu.Size == 100 {
				rss, hwm, _, _ := totals(bu.MemoryRunning)
				r := valueRow(sec, "memory with 100 tasks running (RSS)", "MiB", mib(rss)).note(fmt.Sprintf("HWM %.1f MiB", mib(hwm)))
				if a.Kind == kindAllInOne {
					r = r.target("< 45 MiB", mib(rss) < 45)
				}
				t = append(t, r)
			}
		}
		if i := a.Idle; i != nil {
			for _, p := range i.Processes {
				if len(i.Processes) == 1 {
					break
				}
				t = append(t, valueRow(sec, "memory idle: "+p.Process+" (RSS)", "MiB", mib(p.Memory.RSSKiB)).
					note(fmt.Sprintf("HWM %.1f MiB", mib(p.Memory.HWMKiB))))
			}
			r := valueRow(sec, "memory idle (RSS, all processes)", "MiB", i.RSSMiB).note(fmt.Sprintf("HWM %.1f MiB", i.HWMMiB))
			if a.Kind == kindAllInOne {
				r = r.target("< 30 MiB", i.RSSMiB < 30)
			} else {
				r = r.target("≤ 70 MiB", i.RSSMiB <= 70)
			}
			t = append(t, r)
			if i.Seconds > 0 {
				for _, p := range i.Processes {
					if len(i.Processes) == 1 {
						break
					}
					t = append(t, valueRow(sec, "idle CPU per 30 s: "+p.Process, "s", p.CPU.SchedSeconds*30/i.Seconds).
						note(fmt.Sprintf("utime+stime %.2f s", p.CPU.StatSeconds*30/i.Seconds)))
				}
				lim := 0.02
				if a.Kind == kindPod {
					lim = 0.04
				}
				t = append(t, valueRow(sec, fmt.Sprintf("idle CPU per 30 s (over %.0f s: %.3f s)", i.Seconds, i.SchedCPU), "s", i.SchedPer30s).
					target(fmt.Sprintf("≤ %.2f s", lim), i.SchedPer30s <= lim).note(fmt.Sprintf("utime+stime %.2f s", i.StatPer30s)))
			}
		}
		if len(a.AfterCleanup) > 0 {
			rss, hwm, _, _ := totals(a.AfterCleanup)
			t = append(t, valueRow(sec, "memory after the bursts, cleaned up (RSS)", "MiB", mib(rss)).note(fmt.Sprintf("HWM %.1f MiB", mib(hwm))))
		}
	}
	if c := res.Churn; c != nil {
		sec := "churn (" + c.Instance + ")"
		r := valueRow(sec, fmt.Sprintf("throughput: %d of %d tasks in %.1f s", c.Completed, c.Target, c.Seconds), "tasks/s", c.TasksPerSec)
		if c.Bounded {
			r = r.note(fmt.Sprintf("stopped issuing at the %.0f s bound", c.BoundS))
		}
		t = append(t, r)
		before, _, _, _ := totals(c.MemoryBefore)
		after, hwm, _, _ := totals(c.MemoryAfter)
		t = append(t, valueRow(sec, fmt.Sprintf("RSS after, cleaned up (before: %.1f MiB)", mib(before)), "MiB", mib(after)).
			target("within 5 %", c.RSSChangePct <= 5 && c.RSSChangePct >= -5).note(fmt.Sprintf("%+.1f %%, HWM %.1f MiB", c.RSSChangePct, mib(hwm))))
	}
	if bu := res.Bus; bu != nil {
		t = append(t, distRow("bus (pod)", "request/reply round trip", bu.RequestReply).
			target("median ≤ 0.3 ms", bu.RequestReply.N > 0 && bu.RequestReply.Median <= 0.3))
		t = append(t, distRow("bus (pod)", "JetStream publish with ack (file stream)", bu.JSPublishAck))
	}
	return t
}

func printTable(w io.Writer, res *results) {
	m := res.Machine
	commit := m.GitCommit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if m.GitDirty {
		commit += " (modified)"
	}
	fmt.Fprintf(w, "ecs-agent bench  %s  commit %s\n", res.Started.Format("2006-01-02 15:04:05Z"), commit)
	fmt.Fprintf(w, "machine: %d cores, kernel %s, Docker %s (%s, cgroup v%s), %s\n",
		m.Cores, m.Kernel, m.DockerVersion, m.StorageDriver, m.CgroupVersion, m.GoVersion)
	fmt.Fprintf(w, "per-task work: ECS_ENABLE_TASK_CPU_MEM_LIMIT=%v, ECS_POLL_METRICS=%v (the agent's defaults)\n",
		res.Settings.TaskCPUMemLimit, res.Settings.PollMetrics)
	fmt.Fprintf(w, "CPU: schedstat (ns) against the targets, utime+stime (10 ms ticks) in the note\n")
	if bw := res.BaselineWorkers; bw != nil {
		var tried []string
		for _, t := range bw.Tried {
			tried = append(tried, fmt.Sprintf("%d: %.0f ms", t.Workers, t.AllRunningMS))
		}
		fmt.Fprintf(w, "direct baseline bursts: %d concurrent create+start workers (tried on %d: %s)\n",
			bw.Chosen, res.Settings.Bursts[0], strings.Join(tried, ", "))
	}
	for _, e := range res.Errors {
		fmt.Fprintf(w, "FAILED: %s\n", e)
	}
	fmt.Fprintln(w)
	const format = "%-13s %-66s %9s %9s %9s %9s %6s  %-28s %-4s %s\n"
	fmt.Fprintf(w, format, "", "figure", "median", "p90", "max", "baseline", "÷base", "target", "met", "note")
	last := ""
	for _, r := range res.Table {
		sec := r.Section
		if sec == last {
			sec = ""
		} else if last != "" {
			fmt.Fprintln(w)
		}
		last = r.Section
		name := r.Name
		if r.Unit != "ms" {
			name += " [" + r.Unit + "]"
		}
		med, p90, mx := num(r.Median), num(r.P90), num(r.Max)
		if r.Value != nil {
			med = num(r.Value)
		}
		met := ""
		if r.Met != nil {
			met = "no"
			if *r.Met {
				met = "yes"
			}
		}
		ratio := ""
		if r.Ratio != nil {
			ratio = fmt.Sprintf("%.2f", *r.Ratio)
		}
		fmt.Fprintf(w, format, sec, trunc(name, 66), med, p90, mx, num(r.Baseline), ratio, r.Target, met, r.Note)
	}
}

func num(v *float64) string {
	if v == nil {
		return ""
	}
	switch x := *v; {
	case x == 0:
		return "0"
	case x < 0.1 && x > -0.1:
		return fmt.Sprintf("%.4f", x)
	case x < 10 && x > -10:
		return fmt.Sprintf("%.2f", x)
	default:
		return fmt.Sprintf("%.1f", x)
	}
}

func trunc(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
