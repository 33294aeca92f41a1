package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestScheduleGrowsToMaxAndResets(t *testing.T) {
	s := Backoff{Min: 10 * time.Millisecond, Max: 40 * time.Millisecond, Factor: 2}.Start()
	want := []time.Duration{10, 20, 40, 40}
	for i, w := range want {
		if got := s.Next(); got != w*time.Millisecond {
			t.Fatalf("wait %d = %v, want %v", i, got, w*time.Millisecond)
		}
	}
	s.Reset()
	if got := s.Next(); got != 10*time.Millisecond {
		t.Fatalf("after reset %v", got)
	}
}

func TestJitterStaysWithinItsFraction(t *testing.T) {
	s := Backoff{Min: 100 * time.Millisecond, Max: 100 * time.Millisecond, Factor: 1, Jitter: 0.2}.Start()
	for range 1000 {
		d := s.Next()
		if d < 100*time.Millisecond || d >= 120*time.Millisecond {
			t.Fatalf("wait %v outside [100ms, 120ms)", d)
		}
	}
}

func TestRetry(t *testing.T) {
	fast := Backoff{Min: time.Millisecond, Max: time.Millisecond, Factor: 1}
	t.Run("until success", func(t *testing.T) {
		n := 0
		err := Retry(context.Background(), fast, func(context.Context) error {
			if n++; n < 3 {
				return errors.New("not yet")
			}
			return nil
		})
		if err != nil || n != 3 {
			t.Fatalf("err %v after %d calls", err, n)
		}
	})
	t.Run("permanent stops at once", func(t *testing.T) {
		bad := errors.New("bad")
		n := 0
		err := Retry(context.Background(), fast, func(context.Context) error { n++; return Permanent(bad) })
		if !errors.Is(err, bad) || n != 1 {
			t.Fatalf("err %v after %d calls", err, n)
		}
	})
	t.Run("context ends", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		err := Retry(ctx, fast, func(context.Context) error { return errors.New("down") })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v", err)
		}
	})
}
