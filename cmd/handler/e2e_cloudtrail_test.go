package main

// End-to-end tests of what CloudTrail's event history changes: the operation behind a FAILED
// (issue 10), what a run describes (issue 14) and when a vanished number is gone (issue 13).
// Events are added to the stack's CloudTrail test server, which the function reads through
// AWS_ENDPOINT_URL_CLOUDTRAIL.

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/phonewatch/phonewatch/internal/cloudtrail/cloudtrailtest"
)

const (
	// sampleInstance is the Connect instance of the sample numbers.
	sampleInstance = "arn:aws:connect:us-east-1:123456789012:instance/2b6f9c41-7e05-4a8d-b1c3-d84e0f5a9276"
	alice          = "arn:aws:sts::123456789012:assumed-role/ConnectAdmin/alice"
	bob            = "arn:aws:sts::123456789012:assumed-role/ConnectAdmin/bob"
)

// A FAILED whose claim (or update) CloudTrail shows has its deadline from that call: the call's
// time + RETRY_WINDOW, basis operation; it names the call, its caller and its target, and the
// subject says which operation failed. Each notification published is one log line with its
// notificationId.
func TestE2ECloudTrailOperationBasis(t *testing.T) {
	s := newStack(t)
	claimAt := time.Now().Add(-10 * time.Minute).UTC().Truncate(time.Second)
	updateAt := claimAt.Add(3 * time.Minute)
	s.connect.SetStatus(sampleClaimed2, "FAILED", "The phone number update failed.")
	ids := s.cloudtrail.Add(
		cloudtrailtest.Claim("+18005550100", sampleInstance, sampleFailed, alice, claimAt),
		cloudtrailtest.Update(sampleClaimed2, sampleInstance, bob, updateAt),
	)
	fn := startFunction(t, buildBootstrap(t, "build"), s.env())

	before := time.Now().UTC().Truncate(time.Second)
	sum := fn.mustInvoke(t, scheduled)
	after := time.Now().UTC()
	if sum.Checked != 4 || sum.NotificationsSent != 2 || len(sum.Errors) != 0 || !sum.Complete {
		t.Fatalf("summary = %+v, want 4 checked, 2 sent, no errors", sum)
	}
	got := s.drain(t)
	if len(got) != 2 || count(got, "FAILED", sampleFailed) != 1 || count(got, "FAILED", sampleClaimed2) != 1 {
		t.Fatalf("delivered %+v, want one FAILED for each failed number", got)
	}
	for _, tc := range []struct {
		id, name, by, eventID, subject string
		at                             time.Time
	}{
		// A claim before a first FAILED sight proves no kind (an admin-website change after it
		// may have failed); an update does: the number was claimed by then.
		{sampleFailed, "ClaimPhoneNumber", alice, ids[0], "[FAILED] +1 800 555 0100 claim or update failed - retry before ", claimAt},
		{sampleClaimed2, "UpdatePhoneNumber", bob, ids[1], "[FAILED] +1 888 555 0199 update failed - retry before ", updateAt},
	} {
		d := find(got, "FAILED", tc.id)
		m := d.Machine
		deadline := tc.at.Add(24 * time.Hour)
		if m.DeadlineBasis != "operation" || m.RetryDeadline != deadline.Format(time.RFC3339) {
			t.Errorf("%s: deadline %s basis %s, want %s basis operation", tc.name, m.RetryDeadline, m.DeadlineBasis, deadline.Format(time.RFC3339))
		}
		if op := m.Operation; op == nil || op.Name != tc.name || op.By != tc.by || op.At != tc.at.Format(time.RFC3339) ||
			op.TargetARN != sampleInstance || op.EventID != tc.eventID {
			t.Errorf("%s: operation = %+v", tc.name, m.Operation)
		}
		// The latest possible release is the first FAILED sight (this run) + the window.
		latest, err := time.Parse(time.RFC3339, m.LatestRelease)
		if err != nil || latest.Before(before.Add(24*time.Hour)) || latest.After(after.Add(24*time.Hour)) {
			t.Errorf("%s: latestRelease %q, want first sight (%s..%s) + 24h", tc.name, m.LatestRelease, before, after)
		}
		if want := tc.subject + deadline.Format("2006-01-02 15:04 UTC"); d.Subject != want {
			t.Errorf("subject %q, want %q", d.Subject, want)
		}
		if m.NotificationID == "" || d.Attributes["notificationId"] != m.NotificationID {
			t.Errorf("%s: notificationId %q, attribute %q", tc.name, m.NotificationID, d.Attributes["notificationId"])
		}
	}
	ids0, ids1 := got[0].Machine.NotificationID, got[1].Machine.NotificationID
	if !fn.logsContain(ids0, ids1) {
		t.Fatalf("the function's output does not name both notificationIds")
	}
	published := strings.Join(linesWith(fn.Logs(), `"notification published"`), "")
	if n := strings.Count(published, "\n"); n != 2 || strings.Count(published, ids0) != 1 || strings.Count(published, ids1) != 1 {
		t.Errorf("want one \"notification published\" line per notification, got %d:\n%s", n, published)
	}
}

// With CloudTrail refusing (AccessDenied), the run goes on with today's bounds: it completes,
// its summary has one error naming cloudtrail:LookupEvents, and the FAILED is still sent.
func TestE2ECloudTrailDegrades(t *testing.T) {
	s := newStack(t)
	s.cloudtrail.FailNext(400, "AccessDeniedException", 100)
	s.cloudtrail.Add(cloudtrailtest.Claim("+18005550100", sampleInstance, sampleFailed, alice, time.Now().Add(-time.Minute)))
	fn := startFunction(t, buildBootstrap(t, "build"), s.env())

	sum := fn.mustInvoke(t, scheduled)
	// One error, the operations read's: the claim/release ledger's read, refused too, is the
	// budget's own error, not a second run error.
	if sum.Checked != 4 || sum.NotificationsSent != 1 || !sum.Complete || len(sum.Errors) != 1 {
		t.Fatalf("summary = %+v, want 4 checked, 1 sent, complete, one error", sum)
	}
	if sum.Budget == nil || !strings.Contains(sum.Budget.Error, "AccessDenied") {
		t.Errorf("budget = %+v, want its error to say the ledger's read was denied", sum.Budget)
	}
	for _, e := range sum.Errors {
		if e.PhoneNumberID != "" || !strings.Contains(e.Error, "cloudtrail:LookupEvents") || !strings.Contains(e.Error, "AccessDenied") {
			t.Errorf("error = %+v, want a run error naming cloudtrail:LookupEvents and AccessDenied", e)
		}
	}
	if s.cloudtrail.Calls() == 0 {
		t.Error("the function never asked the CloudTrail test server")
	}
	got := s.drain(t)
	if len(got) != 1 || count(got, "FAILED", sampleFailed) != 1 {
		t.Fatalf("delivered %+v, want the FAILED", got)
	}
	if m := got[0].Machine; m.DeadlineBasis != "first-observation" || m.Operation != nil {
		t.Errorf("without CloudTrail the deadline is today's bound: basis %s operation %+v", m.DeadlineBasis, m.Operation)
	}
}

// After a full first run, the next run describes only what can have changed: the FAILED and
// IN_PROGRESS numbers and a number an UpdatePhoneNumber touched; the untouched CLAIMED number is
// neither described nor rewritten until SWEEP_EVERY has passed since its check.
func TestE2ESweepDescribesOnlyWhatCanChange(t *testing.T) {
	const sweepEvery = 10 * time.Second // well above one run (about 3 s: CloudTrail's pacing)
	s := newStack(t)
	fn := startFunction(t, buildBootstrap(t, "build"), s.env("SWEEP_EVERY="+sweepEvery.String()))

	if sum := fn.mustInvoke(t, scheduled); sum.Checked != 4 || sum.Unchanged != 0 {
		t.Fatalf("first run summary = %+v, want all 4 described", sum)
	}
	firstDone := time.Now()
	untouched := s.version(t, sampleClaimed2)

	s.connect.ResetCounters()
	s.cloudtrail.Add(cloudtrailtest.Update(cloudtrailtest.ARN(sampleClaimed), sampleInstance, bob, time.Now()))
	sum := fn.mustInvoke(t, scheduled)
	if time.Since(firstDone) >= sweepEvery {
		t.Skipf("the run right after took %s, past SWEEP_EVERY: the machine is too busy for this test", time.Since(firstDone))
	}
	if sum.Checked != 3 || sum.Unchanged != 1 || sum.NotificationsSent != 0 || len(sum.Errors) != 0 {
		t.Errorf("run right after: summary = %+v, want 3 checked (FAILED, IN_PROGRESS, touched), 1 unchanged", sum)
	}
	s.wantDescribes(t, map[string]int{sampleFailed: 1, sampleInProgress: 1, sampleClaimed: 1, sampleClaimed2: 0})
	if v := s.version(t, sampleClaimed2); v != untouched {
		t.Errorf("the untouched number's record went from version %d to %d: a number not described is not rewritten", untouched, v)
	}

	time.Sleep(time.Until(firstDone.Add(sweepEvery + time.Second)))
	s.connect.ResetCounters()
	sum = fn.mustInvoke(t, scheduled)
	if sum.NotificationsSent != 0 || len(sum.Errors) != 0 || sum.SweepPending != 0 {
		t.Errorf("sweep run: summary = %+v", sum)
	}
	// The number touched in the second run may or may not be due yet, depending on how long
	// that run took: only the one untouched since the first run is sure to be swept.
	s.wantDescribes(t, map[string]int{sampleFailed: 1, sampleInProgress: 1, sampleClaimed2: 1})
	if v := s.version(t, sampleClaimed2); v <= untouched {
		t.Errorf("the swept number's record is still at version %d", v)
	}
}

// A FAILED number that vanishes from Connect is gone only when the next run confirms the 404:
// no EXPIRED after one run, one EXPIRED after the second. A ReleasePhoneNumber in CloudTrail
// confirms it at once, and the EXPIRED names who released it.
func TestE2EGoneNeedsConfirmation(t *testing.T) {
	s := newStack(t)
	s.connect.SetStatus(sampleClaimed2, "FAILED", "The phone number claim failed.")
	// Two 404s confirm "gone" only a schedule period apart: the number's interval between the
	// first 404 and the check before it (at least 1/288 of the window: 0.2 s here), and not
	// more than two of them (the floor is capped at 12 of 0.2 s). The runs below keep such a
	// schedule: each 2.5 s after the last one's end.
	fn := startFunction(t, buildBootstrap(t, "build"), s.env("RETRY_WINDOW=1m", "REMINDERS=none"))

	if sum := fn.mustInvoke(t, scheduled); sum.NotificationsSent != 2 {
		t.Fatalf("first run summary = %+v, want the two FAILED", sum)
	}
	s.drain(t)

	s.connect.Remove(sampleFailed)
	s.connect.Remove(sampleClaimed2)
	releasedAt := time.Now().UTC().Truncate(time.Second)
	s.cloudtrail.Add(cloudtrailtest.Release(sampleClaimed2, alice, releasedAt))
	time.Sleep(2500 * time.Millisecond)
	sum := fn.mustInvoke(t, scheduled)
	got := s.drain(t)
	if len(got) != 1 || count(got, "EXPIRED", sampleClaimed2) != 1 || sum.NotificationsSent != 1 {
		t.Fatalf("after the release and one 404: delivered %+v (summary %+v), want only the released number's EXPIRED", got, sum)
	}
	d := got[0]
	if r := d.Machine.Release; r == nil || r.Name != "ReleasePhoneNumber" || r.By != alice || r.At != releasedAt.Format(time.RFC3339) {
		t.Errorf("EXPIRED release = %+v, want ReleasePhoneNumber by %s at %s", d.Machine.Release, alice, releasedAt.Format(time.RFC3339))
	}
	if want := "[EXPIRED] +1 888 555 0199 released by alice at " + releasedAt.Format("2006-01-02 15:04 UTC"); d.Subject != want {
		t.Errorf("subject %q, want %q", d.Subject, want)
	}

	for run := range 2 {
		time.Sleep(2500 * time.Millisecond)
		fn.mustInvoke(t, scheduled)
		got = append(got, s.drain(t)...)
		if run == 0 && count(got, "EXPIRED", sampleFailed) != 1 {
			t.Fatalf("after the second 404: delivered %+v, want the EXPIRED of %s", got, sampleFailed)
		}
	}
	if len(got) != 2 || count(got, "EXPIRED", sampleFailed) != 1 {
		t.Fatalf("delivered %+v, want each EXPIRED once", got)
	}
	if d := find(got, "EXPIRED", sampleFailed); !strings.Contains(d.Subject, "gone from Connect - number presumably released") || d.Machine.Release != nil {
		t.Errorf("EXPIRED without a release: subject %q release %+v", d.Subject, d.Machine.Release)
	}
}

// find is the delivered message of event for id (the zero value when there is none).
func find(ds []delivered, event, id string) delivered {
	for _, d := range ds {
		if d.Machine.Event == event && d.Machine.PhoneNumberID == id {
			return d
		}
	}
	return delivered{}
}

// linesWith returns the lines of text that contain sub.
func linesWith(text, sub string) []string {
	var out []string
	for l := range strings.Lines(text) {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

// version is the state record's version of id: it grows with every write of the record.
func (s *stack) version(t *testing.T, id string) int64 {
	t.Helper()
	out, err := s.ddb.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            map[string]ddbtypes.AttributeValue{"phoneNumberId": &ddbtypes.AttributeValueMemberS{Value: id}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	n, ok := out.Item["version"].(*ddbtypes.AttributeValueMemberN)
	if !ok {
		t.Fatalf("no version in the record of %s: %v", id, out.Item)
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// wantDescribes checks how many DescribePhoneNumber calls the Connect test server got per number
// since its counters were reset.
func (s *stack) wantDescribes(t *testing.T, want map[string]int) {
	t.Helper()
	for id, n := range want {
		if got := s.connect.Describes(id); got != n {
			t.Errorf("%s described %d times, want %d", id, got, n)
		}
	}
}
