package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var repoRoot = func() string { d, _ := filepath.Abs("../.."); return d }()

// sampleTime is `make run`'s fixed time (SAMPLE_TIME in the Makefile).
var sampleTime = time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)

var sampleNumbers = filepath.Join(repoRoot, "testdata/sample-numbers.json")

// isolate gives a test a frozen clock at sampleTime and an environment without phonewatch's
// variables, so that the developer's own shell cannot change what a command does.
func isolate(t *testing.T) {
	t.Helper()
	old := wallClock
	wallClock = func() time.Time { return sampleTime }
	t.Cleanup(func() { wallClock = old })
	for _, v := range []string{"STATE_TABLE", "TOPIC_ARN", "TARGET_ARNS", "PHONE_NUMBER_IDS", "RETRY_WINDOW",
		"REMINDERS", "STUCK_AFTER", "NOTIFY_RECOVERY", "CLOUDTRAIL", "DISPLAY_TIMEZONE"} {
		t.Setenv(v, "")
	}
}

// phonewatch runs the command line as main does and returns what it printed and its exit code.
func phonewatch(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, env{stdout: &out, stderr: &errOut})
	return out.String(), errOut.String(), code
}

func TestParseAt(t *testing.T) {
	now := sampleTime
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"+2h", now.Add(2 * time.Hour)},
		{"-1h", now.Add(-time.Hour)},
		{"2026-11-26T06:00:00Z-90m", now.Add(-90 * time.Minute)},
		{"2026-11-26T01:00:00-05:00+1h", now.Add(time.Hour)},
		{"2026-12-01T00:00:00Z", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-11-26T06:00:00Z+19h", now.Add(19 * time.Hour)},
		{"2026-11-26T07:00:00+01:00", now},
		{"2026-11-26T07:00:00+01:00+30m", now.Add(30 * time.Minute)},
	} {
		got, err := parseAt(tc.in, now)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"tomorrow", "+soon", "2026-13-01T00:00:00Z+1h", "2026-11-26T06:00:00Z+",
		// Go's zero time, and a sign twice: typos, not times to run at.
		"0001-01-01T00:00:00Z", "2026-11-26T06:00:00Z+-1h", "+-1h", "-10000000h", "2200-01-01T00:00:00Z"} {
		if _, err := parseAt(bad, now); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

// writeFile writes a test file and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
