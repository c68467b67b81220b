package monitor_test

import (
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/status"
)

// TestIssue17FutureRecordIsClamped (issue 17, 4): a host whose clock runs an hour fast (an
// operator's laptop) checked a number CLAIMED; the Lambda, on the right clock, then sees it
// FAILED. Its record is not "not in phonewatch's format", its real check is not stale: FAILED
// goes out, and its deadline is not bounded from the future check (first sight + window).
func TestIssue17FutureRecordIsClamped(t *testing.T) {
	parallel(t)
	e := newEnv(t)
	id := ids(7, 1)[0]
	e.put("CLAIMED", id)
	fast := e.monitor()
	fast.Now = func() time.Time { return e.clock.Now().Add(time.Hour) }
	e.run(fast, 20*time.Second)

	e.set("FAILED", id)
	sum := e.run(e.monitor(), 20*time.Second)
	if len(sum.Errors) > 0 || sum.InvalidRecords > 0 {
		t.Fatalf("run on the right clock: errors %+v", sum.Errors)
	}
	got := e.received()
	if len(got) != 1 || got[0].Event != "FAILED" || got[0].DeadlineBasis != "first-observation" {
		t.Fatalf("got %+v, want one FAILED, basis first-observation", got)
	}
	deadline, err := time.Parse(time.RFC3339, got[0].RetryDeadline)
	if err != nil {
		t.Fatal(err)
	}
	if latest := e.clock.Now().Add(24 * time.Hour); deadline.After(latest) {
		t.Errorf("deadline %v later than now + window %v", deadline, latest)
	}
}

// claimOf is the ClaimPhoneNumber call of number id at `at`, as CloudTrail shows it.
func claimOf(id string, at time.Time) status.Operation {
	return status.Operation{Name: status.OpClaim, At: at, By: "arn:aws:iam::123456789012:user/alice",
		EventID: "claim-" + id + "-" + at.Format(time.RFC3339), PhoneNumberID: id, E164: e164(id)}
}

// TestIssue17NewlyWatchedNumberLooksBack (issue 17, 2a): a number watched from now on (a check
// request) whose ClaimPhoneNumber was 20 hours ago, long before the CloudTrail cursor: the
// claim is read (a look-back of the retry window and an hour), so the deadline is the claim +
// 24h (basis operation), not first sight + 24h, 20 hours too late.
func TestIssue17NewlyWatchedNumberLooksBack(t *testing.T) {
	w := newWorld(t)
	steady, late := ids(8, 2)[0], ids(8, 2)[1]
	w.put("CLAIMED", steady)
	m := w.monitor()
	w.run(m, scheduled) // the cursor is now set
	w.advance(time.Hour)
	w.run(m, scheduled)

	claimed := w.clock().Add(-20 * time.Hour)
	w.ops = append(w.ops, claimOf(late, claimed))
	w.put("FAILED", late)
	w.advance(time.Minute)
	w.run(m, monitor.Scope{PhoneNumberIDs: []string{late}})
	got := w.published()
	if len(got) != 1 || got[0].Event != status.EventFailed || got[0].Basis != status.BasisOperation ||
		!got[0].RetryDeadline.Equal(claimed.Add(24*time.Hour)) {
		t.Fatalf("published %+v; want FAILED, basis operation, deadline the claim + 24h (%v)", got, claimed.Add(24*time.Hour))
	}
}

// TestIssue17LateEventStillTightens (issue 17, 2b): a number FAILED at first sight; its
// ClaimPhoneNumber (10 hours before) shows up in CloudTrail only after two more runs, its
// eventTime far behind the cursor less the overlap. While the episode can still be tightened
// the look-back reads it: DEADLINE with the earlier deadline.
func TestIssue17LateEventStillTightens(t *testing.T) {
	w := newWorld(t)
	id := ids(9, 1)[0]
	w.put("FAILED", id)
	m := w.monitor()
	w.run(m, scheduled)
	if got := w.published(); len(got) != 1 || got[0].Basis != status.BasisFirstObservation {
		t.Fatalf("first run published %+v, want FAILED first-observation", got)
	}
	first := w.clock()
	for range 2 {
		w.advance(30 * time.Minute)
		w.run(m, scheduled)
	}
	w.ops = append(w.ops, claimOf(id, first.Add(-10*time.Hour)))
	w.advance(30 * time.Minute)
	w.run(m, scheduled)
	got := w.published()
	if len(got) != 1 || got[0].Event != status.EventDeadline || !got[0].RetryDeadline.Equal(first.Add(14*time.Hour)) {
		t.Fatalf("published %+v; want DEADLINE, the claim + 24h (%v)", got, first.Add(14*time.Hour))
	}
}
