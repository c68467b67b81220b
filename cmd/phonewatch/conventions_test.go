package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The conventions operators know from gh, kubectl and the aws CLI: help and version on stdout
// with exit 0, --flag spelling, one-line usage errors with a hint and exit 2, completion.
func TestConventions(t *testing.T) {
	isolate(t)
	for _, tc := range []struct {
		args           []string
		code           int
		stdout, stderr string // each must appear; "" means that stream must be empty
	}{
		{nil, exitOK, "phonewatch check --numbers testdata/sample-numbers.json", ""},
		{[]string{"--help"}, exitOK, "Exit status: 0 success", ""},
		{[]string{"--version"}, exitOK, "phonewatch ", ""},
		{[]string{"help", "check"}, exitOK, "      --dry-run ", ""},
		{[]string{"check", "--help"}, exitOK, "Examples:\n  phonewatch check --numbers", ""},
		{[]string{"status", "-h"}, exitOK, "Exit status: 0 no number is FAILED; 3 at least one is", ""},
		{[]string{"test", "--help"}, exitOK, "--timeout duration", ""},
		{[]string{"completion", "bash"}, exitOK, "__start_phonewatch", ""},
		{[]string{"frobnicate"}, exitUsage, "", `phonewatch: unknown command "frobnicate" for "phonewatch" (see phonewatch --help)`},
		{[]string{"stauts"}, exitUsage, "", "did you mean status?"},
		{[]string{"check", "--bogus"}, exitUsage, "", "phonewatch check: unknown flag: --bogus (see phonewatch check --help)"},
		{[]string{"check", "-at", "+1h"}, exitUsage, "", "phonewatch check: unknown shorthand flag: 'a' in -at"},
		{[]string{"check", "--publish", "--dry-run"}, exitUsage, "", "--publish and --dry-run exclude each other (see phonewatch check --help)"},
		{[]string{"check", "stray"}, exitUsage, "", `unexpected argument "stray"`},
		{[]string{"status", "--json=maybe"}, exitUsage, "", `invalid argument "maybe"`},
		// --timeout needs its unit: 5 could be seconds or minutes.
		{[]string{"check", "--timeout", "5"}, exitUsage, "", `"5" has no unit: write 5s or 5m`},
		{[]string{"test", "--timeout", "5"}, exitUsage, "", `"5" has no unit: write 5s or 5m`},
	} {
		out, errOut, code := phonewatch(t, tc.args...)
		bad := code != tc.code
		for _, s := range []struct{ got, want string }{{out, tc.stdout}, {errOut, tc.stderr}} {
			if (s.want == "" && s.got != "") || !strings.Contains(s.got, s.want) {
				bad = true
			}
		}
		// A usage error is one line: never the whole usage.
		if tc.code == exitUsage && strings.Count(errOut, "\n") != 1 {
			bad = true
		}
		if bad {
			t.Errorf("%q: exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", tc.args, code, tc.code, out, errOut)
		}
	}
}

// Every flag in every command's help is spelled --flag (only -h and -v have a short form).
func TestHelpSpellsFlagsWithTwoDashes(t *testing.T) {
	isolate(t)
	for _, cmd := range []string{"check", "status", "test"} {
		out, _, _ := phonewatch(t, cmd, "--help")
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) > 0 && strings.HasPrefix(f[0], "-") && !strings.HasPrefix(f[0], "--") && f[0] != "-h," && f[0] != "-v," {
				t.Errorf("%s --help: %q", cmd, line)
			}
		}
	}
}

// A rejected event is its error, once, and nothing that looks like a run summary.
func TestCheckRejectedEventPrintsNoSummary(t *testing.T) {
	isolate(t)
	state := filepath.Join(t.TempDir(), "state.json")
	out, errOut, code := checkSample(t, state, "--event", filepath.Join(repoRoot, "events/invalid-unknown-field.json"))
	if code != exitError || out != "" || strings.Count(errOut, "rejected event") != 1 || strings.Count(errOut, "\n") != 1 {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("a rejected event wrote state: %v", err)
	}
}

// --at takes an offset back as well as ahead, the same way with and without a base time.
func TestCheckAtOffsetBack(t *testing.T) {
	isolate(t)
	state := filepath.Join(t.TempDir(), "state.json")
	for _, at := range []string{"-1h", "2026-11-26T06:00:00Z-1h"} {
		if out, errOut, code := checkSample(t, state, "--at", at, "--dry-run"); code != 0 || !strings.Contains(out, "Subject: [FAILED]") {
			t.Errorf("--at %s: exit %d\n%s%s", at, code, out, errOut)
		}
	}
	for _, at := range []string{"0001-01-01T00:00:00Z", "2026-11-26T06:00:00Z+-1h"} {
		if out, errOut, code := checkSample(t, state, "--at", at); code != exitError || out != "" || !strings.Contains(errOut, "--at") {
			t.Errorf("--at %s: exit %d\n%s%s", at, code, out, errOut)
		}
	}
}

// The summary of a run that printed says so: nothing was sent.
func TestCheckPrintedSummary(t *testing.T) {
	isolate(t)
	out, _, code := checkSample(t, filepath.Join(t.TempDir(), "state.json"), "--json")
	if code != 0 || !strings.Contains(out, `"notificationsPrinted":1`) || strings.Contains(out, "notificationsSent") {
		t.Errorf("exit %d\n%s", code, out)
	}
	out, _, code = checkSample(t, filepath.Join(t.TempDir(), "state.json"))
	if code != 0 || !strings.Contains(out, "Printed by phonewatch check, a local run: not sent to anyone.") || strings.Contains(out, "Sent by") {
		t.Errorf("a printed notification's footer: exit %d\n%s", code, out)
	}
}

// The lock file lives as long as the run: none is left behind.
func TestCheckRemovesLockFile(t *testing.T) {
	isolate(t)
	state := filepath.Join(t.TempDir(), "state.json")
	if _, errOut, code := checkSample(t, state); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(state + ".lock"); !os.IsNotExist(err) {
		t.Errorf("%s.lock left behind: %v", state, err)
	}
	if _, err := os.Stat(state); err != nil {
		t.Errorf("no state written: %v", err)
	}
}

// A state file in a directory that does not exist is named as such, not as a lock error.
func TestCheckMissingStateDirectory(t *testing.T) {
	isolate(t)
	dir := filepath.Join(t.TempDir(), "nope")
	out, errOut, code := checkSample(t, filepath.Join(dir, "state.json"))
	if code != exitError || out != "" || !strings.Contains(errOut, "its directory "+dir+" does not exist") || strings.Contains(errOut, "lock") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
}

// An empty state file (touch) is an empty state, for check and for status alike.
func TestEmptyStateFile(t *testing.T) {
	isolate(t)
	state := writeFile(t, "state.json", "")
	if out, errOut, code := phonewatch(t, "status", "--state", state); code != exitOK || !strings.Contains(out, "No numbers tracked") {
		t.Errorf("status: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := checkSample(t, state); code != exitOK || !strings.Contains(out, "Subject: [FAILED]") {
		t.Errorf("check: exit %d\n%s%s", code, out, errOut)
	}
}

// status on a state that does not exist is an error naming it: "nothing tracked" would read,
// to a cron job, as nothing FAILED.
func TestStatusMissingState(t *testing.T) {
	isolate(t)
	typo := filepath.Join(t.TempDir(), "typo.json")
	for _, args := range [][]string{{"status", "--state", typo}, {"status", "--state", typo, "--json"}} {
		out, errOut, code := phonewatch(t, args...)
		if code != exitError || out != "" || !strings.Contains(errOut, "no state file "+typo) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%q: exit %d\n%s%s", args, code, out, errOut)
		}
	}
}

// status fits 100 columns, with local time beside UTC as well; an unreadable row says why.
func TestStatusWidth(t *testing.T) {
	isolate(t)
	state := sampleState(t)
	for _, tz := range []string{"", "America/New_York"} {
		t.Setenv("DISPLAY_TIMEZONE", tz)
		out, _, _ := phonewatch(t, "status", "--state", state, "--at", "2026-11-26T06:00:00Z+20h")
		for _, line := range strings.Split(out, "\n") {
			if n := len([]rune(line)); n > tableWidth {
				t.Errorf("DISPLAY_TIMEZONE=%q: a line of %d columns:\n%s", tz, n, line)
			}
		}
	}
}

// A profile that signs in with SSO and has no token is told to log in, not to set a variable.
func TestSSOProfileWithoutToken(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(v, "")
	}
	t.Setenv("HOME", dir)
	t.Setenv("AWS_CONFIG_FILE", writeFile(t, "config", `[profile ops]
sso_start_url = https://example.awsapps.com/start
sso_region = us-east-1
sso_account_id = 123456789012
sso_role_name = Admin
region = us-east-1
`))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	out, errOut, code := phonewatch(t, "check", "--state", filepath.Join(dir, "s.json"), "--profile", "ops")
	if code != exitError || out != "" || !strings.Contains(errOut, "profile ops signs in with SSO and has no valid token: run aws sso login --profile ops") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
}

// -v on a local run says where the run reads from and how it ended; without -v, nothing.
func TestVerboseLocalRun(t *testing.T) {
	isolate(t)
	state := filepath.Join(t.TempDir(), "state.json")
	_, errOut, code := checkSample(t, state, "-v")
	if code != 0 || !strings.Contains(errOut, "msg=sources numbers="+sampleNumbers) || !strings.Contains(errOut, `msg="run finished" checked=4 notifications=1 errors=0 complete=true`) {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	if _, errOut, _ := checkSample(t, state); errOut != "" {
		t.Errorf("without -v, stderr:\n%s", errOut)
	}
}
