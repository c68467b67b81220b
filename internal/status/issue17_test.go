package status

import (
	"testing"
	"time"
)

// The regression tests of issue 17, one per broken promise that the domain keeps. Each failed
// on the code before the fix (events are spelled as strings where the fix added a name).

// deliver marks every notification sent, as a publish that SNS confirmed.
func deliver(r *Record, ns []Notification) {
	for _, n := range ns {
		r.MarkSent(n)
	}
}

// TestIssue17DeadlineMovedEarlierIsAnnounced (issue 17, 1): a number FAILED at first sight
// (deadline "at most" first sight + 24h); CloudTrail then shows its ClaimPhoneNumber from 23h30m
// earlier. The deadline people were told is wrong by 23h30m: DEADLINE says so in the same run,
// with the new deadline, the previous one and the reason, and no reminder due before it is sent
// beside it; the next notification is EXPIRED at the new deadline.
func TestIssue17DeadlineMovedEarlierIsAnnounced(t *testing.T) {
	p := DefaultPolicy()
	r, ns := Decide(nil, observe(Failed, 0), p)
	if len(ns) != 1 || ns[0].Event != EventFailed {
		t.Fatalf("first sight: %v", ns)
	}
	deliver(&r, ns)

	o := observe(Failed, 5*time.Minute)
	o.Operation = call(OpClaim, -23*time.Hour-30*time.Minute)
	r2, ns := Decide(&r, o, p)
	if len(ns) != 1 || ns[0].Event != Event("DEADLINE") {
		t.Fatalf("deadline moved from 24h to 30m: got %v, want one DEADLINE", ns)
	}
	d := ns[0]
	if !d.RetryDeadline.Equal(t0.Add(30*time.Minute)) || !d.PreviousDeadline.Equal(t0.Add(24*time.Hour)) ||
		d.Basis != BasisOperation || d.Operation == nil || d.Reason != ReasonOperation {
		t.Errorf("DEADLINE %+v: want deadline 30m, previous 24h, basis operation with its call, reason operation", d)
	}
	// Undelivered, it is decided again with the same ID; delivered, never again.
	again, ns2 := Decide(&r2, observe(Failed, 6*time.Minute), p)
	if len(ns2) != 1 || ns2[0].ID != d.ID {
		t.Fatalf("DEADLINE not delivered: decided again %v, want the same ID %q", ns2, d.ID)
	}
	deliver(&again, ns2)
	r3, ns3 := Decide(&again, observe(Failed, 10*time.Minute), p)
	if len(ns3) != 0 {
		t.Errorf("after DEADLINE: got %v; the reminders due before it are covered by it", ns3)
	}
	_, ns4 := Decide(&r3, observe(Failed, 31*time.Minute), p)
	if len(ns4) != 1 || ns4[0].Event != EventExpired || !ns4[0].RetryDeadline.Equal(t0.Add(30*time.Minute)) {
		t.Errorf("past the new deadline: got %v, want EXPIRED for 30m", ns4)
	}
}

// TestIssue17RemindersFollowTheDeadlineInForce (issue 17, 1): after the deadline moved earlier
// and DEADLINE went out, reminders come at the new deadline less each offset (not the old one's).
func TestIssue17RemindersFollowTheDeadlineInForce(t *testing.T) {
	p := DefaultPolicy()
	r, ns := Decide(nil, observe(Failed, 0), p)
	deliver(&r, ns)
	o := observe(Failed, time.Hour)
	o.Operation = call(OpClaim, -10*time.Hour) // deadline 24h -> 14h
	r, ns = Decide(&r, o, p)
	if len(ns) != 1 || ns[0].Event != Event("DEADLINE") {
		t.Fatalf("got %v, want DEADLINE", ns)
	}
	deliver(&r, ns)
	r, ns = Decide(&r, observe(Failed, 7*time.Hour+55*time.Minute), p)
	if len(ns) != 0 {
		t.Errorf("before 14h-6h: got %v", ns)
	}
	r, ns = Decide(&r, observe(Failed, 8*time.Hour), p)
	if len(ns) != 1 || ns[0].Event != EventReminder || ns[0].Reminder != 6*time.Hour || !ns[0].RetryDeadline.Equal(t0.Add(14*time.Hour)) {
		t.Fatalf("at 14h-6h: got %v, want REMINDER 6h of the 14h deadline", ns)
	}
	deliver(&r, ns)
	if _, ns = Decide(&r, observe(Failed, 13*time.Hour), p); len(ns) != 1 || ns[0].Reminder != time.Hour {
		t.Errorf("at 14h-1h: got %v, want REMINDER 1h", ns)
	}
}

// TestIssue17NotificationIDIdentifiesContent (issue 17, 1): a FAILED whose publish was not
// confirmed is decided again; if the deadline moved meanwhile, the new FAILED states another
// deadline and so has another ID (a consumer dropping repeats by ID must not drop it), while a
// repeat of the same content keeps its ID.
func TestIssue17NotificationIDIdentifiesContent(t *testing.T) {
	p := DefaultPolicy()
	r, ns := Decide(nil, observe(Failed, 0), p)
	first := ns[0]
	r.NoteAttempted(first.ID) // published, SNS's answer lost
	same, ns := Decide(&r, observe(Failed, time.Minute), p)
	if len(ns) != 1 || ns[0].ID != first.ID {
		t.Fatalf("same content: got %v, want FAILED with ID %q", ns, first.ID)
	}
	o := observe(Failed, 2*time.Minute)
	o.Operation = call(OpClaim, -time.Hour)
	_, ns = Decide(&same, o, p)
	if len(ns) != 1 || ns[0].Event != EventFailed || !ns[0].RetryDeadline.Equal(t0.Add(23*time.Hour)) {
		t.Fatalf("corrected deadline: got %v, want FAILED with deadline 23h", ns)
	}
	if ns[0].ID == first.ID {
		t.Errorf("FAILED with deadline 23h has the ID %q of the FAILED that said 24h", ns[0].ID)
	}
}

// TestIssue17OldClaimIsNeverNamed (issue 17, 5): a number claimed by alice (CloudTrail shows her
// ClaimPhoneNumber, the number is seen CLAIMED) fails a day later on an update made in the admin
// website (no event), with or without an IN_PROGRESS check in between: the failure is an update,
// and alice's day-old successful claim is not named.
func TestIssue17OldClaimIsNeverNamed(t *testing.T) {
	p := DefaultPolicy()
	alice := call(OpClaim, -time.Hour)
	alice.By = "arn:aws:iam::123456789012:user/alice"
	for _, between := range []Status{Claimed, InProgress} {
		o := observe(Claimed, 0)
		o.Operation = alice
		r, _ := Decide(nil, o, p)
		o = observe(between, 24*time.Hour)
		o.Operation = alice
		r, _ = Decide(&r, o, p)
		o = observe(Failed, 24*time.Hour+10*time.Minute)
		o.Operation = alice
		_, ns := Decide(&r, o, p)
		if len(ns) != 1 || ns[0].Event != EventFailed {
			t.Fatalf("via %q: got %v, want FAILED", between, ns)
		}
		if ns[0].Operation != nil || ns[0].Failure != FailureUpdate {
			t.Errorf("via %q: FAILED names %+v, failure %q; want no call named, an update", between, ns[0].Operation, ns[0].Failure)
		}
	}
	// A call after the last CLAIMED check is named: bob's update.
	o := observe(Claimed, 0)
	o.Operation = alice
	r, _ := Decide(nil, o, p)
	bob := call(OpUpdate, 23*time.Hour)
	o = observe(InProgress, 23*time.Hour+time.Minute)
	o.Operation = bob
	r, _ = Decide(&r, o, p)
	o = observe(Failed, 23*time.Hour+6*time.Minute)
	o.Operation = bob
	if _, ns := Decide(&r, o, p); len(ns) != 1 || ns[0].Operation == nil || ns[0].Operation.EventID != bob.EventID {
		t.Errorf("bob's update after the CLAIMED check: got %v, want it named", ns)
	}
}

// TestIssue17CallWithinSkewIsNoRetry (issue 17, 6): the failing call's eventTime is 40 s after
// the check that first saw FAILED (clock skew between services): it is that failure's call, not
// a retry, so there is no second FAILED ("the retry failed too").
func TestIssue17CallWithinSkewIsNoRetry(t *testing.T) {
	p := DefaultPolicy()
	r, ns := Decide(nil, observe(Failed, 0), p)
	deliver(&r, ns)
	o := observe(Failed, 5*time.Minute)
	o.Operation = call(OpUpdate, 40*time.Second)
	r, ns = Decide(&r, o, p)
	if len(ns) != 0 || r.Episode.Retries != 0 || !r.Episode.Deadline.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("call 40 s after the FAILED sight: got %v, episode %+v; want nothing, the same episode", ns, r.Episode)
	}
	// A call well after the sight is a retry, as before.
	o = observe(Failed, 20*time.Minute)
	o.Operation = call(OpUpdate, 15*time.Minute)
	if _, ns = Decide(&r, o, p); len(ns) != 1 || ns[0].Retries != 1 {
		t.Errorf("call 15 min after the sight: got %v, want a new FAILED (retries 1)", ns)
	}
}

// TestIssue17OverlappingNotFoundIsNotGone (issue 17, 3): two 404s from overlapping runs a
// second apart do not confirm "gone" (no false EXPIRED); the number seen FAILED again continues
// its episode and deadline (no second FAILED with a later deadline), since a 404 is no
// not-FAILED check.
func TestIssue17OverlappingNotFoundIsNotGone(t *testing.T) {
	p := DefaultPolicy()
	r, _ := Decide(nil, observe(Claimed, 0), p)
	r, ns := Decide(&r, observe(Failed, 10*time.Minute), p)
	deliver(&r, ns)
	for _, at := range []time.Duration{time.Hour, time.Hour + time.Second} {
		if r, ns = Decide(&r, observe(NotFound, at), p); len(ns) != 0 {
			t.Fatalf("404 at %s: got %v, want nothing (not confirmed)", off(t0.Add(at)), ns)
		}
	}
	r, ns = Decide(&r, observe(Failed, 2*time.Hour), p)
	if len(ns) != 0 || !r.Episode.Deadline.Equal(t0.Add(24*time.Hour)) || !r.Episode.FailedSince.Equal(t0.Add(10*time.Minute)) {
		t.Errorf("FAILED again: got %v, episode %+v; want nothing, the episode with deadline 24h", ns, r.Episode)
	}
	// Two 404s a schedule period apart (as the checks before show it: 5 minutes) confirm it.
	r, _ = Decide(&r, observe(Failed, 3*time.Hour-5*time.Minute), p)
	r, _ = Decide(&r, observe(NotFound, 3*time.Hour), p)
	if _, ns = Decide(&r, observe(NotFound, 3*time.Hour+5*time.Minute), p); len(ns) != 1 || ns[0].Event != EventExpired {
		t.Errorf("404s 5 minutes apart: got %v, want EXPIRED", ns)
	}
}

// TestIssue17ConfirmedGoneIsNoLowerBound (issue 17, 3): even a confirmed gone check says nothing
// about the status: a number seen again FAILED without a release or a new claim keeps its
// episode and its deadline, and does not start a new one bounded from the 404.
func TestIssue17ConfirmedGoneIsNoLowerBound(t *testing.T) {
	p := DefaultPolicy()
	r, _ := Decide(nil, observe(Claimed, 0), p)
	r, ns := Decide(&r, observe(Failed, 10*time.Minute), p)
	deliver(&r, ns)
	r, _ = Decide(&r, observe(NotFound, time.Hour), p)
	r, ns = Decide(&r, observe(NotFound, 2*time.Hour), p)
	deliver(&r, ns) // EXPIRED: gone
	r, ns = Decide(&r, observe(Failed, 10*time.Hour), p)
	if len(ns) != 0 || !r.Episode.Deadline.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("seen FAILED again: got %v, episode %+v; want nothing, deadline still 24h (not 2h + 24h)", ns, r.Episode)
	}
}

// TestIssue17ClampFutureRecord (issue 17, 4): a record written by a host whose clock ran an hour
// ahead is brought back to the reader's clock: the reader's checks are not stale, and its
// future not-FAILED check bounds nothing.
func TestIssue17ClampFutureRecord(t *testing.T) {
	p := DefaultPolicy()
	r, _ := Decide(nil, observe(Claimed, time.Hour), p) // stamped by a clock an hour fast
	now := t0.Add(5 * time.Minute)
	if !r.Clamp(now, p) || r.CheckedAt.After(now) || !r.NotFailedAt.IsZero() {
		t.Fatalf("clamped: checkedAt %v notFailedAt %v", r.CheckedAt, r.NotFailedAt)
	}
	if err := r.Check(now); err != nil {
		t.Errorf("clamped record: %v", err)
	}
	_, ns := Decide(&r, observe(Failed, 5*time.Minute), p)
	if len(ns) != 1 || ns[0].Event != EventFailed || ns[0].Basis != BasisFirstObservation ||
		!ns[0].RetryDeadline.Equal(t0.Add(24*time.Hour+5*time.Minute)) {
		t.Errorf("FAILED after a future CLAIMED check: got %v; want first-observation, now + 24h", ns)
	}
	// An episode from the future: its deadline is at most now + the window, with no bound left.
	r2, _ := Decide(nil, observe(Claimed, 50*time.Minute), p)
	r2, _ = Decide(&r2, observe(Failed, time.Hour), p)
	r2.Clamp(now, p)
	if e := r2.Episode; e.Deadline.After(now.Add(24*time.Hour)) || e.Basis != BasisFirstObservation || !e.FailedAfter.IsZero() || e.FailedSince.After(now) {
		t.Errorf("future episode clamped to %+v", e)
	}
	if err := r2.Check(now); err != nil {
		t.Errorf("clamped record: %v", err)
	}
}

// TestIssue17CallStampedJustAfterTheSightBoundsIt (issue 17, 6; sim seed 1004890): the
// Lambda's clock runs a minute behind AWS's, so the failing claim's eventTime lies 1 s after
// the check that first saw the number FAILED. It is that failure's call (within CallSkew), a
// proven lower bound: basis operation, the deadline capped at the sight (the earlier of the
// two) plus the window, whether CloudTrail shows the call at first sight or a run later.
func TestIssue17CallStampedJustAfterTheSightBoundsIt(t *testing.T) {
	p := DefaultPolicy()
	claim := call(OpUpdate, time.Second)
	at := withOp(observe(Failed, 0), claim)
	r, ns := Decide(nil, at, p)
	e := r.Episode
	if e.Basis != BasisOperation || !e.Deadline.Equal(t0.Add(24*time.Hour)) || e.Operation == nil {
		t.Errorf("call shown at first sight: episode %+v, want basis operation, deadline sight + 24h", e)
	}
	if len(ns) != 1 || ns[0].Basis != BasisOperation {
		t.Errorf("first sight sent %v, want one FAILED with basis operation", ns)
	}

	r, ns = Decide(nil, observe(Failed, 0), p)
	deliver(&r, ns)
	later := withOp(observe(Failed, 10*time.Minute), claim)
	r2, ns2 := Decide(&r, later, p)
	if e := r2.Episode; e.Basis != BasisOperation || !e.Deadline.Equal(t0.Add(24*time.Hour)) || e.Operation == nil {
		t.Errorf("call shown a run later: episode %+v, want basis operation, deadline unchanged", e)
	}
	if len(ns2) != 0 {
		t.Errorf("the deadline did not move: got %v, want nothing", ns2)
	}
	// Beyond CallSkew it is a retry, not this failure's call.
	retry := withOp(observe(Failed, 20*time.Minute), call(OpUpdate, CallSkew+time.Second))
	if r3, _ := Decide(&r2, retry, p); r3.Episode.Retries != 1 {
		t.Errorf("a call %s after the sight: episode %+v, want a failed retry", CallSkew+time.Second, r3.Episode)
	}
}

// TestIssue17ListedNumberIsNotGone (issue 17, 3; sim seed 1016547): two transient 404 spells
// 45 minutes apart, with only errors from Connect between them, looked like "gone" by the gap
// rule. Connect listed the number in the runs that got them: a number ListPhoneNumbersV2 shows
// exists, so those 404s confirm nothing and clear the one before.
func TestIssue17ListedNumberIsNotGone(t *testing.T) {
	p := DefaultPolicy()
	r, ns := Decide(nil, observe(Failed, 0), p)
	deliver(&r, ns)
	unlisted := Gone(r.Number, t0.Add(30*time.Minute))
	r, _ = Decide(&r, unlisted, p)
	if r.NotFoundAt.IsZero() {
		t.Fatalf("a first 404 is remembered: %+v", r)
	}
	listed := Gone(r.Number, t0.Add(75*time.Minute))
	listed.Listed = true
	r2, ns2 := Decide(&r, listed, p)
	if r2.Status != Failed || !r2.NotFoundAt.IsZero() || len(ns2) != 0 {
		t.Errorf("404 of a listed number 45m after a 404: status %s, first 404 %s, sent %v; want FAILED, none, nothing",
			r2.Status, r2.NotFoundAt, ns2)
	}
	// Unlisted 404s a period apart after that still confirm it gone.
	r3, _ := Decide(&r2, Gone(r.Number, t0.Add(80*time.Minute)), p)
	_, ns4 := Decide(&r3, Gone(r.Number, t0.Add(90*time.Minute)), p)
	if len(ns4) != 1 || ns4[0].Event != EventExpired || ns4[0].Status != NotFound {
		t.Errorf("two unlisted 404s 10m apart: got %v, want EXPIRED gone", ns4)
	}
}

// TestIssue17StuckNamesNoCallFromBeforeTheLastClaimedCheck (issue 17, 5, for STUCK): a call
// older than the last CLAIMED check had completed by then; the IN_PROGRESS spell that followed
// was started by something else (an admin-website change), so STUCK names no call and counts
// from its first sight.
func TestIssue17StuckNamesNoCallFromBeforeTheLastClaimedCheck(t *testing.T) {
	p := DefaultPolicy()
	old := call(OpUpdate, -time.Hour)
	r, _ := Decide(nil, withOp(observe(Claimed, 0), old), p)
	r, _ = Decide(&r, withOp(observe(InProgress, 10*time.Minute), old), p)
	_, ns := Decide(&r, withOp(observe(InProgress, 50*time.Minute), old), p)
	if len(ns) != 1 || ns[0].Event != EventStuck || ns[0].Operation != nil {
		t.Errorf("STUCK after a CLAIMED check: %+v, want one STUCK naming no call", ns)
	}
}

// TestIssue17LateCallBoundsAChainFormedBeforeIt (issue 17, 2; sim seed 1087770): first sight
// FAILED, a retry seen IN_PROGRESS that failed too, and only then CloudTrail shows the claim
// from before the first sight. It bounds the chain's first failure, whose deadline the failed
// retry kept: the deadline moves to the claim + window, and DEADLINE says so.
func TestIssue17LateCallBoundsAChainFormedBeforeIt(t *testing.T) {
	p := DefaultPolicy()
	r, ns := Decide(nil, observe(Failed, 0), p)
	deliver(&r, ns)
	r, ns = Decide(&r, observe(InProgress, 10*time.Minute), p)
	deliver(&r, ns)
	r, ns = Decide(&r, observe(Failed, 20*time.Minute), p)
	deliver(&r, ns)
	if r.Episode.Retries != 1 || r.Episode.Basis != BasisFirstObservation {
		t.Fatalf("the failed retry: %+v, want retries 1 keeping the first sight's bound", r.Episode)
	}
	late := withOp(observe(Failed, 30*time.Minute), call(OpClaim, -8*time.Minute))
	r2, ns2 := Decide(&r, late, p)
	if e := r2.Episode; e.Basis != BasisOperation || !e.Deadline.Equal(t0.Add(24*time.Hour-8*time.Minute)) {
		t.Errorf("after the late claim: episode %+v, want basis operation, deadline claim + 24h", e)
	}
	if len(ns2) != 1 || ns2[0].Event != EventDeadline {
		t.Errorf("the deadline moved 8m earlier: sent %v, want one DEADLINE", ns2)
	}
}

// TestIssue17NotFoundWithinOnePeriodIsNotGone (issue 17, 3; sim seed 1030657): runs every 20
// minutes; an operator's run 11 minutes after one and the next scheduled run 8 minutes later
// both fall into one transient 404 spell. 8 minutes is over the 5-minute floor but under the
// number's own check interval: not yet gone. A 404 a whole interval after the first confirms it.
func TestIssue17NotFoundWithinOnePeriodIsNotGone(t *testing.T) {
	p := DefaultPolicy()
	m := time.Minute
	r, ns := Decide(nil, observe(Failed, 0), p)
	deliver(&r, ns)
	r, _ = Decide(&r, observe(Failed, 20*m), p)
	r, _ = Decide(&r, observe(NotFound, 31*m), p)
	r, ns = Decide(&r, observe(NotFound, 39*m), p)
	if len(ns) != 0 || r.Status != Failed {
		t.Fatalf("404s 8m apart, checks 20m apart: got %v, status %s; want nothing, still FAILED", ns, r.Status)
	}
	if _, ns = Decide(&r, observe(NotFound, 42*m), p); len(ns) != 1 || ns[0].Event != EventExpired || ns[0].Status != NotFound {
		t.Errorf("404s 11m apart (the interval before them): got %v, want EXPIRED gone", ns)
	}
}

// TestIssue17NotFoundAfterMissedChecksStartsAnew (issue 17, 3; sim seed 1095270): runs every
// 15 minutes; a 404, two runs that never came, and a 404 45 minutes later, from two transient
// spells. Nothing was seen between them: the second 404 starts anew instead of confirming, and
// one a check interval after it confirms.
func TestIssue17NotFoundAfterMissedChecksStartsAnew(t *testing.T) {
	p := DefaultPolicy()
	m := time.Minute
	r, ns := Decide(nil, observe(Failed, 0), p)
	deliver(&r, ns)
	r, _ = Decide(&r, observe(Failed, 15*m), p)
	r, _ = Decide(&r, observe(NotFound, 30*m), p)
	r, ns = Decide(&r, observe(NotFound, 75*m), p)
	if len(ns) != 0 || r.Status != Failed || !r.NotFoundAt.Equal(t0.Add(75*m)) {
		t.Fatalf("404s 45m apart, checks 15m apart: got %v, status %s, first 404 %s; want nothing, FAILED, 75m",
			ns, r.Status, off(r.NotFoundAt))
	}
	if _, ns = Decide(&r, observe(NotFound, 90*m), p); len(ns) != 1 || ns[0].Event != EventExpired || ns[0].Status != NotFound {
		t.Errorf("a 404 one interval after that: got %v, want EXPIRED gone", ns)
	}
}
