package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofrs/flock"

	"github.com/phonewatch/phonewatch/internal/store"
)

// checkSample runs check on the sample numbers with a state file, as `make run` does.
func checkSample(t *testing.T, state string, args ...string) (string, string, int) {
	t.Helper()
	return phonewatch(t, append([]string{"check", "--numbers", sampleNumbers, "--state", state}, args...)...)
}

// The sample: the first run prints the FAILED notification with its deadline as an email
// reader sees it; the second prints nothing new; looking ahead shows STUCK, the reminders and
// expiry, each once. No AWS Region or credentials are needed for any of it.
func TestCheckOnTheSample(t *testing.T) {
	isolate(t)
	t.Setenv("AWS_REGION", "")
	state := filepath.Join(t.TempDir(), "state.json")
	out, errOut, code := checkSample(t, state)
	// First sight of FAILED, no operation known: either call may have failed, and the deadline
	// is an upper bound.
	if code != 0 || errOut != "" || !strings.Contains(out, "Subject: [FAILED] +1 800 555 0100 claim or update failed - retry by 2026-11-27 06:00 UTC at most") ||
		!strings.Contains(out, "first-observation") || !strings.Contains(out, "1 notification printed") {
		t.Fatalf("exit %d, first run printed:\n%s\nstderr: %s", code, out, errOut)
	}
	out, _, _ = checkSample(t, state)
	if !strings.Contains(out, "No new notifications") || strings.Contains(out, "Subject:") {
		t.Errorf("second run printed:\n%s", out)
	}
	for _, step := range []struct{ at, want string }{
		{"+1h", "[STUCK] +44 20 7946 0958"},
		{"+19h", "[REMINDER] +1 800 555 0100"},
		{"2026-11-26T06:00:00Z+23h30m", "[REMINDER] +1 800 555 0100"},
		{"+25h", "[EXPIRED] +1 800 555 0100"},
	} {
		out, _, _ := checkSample(t, state, "--at", step.at)
		if strings.Count(out, "Subject:") != 1 || !strings.Contains(out, "Subject: "+step.want) {
			t.Errorf("--at %s printed:\n%s", step.at, out)
		}
	}
}

func TestCheckJSON(t *testing.T) {
	isolate(t)
	out, _, code := checkSample(t, filepath.Join(t.TempDir(), "state.json"), "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("exit %d, want one notification line and one summary line:\n%s", code, out)
	}
	var n struct{ SchemaVersion, Event string }
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

// --numbers takes what `aws connect describe-phone-number` prints for one number, too.
func TestCheckOneNumber(t *testing.T) {
	isolate(t)
	b, err := os.ReadFile(sampleNumbers)
	if err != nil {
		t.Fatal(err)
	}
	var all []json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	one := writeFile(t, "one.json", string(all[0]))
	out, _, code := phonewatch(t, "check", "--numbers", one, "--state", filepath.Join(t.TempDir(), "s.json"))
	if code != 0 || !strings.Contains(out, "Checked 1 number (FAILED 1)") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestCheckRejectsBadInput(t *testing.T) {
	isolate(t)
	state := filepath.Join(t.TempDir(), "state.json")
	for _, args := range [][]string{{"--at", "tomorrow"}, {"--timeout", "0s"}, {"--numbers", writeFile(t, "n.json", `{"x": 1}`)},
		// Claims outlive the run by a minute: past 14m another run would take them for void.
		{"--timeout", "15m"},
		// A run that publishes must not move the clock (invented times, future checks in state).
		{"--at", "+19h", "--publish"}} {
		if _, errOut, code := checkSample(t, state, args...); code == 0 || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%q: exit %d, stderr:\n%s", args, code, errOut)
		}
	}
	t.Setenv("RETRY_WINDOW", "soon")
	if _, errOut, code := checkSample(t, state); code != exitError || !strings.Contains(errOut, "RETRY_WINDOW") {
		t.Errorf("a bad RETRY_WINDOW: exit %d, stderr %s", code, errOut)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("a rejected run wrote state: %v", err)
	}
}

// A default reminder that a short window cannot hold is a warning, said once.
func TestCheckConfigWarningOnce(t *testing.T) {
	isolate(t)
	t.Setenv("RETRY_WINDOW", "3h")
	_, errOut, code := checkSample(t, filepath.Join(t.TempDir(), "state.json"))
	if code != 0 || strings.Count(errOut, "warning: REMINDERS") != 1 {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}

// Two local runs on one state file cannot both decide and send: the second stops at once.
func TestCheckLock(t *testing.T) {
	isolate(t)
	state := filepath.Join(t.TempDir(), "state.json")
	held := flock.New(state + ".lock")
	if ok, err := held.TryLock(); !ok || err != nil {
		t.Fatalf("lock: %v %v", ok, err)
	}
	out, errOut, code := checkSample(t, state)
	if code != exitError || !strings.Contains(errOut, "another phonewatch check is running on "+state) || strings.Contains(out, "Subject:") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("the refused run wrote state: %v", err)
	}
	// A dry run writes nothing, so it needs no lock.
	if out, _, code := checkSample(t, state, "--dry-run"); code != 0 || !strings.Contains(out, "Subject: [FAILED]") {
		t.Errorf("dry run beside a locked run: exit %d\n%s", code, out)
	}
	if err := held.Unlock(); err != nil {
		t.Fatal(err)
	}
	if out, _, code := checkSample(t, state); code != 0 || !strings.Contains(out, "Subject: [FAILED]") {
		t.Errorf("after the lock was released: exit %d\n%s", code, out)
	}
}

// A dry run on a state file reads it, prints what would be sent, and leaves the file as it was.
func TestCheckDryRunFile(t *testing.T) {
	isolate(t)
	state := filepath.Join(t.TempDir(), "state.json")
	if _, _, code := checkSample(t, state); code != 0 {
		t.Fatal("first run failed")
	}
	before, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	out, _, code := checkSample(t, state, "--dry-run", "--at", "+19h")
	if code != 0 || !strings.Contains(out, "Subject: [REMINDER]") || !strings.Contains(out, "would be sent (dry run: nothing written or sent)") {
		t.Errorf("dry run: exit %d\n%s", code, out)
	}
	if after, _ := os.ReadFile(state); string(after) != string(before) {
		t.Errorf("the dry run changed the state file")
	}
	if out, _, _ := checkSample(t, state, "--at", "+19h"); !strings.Contains(out, "Subject: [REMINDER]") {
		t.Errorf("the real run after the dry run did not print the reminder:\n%s", out)
	}
}

// A corrupt state file is one clear error, before anything is checked.
func TestCheckCorruptState(t *testing.T) {
	isolate(t)
	state := writeFile(t, "state.json", "{not json")
	out, errOut, code := checkSample(t, state)
	if code != exitError || strings.Count(errOut, "is corrupt (fix or remove it)") != 1 || strings.Count(errOut, "\n") != 1 || out != "" {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

// --cloudtrail FILE is read through internal/cloudtrail: a missing file is one error naming the
// flag and the file, before anything is checked; the sample file is accepted.
func TestCheckCloudTrailFlag(t *testing.T) {
	isolate(t)
	out, errOut, code := checkSample(t, filepath.Join(t.TempDir(), "s.json"), "--cloudtrail", "events.json")
	if code != exitError || strings.Count(errOut, "--cloudtrail") != 1 || !strings.Contains(errOut, "events.json") ||
		strings.Count(errOut, "\n") != 1 || out != "" {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	sample := filepath.Join(repoRoot, "testdata/sample-cloudtrail.json")
	state := filepath.Join(t.TempDir(), "s.json")
	if out, errOut, code := checkSample(t, state, "--cloudtrail", sample); code != 0 || errOut != "" ||
		!strings.Contains(out, "Subject: [FAILED]") {
		t.Errorf("sample CloudTrail: exit %d\n%s\nstderr: %s", code, out, errOut)
	}
	// Operations from a file never move the state's cursor: in a shared table that would hide
	// the account's real events from the deployed function.
	if c, err := store.NewFile(state).Cursor(context.Background()); err != nil || !c.IsZero() {
		t.Errorf("after a --cloudtrail FILE run the state's cursor is %v (%v), want none", c, err)
	}
}

// With DISPLAY_TIMEZONE the printed text shows local time beside UTC, as the published one
// does; the subject stays UTC.
func TestCheckDisplayTimezone(t *testing.T) {
	isolate(t)
	t.Setenv("DISPLAY_TIMEZONE", "America/New_York")
	out, errOut, code := checkSample(t, filepath.Join(t.TempDir(), "s.json"))
	if code != 0 || errOut != "" || !strings.Contains(out, "Retry deadline:    2026-11-27 06:00:00 UTC (01:00 EST;") ||
		!strings.Contains(out, "retry by 2026-11-27 06:00 UTC at most\n") {
		t.Errorf("exit %d\n%s\nstderr: %s", code, out, errOut)
	}
}

// Without a Region or credentials, a run against a real account says once what to set, and
// how to try phonewatch without AWS, rather than the SDK's retries.
func TestCheckNoAWS(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	for _, v := range []string{"AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(v, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, tc := range []struct{ region, want string }{
		{"", "no AWS Region (needed to read Amazon Connect without --numbers): set AWS_REGION"},
		{"us-east-1", "no usable AWS credentials (needed to read Amazon Connect without --numbers): set AWS_PROFILE"},
	} {
		t.Setenv("AWS_REGION", tc.region)
		out, errOut, code := phonewatch(t, "check", "--state", filepath.Join(dir, "s.json"))
		if code != exitError || strings.Count(errOut, tc.want) != 1 || strings.Count(errOut, "phonewatch:") != 1 ||
			!strings.Contains(errOut, "--numbers testdata/sample-numbers.json") || out != "" {
			t.Errorf("region %q: exit %d, stdout:\n%s\nstderr:\n%s", tc.region, code, out, errOut)
		}
	}
}
