package status

import (
	"testing"
	"time"
)

// TestLateOperationTightensAnOpenEpisode: CloudTrail delivers a call minutes after the check
// that first saw FAILED (or hours, after an outage). The call is a lower bound of the failure:
// the open episode's deadline moves to it, never later.
func TestLateOperationTightensAnOpenEpisode(t *testing.T) {
	p := DefaultPolicy()
	r1, n1 := Decide(nil, observe(Failed, 0), p)
	if len(n1) != 1 || r1.Episode.Basis != BasisFirstObservation || !r1.Episode.Deadline.Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("first sight: %+v, episode %+v", n1, r1.Episode)
	}
	r1.MarkSent(n1[0])
	o := observe(Failed, 10*time.Minute)
	o.Operation = call(OpClaim, -10*time.Minute)
	r2, n2 := Decide(&r1, o, p)
	e := r2.Episode
	// Issue 17 (1): the announced deadline moved earlier, so DEADLINE says so in this run.
	if len(n2) != 1 || n2[0].Event != EventDeadline || !n2[0].PreviousDeadline.Equal(t0.Add(24*time.Hour)) ||
		n2[0].Reason != ReasonOperation {
		t.Errorf("the tightened deadline sent %v; want one DEADLINE, previous 24h, reason operation", n2)
	}
	for _, n := range n2 {
		r2.MarkSent(n)
	}
	if e.Basis != BasisOperation || !e.Deadline.Equal(t0.Add(23*time.Hour+50*time.Minute)) ||
		!e.LatestRelease.Equal(t0.Add(24*time.Hour)) || e.Operation == nil || e.Failure != FailureUnknown {
		t.Errorf("episode %+v: want basis operation, deadline 23h50m, latest release 24h, the claim as its operation", e)
	}
	// A call after the first FAILED sight does not tighten this failure's deadline: it proves a
	// new update, which failed too, and restarts the deadline from it, stating both (DESIGN).
	o3 := observe(Failed, 20*time.Minute)
	o3.Operation = call(OpUpdate, 5*time.Minute)
	r3, n3 := Decide(&r2, o3, p)
	if len(n3) != 1 || n3[0].Event != EventFailed || !n3[0].RetryDeadline.Equal(t0.Add(24*time.Hour+5*time.Minute)) ||
		!n3[0].PreviousDeadline.Equal(e.Deadline) || n3[0].Retries != 1 || r3.Episode.Failure != FailureUpdate {
		t.Errorf("after a new update: %+v; want a new FAILED, deadline 24h5m, previous 23h50m, retries 1", n3)
	}
}

// TestShorterWindowTightensAnOpenEpisode: a RETRY_WINDOW lowered between runs bounds an open
// episode's deadline with the new window at the next check; a longer one never moves it later.
func TestShorterWindowTightensAnOpenEpisode(t *testing.T) {
	p := DefaultPolicy()
	r1, n1 := Decide(nil, observe(Claimed, 0), p)
	r2, n2 := Decide(&r1, observe(Failed, 5*time.Minute), p)
	for _, n := range append(n1, n2...) {
		r2.MarkSent(n)
	}
	if r2.Episode.Basis != BasisTransition || !r2.Episode.Deadline.Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("transition episode %+v", r2.Episode)
	}
	short := p
	short.RetryWindow, short.Reminders = 12*time.Hour, []time.Duration{time.Hour}
	r3, _ := Decide(&r2, observe(Failed, 10*time.Minute), short)
	if !r3.Episode.Deadline.Equal(t0.Add(12 * time.Hour)) {
		t.Errorf("window 12h: deadline %s, want 12h (the last CLAIMED check + the new window)", off(r3.Episode.Deadline))
	}
	r4, _ := Decide(&r3, observe(Failed, 15*time.Minute), p)
	if !r4.Episode.Deadline.Equal(t0.Add(12 * time.Hour)) {
		t.Errorf("window back to 24h: deadline %s, want it kept at 12h (never later)", off(r4.Episode.Deadline))
	}
}

// TestUnconfirmedFailedThenClaimedOwesRecovered: FAILED was published but SNS's answer was
// lost (it may have reached people); then the number is CLAIMED: RECOVERED is owed.
func TestUnconfirmedFailedThenClaimedOwesRecovered(t *testing.T) {
	p := DefaultPolicy()
	r1, n1 := Decide(nil, observe(Failed, 0), p)
	r1.NoteAttempted(n1[0].ID) // published, unconfirmed: not marked sent
	_, n2 := Decide(&r1, observe(Claimed, 5*time.Minute), p)
	if len(n2) != 1 || n2[0].Event != EventRecovered {
		t.Errorf("after an unconfirmed FAILED, CLAIMED gave %v; want RECOVERED", n2)
	}
	// Never published at all: nothing to recover from.
	r3, _ := Decide(nil, observe(Failed, 0), p)
	if _, n4 := Decide(&r3, observe(Claimed, 5*time.Minute), p); len(n4) != 0 {
		t.Errorf("FAILED never published, then CLAIMED: %v, want nothing", n4)
	}
}

// TestFirstSightNotFoundNeedsConfirmation: a number never seen before that Connect answers
// ResourceNotFound for (a check request, or a number watched from its claim) is not gone until
// a second check finds it gone too: one 404 may be transient.
func TestFirstSightNotFoundNeedsConfirmation(t *testing.T) {
	p := DefaultPolicy()
	r1, n1 := Decide(nil, observe(NotFound, 0), p)
	if len(n1) != 0 || r1.Status != "" || r1.NotFoundAt.IsZero() || r1.Retired() || r1.ID != testNumber.ID {
		t.Fatalf("first 404: notes %v, record status %q notFoundAt %v retired %v; want unconfirmed", n1, r1.Status, r1.NotFoundAt, r1.Retired())
	}
	r2, _ := Decide(&r1, observe(Claimed, 5*time.Minute), p)
	if r2.Status != Claimed || !r2.NotFoundAt.IsZero() {
		t.Errorf("found after one 404: %+v", r2)
	}
	r3, _ := Decide(&r1, observe(NotFound, 5*time.Minute), p)
	if r3.Status != NotFound || !r3.Retired() {
		t.Errorf("second 404: status %q retired %v, want gone", r3.Status, r3.Retired())
	}
}
