package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonewatch/phonewatch/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -run %s -update to accept):\ngot:\n%s\nwant:\n%s", name, t.Name(), got, want)
	}
}

// sampleState walks the sample to 19 hours after sampleTime (FAILED, STUCK, a reminder sent)
// and returns the state file.
func sampleState(t *testing.T) string {
	t.Helper()
	state := filepath.Join(t.TempDir(), "state.json")
	for _, at := range []string{"+0s", "+1h", "+19h"} {
		if _, errOut, code := checkSample(t, state, "--at", at); code != 0 {
			t.Fatalf("check --at %s: exit %d: %s", at, code, errOut)
		}
	}
	return state
}

// checkStatus runs status and compares its table and JSON with the golden files: the same
// rows from any store.
func checkStatus(t *testing.T, args ...string) {
	t.Helper()
	args = append([]string{"status", "--at", "2026-11-26T06:00:00Z+20h"}, args...)
	out, errOut, code := phonewatch(t, args...)
	if code != exitFailed || errOut != "" {
		t.Errorf("status: exit %d (want 3: a number is FAILED), stderr: %s", code, errOut)
	}
	golden(t, "status.golden", out)
	out, _, code = phonewatch(t, append(args, "--json")...)
	if code != exitFailed {
		t.Errorf("status --json: exit %d", code)
	}
	golden(t, "status.json.golden", out)
}

func TestStatusFile(t *testing.T) {
	isolate(t)
	checkStatus(t, "--state", sampleState(t))
}

func TestStatusEmptyAndCorrupt(t *testing.T) {
	isolate(t)
	empty := writeFile(t, "empty.json", "{}")
	out, _, code := phonewatch(t, "status", "--state", empty)
	if code != exitOK || !strings.Contains(out, "No numbers tracked") {
		t.Errorf("no state: exit %d\n%s", code, out)
	}
	out, _, code = phonewatch(t, "status", "--state", empty, "--json")
	if code != exitOK || strings.TrimSpace(out) != "[]" {
		t.Errorf("no state, JSON: exit %d\n%s", code, out)
	}
	_, errOut, code := phonewatch(t, "status", "--state", writeFile(t, "bad.json", "["))
	if code != exitError || strings.Count(errOut, "corrupt") != 1 {
		t.Errorf("corrupt state: exit %d\n%s", code, errOut)
	}
}

// When nothing is FAILED any more (the sample's number recovered), status exits 0.
func TestStatusExitWhenNoneFailed(t *testing.T) {
	isolate(t)
	state := sampleState(t)
	recs, err := store.NewFile(state).All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if recs[i].Status == "FAILED" {
			recs[i].Status = "CLAIMED"
			recs[i].Episode = nil
		}
	}
	fresh := filepath.Join(t.TempDir(), "recovered.json")
	for i := range recs {
		recs[i].Version = 0
	}
	if _, err := store.NewFile(fresh).Save(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if out, _, code := phonewatch(t, "status", "--state", fresh); code != exitOK || strings.Contains(out, "FAILED") {
		t.Errorf("exit %d\n%s", code, out)
	}
}

// With DISPLAY_TIMEZONE the table shows local time beside UTC (the date too when it differs);
// the JSON for scripts stays UTC only, the same as without it.
func TestStatusLocalTime(t *testing.T) {
	isolate(t)
	state := sampleState(t)
	t.Setenv("DISPLAY_TIMEZONE", "America/New_York")
	args := []string{"status", "--state", state, "--at", "2026-11-26T06:00:00Z+20h"}
	out, errOut, code := phonewatch(t, args...)
	if code != exitFailed || errOut != "" {
		t.Errorf("exit %d, stderr: %s", code, errOut)
	}
	golden(t, "status-local.golden", out)
	out, _, _ = phonewatch(t, append(args, "--json")...)
	golden(t, "status.json.golden", out)
}

// A record that cannot be read may be a FAILED number: status shows it and exits 1, never 0.
func TestStatusUnreadableRecord(t *testing.T) {
	isolate(t)
	state := writeFile(t, "state.json", `{"0f2c3a4b-1d2e-4f50-8a9b-0c1d2e3f4a5b": {"phoneNumberId": "0f2c3a4b-1d2e-4f50-8a9b-0c1d2e3f4a5b",
  "status": "CLAIMED", "checkedAt": "2026-11-26T06:00:00Z", "version": "seven"}}`)
	out, _, code := phonewatch(t, "status", "--state", state, "--at", "2026-11-26T07:00:00Z")
	if code != exitError || !strings.Contains(out, "UNREADABLE") || !strings.Contains(out, "why:") || !strings.Contains(out, "version") {
		t.Errorf("exit %d, want %d (a record that may be FAILED cannot be read)\n%s", code, exitError, out)
	}
}
