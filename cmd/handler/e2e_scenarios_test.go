package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

var scheduled = []byte(`{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}`)

// A FAILED number yields exactly one FAILED notification across repeated runs, with the
// first-observation deadline, and the other sample numbers none. The repeated runs describe
// only what can have changed (the FAILED and the IN_PROGRESS number): the two CLAIMED ones,
// checked a moment ago with no operation since, wait for the sweep.
func TestE2EFailedOnceAcrossRuns(t *testing.T) {
	s := newStack(t)
	fn := startFunction(t, buildBootstrap(t, "build"), s.env())

	before := time.Now().UTC().Truncate(time.Second)
	sum := fn.mustInvoke(t, events(t, "scheduled-event.json"))
	if sum.Checked != 4 || sum.Statuses["FAILED"] != 1 || sum.Statuses["CLAIMED"] != 2 || sum.Statuses["IN_PROGRESS"] != 1 {
		t.Errorf("first run summary = %+v", sum)
	}
	if sum.NotificationsSent != 1 || !sum.Complete || len(sum.Errors) != 0 {
		t.Errorf("first run summary = %+v", sum)
	}
	for range 2 {
		if again := fn.mustInvoke(t, events(t, "scheduler-event.json")); again.NotificationsSent != 0 ||
			again.Checked != 2 || again.Unchanged != 2 || again.Statuses["FAILED"] != 1 || again.Statuses["IN_PROGRESS"] != 1 {
			t.Errorf("repeated run summary = %+v, want FAILED and IN_PROGRESS checked, 2 unchanged, nothing sent", again)
		}
	}
	got := s.drain(t)
	if len(got) != 1 || count(got, "FAILED", sampleFailed) != 1 {
		t.Fatalf("delivered %+v, want exactly one FAILED for %s", got, sampleFailed)
	}
	m := got[0].Machine
	deadline, err := time.Parse(time.RFC3339, m.RetryDeadline)
	if err != nil {
		t.Fatal(err)
	}
	if m.DeadlineBasis != "first-observation" || deadline.Before(before.Add(24*time.Hour)) || deadline.After(time.Now().Add(24*time.Hour)) {
		t.Errorf("deadline %s basis %s, want first sight + 24h", m.RetryDeadline, m.DeadlineBasis)
	}
	if m.SchemaVersion != "1" || m.Status != "FAILED" || m.PhoneNumber != "+18005550100" || !strings.HasPrefix(m.StatusMessage, "The phone number claim failed") {
		t.Errorf("machine JSON = %+v", m)
	}
	if !strings.HasPrefix(got[0].Subject, "[FAILED] +1 800 555 0100") || got[0].Attributes["event"] != "FAILED" || got[0].Attributes["numberType"] != "TOLL_FREE" {
		t.Errorf("subject %q attributes %v", got[0].Subject, got[0].Attributes)
	}
	if !fn.logsContain(`"Namespace":"PhoneWatch"`, `"run summary"`) {
		t.Errorf("want an EMF line and a JSON run-summary log line in the function output:\n%s", fn.Logs())
	}
}

// A number seen CLAIMED and then FAILED gets a transition deadline: the last CLAIMED check +
// RETRY_WINDOW. FAILED -> CLAIMED then yields RECOVERED. The change is made as in Connect's
// admin website, which CloudTrail does not record: only the sweep can find it, so every run
// sweeps here (SWEEP_EVERY below the time between runs).
func TestE2ETransitionDeadlineAndRecovery(t *testing.T) {
	s := newStack(t)
	fn := startFunction(t, buildBootstrap(t, "build"), s.env("RETRY_WINDOW=2h", "SWEEP_EVERY=1ms"))

	first := time.Now().UTC()
	fn.mustInvoke(t, scheduled)
	last := time.Now().UTC()
	s.drain(t) // the sample's own FAILED number

	s.connect.SetStatus(sampleClaimed, "FAILED", "Claim failed: number unavailable.")
	if sum := fn.mustInvoke(t, scheduled); sum.NotificationsSent != 1 {
		t.Fatalf("summary = %+v, want the one FAILED", sum)
	}
	got := s.drain(t)
	if count(got, "FAILED", sampleClaimed) != 1 {
		t.Fatalf("delivered %+v", got)
	}
	m := got[0].Machine
	deadline, _ := time.Parse(time.RFC3339, m.RetryDeadline)
	if m.DeadlineBasis != "transition" ||
		deadline.Before(first.Add(2*time.Hour).Truncate(time.Second)) || deadline.After(last.Add(2*time.Hour)) {
		t.Errorf("deadline %s basis %s, want transition at the CLAIMED check (%s..%s) + 2h", m.RetryDeadline, m.DeadlineBasis, first, last)
	}

	s.connect.SetStatus(sampleClaimed, "CLAIMED", "")
	fn.mustInvoke(t, scheduled)
	fn.mustInvoke(t, scheduled)
	got = s.drain(t)
	if len(got) != 1 || count(got, "RECOVERED", sampleClaimed) != 1 {
		t.Fatalf("delivered %+v, want one RECOVERED", got)
	}
	if got[0].Machine.DeadlineBasis != "transition" || got[0].Machine.FailedSince == "" {
		t.Errorf("RECOVERED carries the episode: %+v", got[0].Machine)
	}
}

// An invalid Connect payload is an entry in the summary's errors; the other numbers go on.
func TestE2EInvalidPayloadIsASummaryError(t *testing.T) {
	s := newStack(t)
	const bad = "11111111-2222-4333-8444-555555555555"
	s.connect.PutRaw(bad, []byte(`{"ClaimedPhoneNumberSummary":{"PhoneNumberId":"`+bad+`","PhoneNumber":"+18005550111","PhoneNumberStatus":{"Status":"RELEASED","Message":"?"}}}`))
	fn := startFunction(t, buildBootstrap(t, "build"), s.env())

	sum := fn.mustInvoke(t, scheduled)
	if sum.Checked != 4 || sum.NotificationsSent != 1 || len(sum.Errors) != 1 {
		t.Fatalf("summary = %+v, want 4 checked, 1 sent, 1 error", sum)
	}
	if e := sum.Errors[0]; e.PhoneNumberID != bad || !strings.Contains(e.Error, "PhoneNumberStatus.Status") || !strings.Contains(e.Error, "RELEASED") {
		t.Errorf("error = %+v, want it to name the field and the value", e)
	}
	if got := s.drain(t); len(got) != 1 || count(got, "FAILED", sampleFailed) != 1 {
		t.Errorf("delivered %+v", got)
	}
}

// Every file in events/ as Lambda would pass it: the valid ones run, the invalid ones are
// rejected with a clear error and nothing is written or sent.
func TestE2EEventFiles(t *testing.T) {
	s := newStack(t)
	fn := startFunction(t, buildBootstrap(t, "build"), s.env())

	// A check request describes what it names, whenever last checked; the scheduled kinds
	// that follow describe the FAILED and IN_PROGRESS numbers and leave the two CLAIMED ones,
	// checked a moment ago, to the sweep.
	for _, tc := range []struct {
		file               string
		checked, unchanged int
		wantErr            string
	}{
		{"invalid-unknown-field.json", 0, 0, `unknown field "phoneNumberId"`},
		{"invalid-bad-id.json", 0, 0, "+18005550100"},
		{"invalid-source.json", 0, 0, "aws.s3"},
		{"invalid-too-many-ids.json", 0, 0, "1000"},
		{"check-request.json", 3, 0, ""},
		{"check-targets.json", 4, 0, ""},
		{"empty.json", 2, 2, ""},
		{"scheduled-event.json", 2, 2, ""},
		{"scheduler-event.json", 2, 2, ""},
	} {
		t.Run(tc.file, func(t *testing.T) {
			sum, errMsg := fn.invoke(t, events(t, tc.file))
			if tc.wantErr != "" {
				if !strings.Contains(errMsg, tc.wantErr) {
					t.Fatalf("error %q, want it to contain %q", errMsg, tc.wantErr)
				}
				items, err := s.ddb.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(s.table)})
				if err != nil {
					t.Fatal(err)
				}
				if items.Count != 0 || len(s.drain(t)) != 0 {
					t.Errorf("a rejected event wrote %d records or sent messages", items.Count)
				}
				return
			}
			if errMsg != "" || sum.Checked != tc.checked || sum.Unchanged != tc.unchanged {
				b, _ := json.Marshal(sum)
				t.Errorf("summary %s error %q, want %d checked, %d unchanged", b, errMsg, tc.checked, tc.unchanged)
			}
		})
	}
	// check-request.json named the FAILED number: one FAILED in all, whatever came after.
	if got := s.drain(t); len(got) != 1 || count(got, "FAILED", sampleFailed) != 1 {
		t.Errorf("delivered %+v", got)
	}
}

// Time compressed to seconds: REMINDER before the deadline, then EXPIRED, each once. The runs
// are timed from the deadline the FAILED states (whole seconds, at most 1 s early), not from
// how long a run takes: a run here lasts a few seconds (CloudTrail's lookups are paced at 1/s).
func TestE2EReminderThenExpired(t *testing.T) {
	s := newStack(t)
	fn := startFunction(t, buildBootstrap(t, "build"), s.env("RETRY_WINDOW=10s", "REMINDERS=6s", "STUCK_AFTER=1h"))

	fn.mustInvoke(t, scheduled)
	got := s.drain(t)
	if count(got, "FAILED", sampleFailed) != 1 {
		t.Fatalf("first run delivered %+v, want the FAILED", got)
	}
	deadline, err := time.Parse(time.RFC3339, got[0].Machine.RetryDeadline)
	if err != nil {
		t.Fatal(err)
	}
	// The reminder is due from (real deadline - 6s), at the latest deadline - 5s; the deadline
	// itself is then still 5 s away, time for two runs.
	time.Sleep(time.Until(deadline.Add(-5 * time.Second)))
	fn.mustInvoke(t, scheduled)
	fn.mustInvoke(t, scheduled)
	time.Sleep(time.Until(deadline.Add(time.Second))) // past the deadline
	fn.mustInvoke(t, scheduled)
	fn.mustInvoke(t, scheduled)
	got = append(got, s.drain(t)...)
	for _, ev := range []string{"FAILED", "REMINDER", "EXPIRED"} {
		if n := count(got, ev, sampleFailed); n != 1 {
			t.Errorf("%s delivered %d times, want once: %+v", ev, n, got)
		}
	}
	if len(got) != 3 {
		t.Errorf("delivered %d messages, want 3: %+v", len(got), got)
	}
}

// Bad configuration fails the invocation, naming the variable.
func TestE2EBadConfigurationNamesTheVariable(t *testing.T) {
	s := newStack(t)
	fn := startFunction(t, buildBootstrap(t, "build"), s.env("RETRY_WINDOW=one day"))
	_, errMsg := fn.invoke(t, scheduled)
	if !strings.Contains(errMsg, `RETRY_WINDOW="one day"`) || !fn.logsContain("RETRY_WINDOW") {
		t.Fatalf("invocation error %q; it and the logs should name RETRY_WINDOW:\n%s", errMsg, fn.Logs())
	}
}

// When no number can be checked (AccessDenied on every call), the invocation fails and says
// which permission is missing, so that the errors alarm fires.
func TestE2EAccessDeniedFailsTheInvocation(t *testing.T) {
	s := newStack(t)
	for _, id := range []string{sampleFailed, sampleClaimed, sampleInProgress, sampleClaimed2} {
		s.connect.FailNext(id, 403, "AccessDeniedException", 100)
	}
	fn := startFunction(t, buildBootstrap(t, "build"), s.env())
	_, errMsg := fn.invoke(t, events(t, "check-request.json"))
	if !strings.Contains(errMsg, "connect:DescribePhoneNumber") {
		t.Fatalf("invocation error %q, want it to name connect:DescribePhoneNumber", errMsg)
	}
}

// What `sam build` produces (the Makefile's build-PhoneWatchFunction target) runs under the
// emulator with an events/ input.
func TestE2ESAMBuildTarget(t *testing.T) {
	s := newStack(t)
	fn := startFunction(t, buildBootstrap(t, "build-PhoneWatchFunction"), s.env())
	sum := fn.mustInvoke(t, events(t, "scheduler-event.json"))
	if sum.Checked != 4 || sum.NotificationsSent != 1 {
		t.Fatalf("summary = %+v", sum)
	}
}
