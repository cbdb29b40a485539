package cli

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A warning said many times a second is logged once per interval, the next
// line carrying how many were held back; other messages and errors pass.
func TestThrottleHoldsBackRepeatedWarnings(t *testing.T) {
	var buf bytes.Buffer
	h := newThrottle(slog.NewTextHandler(&buf, nil), 30*time.Second)
	log := slog.New(h).With("component", "test")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	say := func(at time.Duration, level slog.Level, msg string) {
		r := slog.NewRecord(t0.Add(at), level, msg, 0)
		if err := log.Handler().Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 120 { // four a second for 30 s
		say(time.Duration(i)*250*time.Millisecond, slog.LevelWarn, "jobs: claim")
	}
	say(time.Second, slog.LevelWarn, "not ready")
	say(2*time.Second, slog.LevelError, "request failed")
	say(3*time.Second, slog.LevelError, "request failed")
	say(30*time.Second, slog.LevelWarn, "jobs: claim")
	out := buf.String()
	if n := strings.Count(out, `msg="jobs: claim"`); n != 2 {
		t.Fatalf("%d lines of the repeated warning, want 2 (one per 30 s):\n%s", n, out)
	}
	if !strings.Contains(out, "repeated=119") {
		t.Fatalf("the second line does not count the 119 held back:\n%s", out)
	}
	if strings.Count(out, `msg="not ready"`) != 1 || strings.Count(out, `msg="request failed"`) != 2 {
		t.Fatalf("other warnings and every error must pass:\n%s", out)
	}
	if strings.Count(out, "component=test") != 5 {
		t.Fatalf("attributes of the logger lost:\n%s", out)
	}
}
