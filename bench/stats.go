package main

import (
	"math"
	"slices"
	"time"
)

// dist summarises a set of durations, in milliseconds.
type dist struct {
	N      int     `json:"n"`
	Median float64 `json:"median_ms"`
	P90    float64 `json:"p90_ms"`
	Max    float64 `json:"max_ms"`
}

func newDist(ds []time.Duration) dist {
	if len(ds) == 0 {
		return dist{}
	}
	ms := make([]float64, len(ds))
	for i, d := range ds {
		ms[i] = float64(d) / float64(time.Millisecond)
	}
	slices.Sort(ms)
	return dist{N: len(ms), Median: quantile(ms, 0.5), P90: quantile(ms, 0.9), Max: ms[len(ms)-1]}
}

// quantile of sorted values, by linear interpolation between the closest ranks.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (sorted[hi]-sorted[lo])*(pos-float64(lo))
}

// series collects durations by name, keeping the names' order of first use.
type series struct {
	order []string
	vals  map[string][]time.Duration
}

func newSeries() *series { return &series{vals: map[string][]time.Duration{}} }

// add records d under name when both ends are known (neither time is zero).
func (s *series) add(name string, from, to time.Time) {
	if from.IsZero() || to.IsZero() {
		if _, ok := s.vals[name]; !ok {
			s.order = append(s.order, name)
			s.vals[name] = nil
		}
		return
	}
	s.addDur(name, to.Sub(from))
}

func (s *series) addDur(name string, d time.Duration) {
	if _, ok := s.vals[name]; !ok {
		s.order = append(s.order, name)
	}
	s.vals[name] = append(s.vals[name], d)
}

func (s *series) dist(name string) dist { return newDist(s.vals[name]) }

func sortTimes(ts []time.Time) {
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
