package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat (100 on
// Linux on every architecture the agent runs on).
const clockTicks = 100

// memory is a process's resident set (VmRSS) and its peak (VmHWM), in KiB.
type memory struct {
	RSSKiB int64 `json:"rss_kib"`
	HWMKiB int64 `json:"hwm_kib"`
}

func readMemory(pid int) (memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	defer f.Close()
	var m memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fs := strings.Fields(v)
		if len(fs) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fs[0], 10, 64)
		switch k {
		case "VmRSS":
			m.RSSKiB = n
		case "VmHWM":
			m.HWMKiB = n
		}
	}
	return m, sc.Err()
}

// cpuSample is the CPU a process has used so far, by two counters: utime+stime from
// /proc/<pid>/stat (whole process, including exited threads, in 10 ms ticks) and the
// sum of the first field of /proc/<pid>/task/*/schedstat (time on CPU of the live
// threads, in ns).
type cpuSample struct {
	At        time.Time
	Ticks     int64
	SchedNano int64
}

func readCPU(pid int) (cpuSample, error) {
	s := cpuSample{At: time.Now()}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name may hold spaces; fields count from after its ')'.
	i := strings.LastIndexByte(string(raw), ')')
	fs := strings.Fields(string(raw[i+1:]))
	if len(fs) < 13 {
		return s, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fs))
	}
	ut, _ := strconv.ParseInt(fs[11], 10, 64) // field 14
	st, _ := strconv.ParseInt(fs[12], 10, 64) // field 15
	s.Ticks = ut + st
	threads, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	for _, t := range threads {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // the thread ended
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			s.SchedNano += n
		}
	}
	return s, nil
}

// cpuUse is the CPU used between two samples, in seconds by each counter.
type cpuUse struct {
	Seconds      float64 `json:"wall_s"`
	StatSeconds  float64 `json:"stat_cpu_s"`
	SchedSeconds float64 `json:"schedstat_cpu_s"`
}

func cpuBetween(a, b cpuSample) cpuUse {
	return cpuUse{
		Seconds:      b.At.Sub(a.At).Seconds(),
		StatSeconds:  float64(b.Ticks-a.Ticks) / clockTicks,
		SchedSeconds: float64(b.SchedNano-a.SchedNano) / 1e9,
	}
}

// procCost is one process's memory and CPU at a moment of the run.
type procCost struct {
	Process string  `json:"process"`
	Memory  memory  `json:"memory"`
	CPU     *cpuUse `json:"cpu,omitempty"`
}

// sampleMemory reads the memory of every process of the agent.
func sampleMemory(a *agent) []procCost {
	out := make([]procCost, 0, len(a.Procs))
	for _, p := range a.Procs {
		m, _ := readMemory(p.pid())
		out = append(out, procCost{Process: p.name, Memory: m})
	}
	return out
}

// sampleCPU reads the CPU counters of every process of the agent.
func sampleCPU(a *agent) []cpuSample {
	out := make([]cpuSample, 0, len(a.Procs))
	for _, p := range a.Procs {
		s, _ := readCPU(p.pid())
		out = append(out, s)
	}
	return out
}

// cpuSince returns every process's CPU use since the samples before, with its memory
// now.
func cpuSince(a *agent, before []cpuSample) []procCost {
	after := sampleCPU(a)
	out := sampleMemory(a)
	for i := range out {
		u := cpuBetween(before[i], after[i])
		out[i].CPU = &u
	}
	return out
}

// totals adds up the processes' figures.
func totals(cs []procCost) (rss, hwm int64, stat, sched float64) {
	for _, c := range cs {
		rss += c.Memory.RSSKiB
		hwm += c.Memory.HWMKiB
		if c.CPU != nil {
			stat += c.CPU.StatSeconds
			sched += c.CPU.SchedSeconds
		}
	}
	return
}
