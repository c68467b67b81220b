package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runLocal runs the local command as `make run` does and returns what it printed.
func runLocal(t *testing.T, state string, args ...string) (string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append([]string{"--numbers", filepath.Join(repoRoot, "testdata/sample-numbers.json"), "--state", state}, args...)
	code := localMain(context.Background(), args, &out, &errOut)
	if errOut.Len() > 0 {
		t.Logf("stderr: %s", errOut.String())
	}
	return out.String(), code
}

// The embedded default: the first run prints the sample's FAILED notification with its
// deadline as an email reader sees it; the second run prints nothing new; looking ahead shows
// STUCK, the reminders and expiry, each once.
func TestLocalRunOnTheSample(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	state := filepath.Join(t.TempDir(), "state.json")
	out, code := runLocal(t, state)
	if code != 0 || !strings.Contains(out, "Subject: [FAILED] +1 800 555 0100 claim failed - retry before") ||
		!strings.Contains(out, "Retry deadline:") || !strings.Contains(out, "first-observation") {
		t.Fatalf("exit %d, first run printed:\n%s", code, out)
	}
	if out, _ := runLocal(t, state); !strings.Contains(out, "No new notifications") || strings.Contains(out, "Subject:") {
		t.Errorf("second run printed:\n%s", out)
	}
	for _, step := range []struct{ at, want string }{
		{"+1h", "[STUCK] +442079460958"},
		{"+19h", "[REMINDER] +1 800 555 0100"},
		{"+23h30m", "[REMINDER] +1 800 555 0100"},
		{"+25h", "[EXPIRED] +1 800 555 0100"},
	} {
		out, _ := runLocal(t, state, "--at", step.at)
		if strings.Count(out, "Subject:") != 1 || !strings.Contains(out, "Subject: "+step.want) {
			t.Errorf("--at %s printed:\n%s", step.at, out)
		}
	}
}

func TestLocalRunJSON(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	out, code := runLocal(t, filepath.Join(t.TempDir(), "state.json"), "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("exit %d, want one notification line and one summary line:\n%s", code, out)
	}
	var n struct{ SchemaVersion, Event, RetryDeadline string }
	if err := json.Unmarshal([]byte(lines[0]), &n); err != nil || n.Event != "FAILED" || n.SchemaVersion != "1" {
		t.Errorf("notification line %q: %v", lines[0], err)
	}
	var sum struct {
		Checked  int
		Complete bool
	}
	if err := json.Unmarshal([]byte(lines[1]), &sum); err != nil || sum.Checked != 4 || !sum.Complete {
		t.Errorf("summary line %q: %v", lines[1], err)
	}
}

func TestLocalRunRejectsBadInput(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	state := filepath.Join(t.TempDir(), "state.json")
	for _, args := range [][]string{{"--at", "tomorrow"}, {"--event", filepath.Join(repoRoot, "events/invalid-unknown-field.json")}, {"stray"}} {
		if _, code := runLocal(t, state, args...); code == 0 {
			t.Errorf("%q: exit 0, want a failure", args)
		}
	}
	t.Setenv("RETRY_WINDOW", "soon")
	if _, code := runLocal(t, state); code == 0 {
		t.Error("a bad RETRY_WINDOW ran")
	}
}

func TestClockAt(t *testing.T) {
	base := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	now := func() time.Time { return base }
	c, err := clockAt("+2h", now)
	if err != nil || !c().Equal(base.Add(2*time.Hour)) {
		t.Errorf("+2h: %v", err)
	}
	c, err = clockAt("2026-12-01T00:00:00Z", now)
	if err != nil || !c().Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("RFC 3339: %v", err)
	}
}
