package sim

import (
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/status"
)

// judgeWorld is a world of one number, claimed at 10:00 by alice (CLAIMED at 10:01), updated
// in the admin website at 20:00 (FAILED at 20:05), never retried: released at 20:05 the next day.
func judgeWorld() (*World, *number) {
	at := func(h, m int) time.Time { return Start.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	n := &number{id: "00000000-0000-4000-8000-000000000001", e164: "+18005550000", home: instanceA,
		exists: at(10, 0), gone: at(44, 5), goneExpired: true}
	n.arn = "arn:aws:connect:us-east-1:123456789012:phone-number/" + n.id
	n.calls = []call{
		{name: status.OpClaim, at: at(10, 0), outcome: at(10, 1), by: alice, appear: at(10, 3), eventID: "ev-claim", target: instanceA},
		{name: status.OpUpdate, at: at(20, 0), outcome: at(20, 5), failed: true, website: true, eventID: "ev-update", target: instanceB},
	}
	n.failures = []failure{{call: 1, at: at(20, 5), chain: 1}}
	w := &World{Seed: 1, p: params{window: 24 * time.Hour, period: 10 * time.Minute, days: 3},
		numbers: []*number{n}, byID: map[string]*number{n.id: n}}
	w.st = &store{w: w, recs: map[string]status.Record{}}
	w.judge = newJudge(w)
	return w, n
}

// Each invariant catches the notification that breaks it, and passes the one that keeps it.
func TestJudgeCatches(t *testing.T) {
	release := Start.Add(44*time.Hour + 5*time.Minute)
	claimOp := &status.Operation{Name: status.OpClaim, At: Start.Add(10 * time.Hour), By: alice, EventID: "ev-claim"}
	failed := func(id string, deadline time.Time, basis status.Basis) status.Notification {
		return status.Notification{Event: status.EventFailed, ID: id, Status: status.Failed, RetryDeadline: deadline,
			Basis: basis, Failure: status.FailureUpdate}
	}
	for _, tc := range []struct {
		name  string
		at    time.Duration // the run's true time after Start
		notes []status.Notification
		mode  string
		want  string // "" : no violation
	}{
		{name: "transition deadline before the release", at: 20*time.Hour + 10*time.Minute,
			notes: []status.Notification{failed("a", release.Add(-5*time.Minute), status.BasisTransition)}},
		{name: "transition deadline after the release", at: 20*time.Hour + 10*time.Minute,
			notes: []status.Notification{failed("a", release.Add(time.Minute), status.BasisTransition)}, want: Late},
		{name: "first observation, no bound", at: 20*time.Hour + 10*time.Minute,
			notes: []status.Notification{failed("a", release.Add(time.Hour), status.BasisFirstObservation)}},
		{name: "the claim before the failure named, kind unknown", at: 20*time.Hour + 10*time.Minute,
			notes: []status.Notification{func() status.Notification {
				n := failed("a", release.Add(-time.Hour), status.BasisOperation)
				n.Operation, n.Failure = claimOp, status.FailureUnknown
				return n
			}()}},
		{name: "the claim before the failure named as a claim that failed", at: 20*time.Hour + 10*time.Minute,
			notes: []status.Notification{func() status.Notification {
				n := failed("a", release.Add(-time.Hour), status.BasisOperation)
				n.Operation, n.Failure = claimOp, status.FailureClaim
				return n
			}()}, want: WrongKind},
		{name: "a call CloudTrail never showed named", at: 20*time.Hour + 10*time.Minute,
			notes: []status.Notification{func() status.Notification {
				n := failed("a", release.Add(-time.Hour), status.BasisOperation)
				n.Operation = &status.Operation{Name: status.OpUpdate, At: Start.Add(19 * time.Hour), EventID: "ev-bob"}
				return n
			}()}, want: WrongCall},
		{name: "claim said, update failed", at: 20*time.Hour + 10*time.Minute,
			notes: []status.Notification{func() status.Notification {
				n := failed("a", release.Add(-time.Hour), status.BasisTransition)
				n.Failure = status.FailureClaim
				return n
			}()}, want: WrongKind},
		{name: "gone while Connect has it", at: 21 * time.Hour,
			notes: []status.Notification{{Event: status.EventExpired, ID: "e", Status: status.NotFound,
				RetryDeadline: release.Add(-time.Hour), Basis: status.BasisTransition, Failure: status.FailureUpdate}},
			want: FalseExpiry},
		{name: "one failure, two FAILED IDs", at: 21 * time.Hour,
			notes: []status.Notification{failed("a", release.Add(-time.Hour), status.BasisTransition),
				failed("b", release.Add(-time.Hour), status.BasisTransition)}, want: Duplicate},
		{name: "a copy without an unanswered attempt", at: 21 * time.Hour,
			notes: []status.Notification{failed("a", release.Add(-time.Hour), status.BasisTransition),
				failed("a", release.Add(-time.Hour), status.BasisTransition)}, want: Copies},
		{name: "a copy after an unanswered attempt", at: 21 * time.Hour, mode: snsLostDelivered,
			notes: []status.Notification{failed("a", release.Add(-time.Hour), status.BasisTransition),
				failed("a", release.Add(-time.Hour), status.BasisTransition)}},
		{name: "a corrected FAILED after an unanswered one", at: 21 * time.Hour, mode: snsLostDelivered,
			notes: []status.Notification{failed("a", release.Add(-time.Hour), status.BasisTransition),
				failed("b", release.Add(-2*time.Hour), status.BasisTransition)}},
		{name: "FAILED and EXPIRED in one run", at: 45 * time.Hour,
			notes: []status.Notification{failed("a", release.Add(-time.Hour), status.BasisTransition),
				{Event: status.EventExpired, ID: "e", Status: status.NotFound, RetryDeadline: release.Add(-time.Hour),
					Basis: status.BasisTransition, Failure: status.FailureUpdate}}, want: FailedWithExpired},
		{name: "before any failure", at: 12 * time.Hour,
			notes: []status.Notification{failed("a", release, status.BasisTransition)}, want: NoFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, n := judgeWorld()
			r := &run{w: w, idx: 1, at: Start.Add(tc.at), readSeq: 0}
			mode := tc.mode
			if mode == "" {
				mode = snsOK
			}
			for _, note := range tc.notes {
				note.Number = status.Number{ID: n.id}
				w.judge.attempted(r, note, mode)
			}
			var got []string
			for _, v := range w.judge.Violations {
				got = append(got, v.Class)
			}
			if (tc.want == "" && len(got) > 0) || (tc.want != "" && (len(got) != 1 || got[0] != tc.want)) {
				t.Fatalf("violations %v, want %q", got, tc.want)
			}
		})
	}
}

// A lower bound is a saved check that saw the number not FAILED before the failure, or the
// failing call shown by CloudTrail: then first-observation is a missed bound.
func TestJudgeMissedBound(t *testing.T) {
	w, n := judgeWorld()
	note := status.Notification{Event: status.EventFailed, ID: "a", Number: status.Number{ID: n.id},
		Status: status.Failed, RetryDeadline: Start.Add(45 * time.Hour), Basis: status.BasisFirstObservation}
	early := &run{w: w, idx: 1, at: Start.Add(19 * time.Hour), readSeq: -1, answered: map[string]status.Status{n.id: status.Claimed}}
	w.st.seq = 1
	w.judge.saved(early, status.Record{Number: status.Number{ID: n.id}, Status: status.Claimed})
	r := &run{w: w, idx: 2, at: Start.Add(21 * time.Hour), readSeq: 0}
	w.judge.attempted(r, note, snsOK)
	if len(w.judge.Violations) != 0 {
		t.Fatalf("a check saved after the run read the state is no bound for it: %v", w.judge.Violations)
	}
	r2 := &run{w: w, idx: 3, at: Start.Add(21 * time.Hour), readSeq: 1}
	note.ID = "b"
	w.judge.attempted(r2, note, snsOK)
	if len(w.judge.Violations) == 0 || w.judge.Violations[0].Class != MissedBound {
		t.Fatalf("violations %v, want %s", w.judge.Violations, MissedBound)
	}
}

// After a run: a deadline in force earlier than the one delivered needs a DEADLINE stating it,
// and a fault-free run that saw the number FAILED must have delivered its FAILED.
func TestJudgeAfterRun(t *testing.T) {
	release := Start.Add(44*time.Hour + 5*time.Minute)
	for _, tc := range []struct {
		name     string
		deadline *status.Notification // a DEADLINE attempted in the run
		told     bool                 // the FAILED was delivered before
		want     []string
	}{
		{name: "moved earlier, not announced", told: true, want: []string{Unannounced}},
		{name: "moved earlier, announced", told: true, deadline: &status.Notification{Event: eventDeadline, ID: "d",
			Status: status.Failed, RetryDeadline: release.Add(-2 * time.Hour), Basis: status.BasisTransition}},
		{name: "never told", want: []string{Loss}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, n := judgeWorld()
			if tc.told {
				early := &run{w: w, idx: 1, at: Start.Add(20*time.Hour + 10*time.Minute), readSeq: 0}
				w.judge.attempted(early, status.Notification{Event: status.EventFailed, ID: "f", Number: status.Number{ID: n.id},
					Status: status.Failed, RetryDeadline: release.Add(-time.Hour), Basis: status.BasisTransition}, snsOK)
			}
			r := &run{w: w, idx: 2, at: Start.Add(21 * time.Hour), readSeq: 0,
				answered: map[string]status.Status{n.id: status.Failed}}
			if tc.deadline != nil {
				tc.deadline.Number = status.Number{ID: n.id}
				w.judge.attempted(r, *tc.deadline, snsOK)
			}
			w.st.recs[n.id] = status.Record{Number: status.Number{ID: n.id}, Status: status.Failed,
				Episode: &status.Episode{FailedSince: Start.Add(20*time.Hour + 10*time.Minute), Deadline: release.Add(-2 * time.Hour),
					Basis: status.BasisTransition}}
			w.judge.afterRun(r, true)
			var got []string
			for _, v := range w.judge.Violations {
				got = append(got, v.Class)
			}
			if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
				t.Fatalf("violations %v, want %v", got, tc.want)
			}
		})
	}
}

// An old call named after a saved check saw the number CLAIMED breaks DESIGN.md's rule itself.
func TestJudgeWrongCallAfterClaimedCheck(t *testing.T) {
	w, n := judgeWorld()
	checked := &run{w: w, idx: 1, at: Start.Add(12 * time.Hour), readSeq: -1, answered: map[string]status.Status{n.id: status.Claimed}}
	w.st.seq = 1
	w.judge.saved(checked, status.Record{Number: status.Number{ID: n.id}, Status: status.Claimed})
	r := &run{w: w, idx: 2, at: Start.Add(21 * time.Hour), readSeq: 1}
	w.judge.attempted(r, status.Notification{Event: status.EventFailed, ID: "a", Number: status.Number{ID: n.id},
		Status: status.Failed, RetryDeadline: Start.Add(34 * time.Hour), Basis: status.BasisOperation,
		Failure: status.FailureUpdate, Operation: &status.Operation{Name: status.OpClaim, At: Start.Add(10 * time.Hour),
			By: alice, EventID: "ev-claim"}}, snsOK)
	if len(w.judge.Violations) != 1 || w.judge.Violations[0].Class != WrongCall {
		t.Fatalf("violations %v, want %s", w.judge.Violations, WrongCall)
	}
}
