package monitor_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/status"
)

// answer is what the publisher says of one notification in one run.
type answer int

const (
	confirmed answer = iota
	unconfirmed
	failed
)

func (a answer) err() error {
	switch a {
	case unconfirmed:
		return fmt.Errorf("publish batch: context deadline exceeded after sending: %w", status.ErrUnconfirmed)
	case failed:
		return errors.New("InvalidParameter: the entry was rejected")
	}
	return nil
}

// TestUnconfirmedPublishSentAgain (issue 18.1): a publish SNS did not confirm is never marked
// sent. Unanswered (it may have been delivered) or refused, the next run sends it again with
// the same notificationId, however many runs that takes, until SNS confirms it; each
// unanswered attempt is counted in the summary. Before issue 18 the second unconfirmed attempt
// was marked sent whatever SNS said, and the FAILED could be lost.
func TestUnconfirmedPublishSentAgain(t *testing.T) {
	testCases := []struct {
		name    string
		answers []answer // the publisher's answer in each run until it is confirmed
	}{
		{"unconfirmed three times, then confirmed", []answer{unconfirmed, unconfirmed, unconfirmed, confirmed}},
		{"unconfirmed, then confirmed", []answer{unconfirmed, confirmed}},
		{"unconfirmed, then failed twice, then confirmed", []answer{unconfirmed, failed, failed, confirmed}},
		{"failed, then confirmed", []answer{failed, confirmed}},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			id := ids(1, 1)[0]
			w.put("FAILED", id)
			m := w.monitor()
			var noteIDs []string
			everUnconfirmed := false
			for run, a := range tc.answers {
				w.publishErr = func(status.Notification) error { return a.err() }
				sum := w.run(m, scheduled)
				pub := w.published()
				if len(pub) != 1 || pub[0].Event != status.EventFailed {
					t.Fatalf("run %d published %+v, want FAILED once", run+1, pub)
				}
				noteIDs = append(noteIDs, pub[0].ID)
				everUnconfirmed = everUnconfirmed || a == unconfirmed
				rec := w.records()[id]
				last := run == len(tc.answers)-1
				if rec.Episode.Announced() != last {
					t.Errorf("run %d (%v): announced %v, want %v", run+1, a, rec.Episode.Announced(), last)
				}
				// Attempted: people may have it (an unanswered attempt so far), until confirmed.
				if got, want := slices.Contains(rec.Attempted, pub[0].ID), everUnconfirmed && !last; got != want {
					t.Errorf("run %d (%v): attempted %v (%v), want %v", run+1, a, got, rec.Attempted, want)
				}
				if a == unconfirmed && (len(sum.Errors) != 1 || !strings.Contains(sum.Errors[0].Error, "may have been delivered")) {
					t.Errorf("run %d: errors %+v, want one saying it may have been delivered", run+1, sum.Errors)
				}
				if sum.Unconfirmed != map[bool]int{true: 1}[a == unconfirmed] {
					t.Errorf("run %d: %d unconfirmed publishes counted for answer %v", run+1, sum.Unconfirmed, a)
				}
				if sum.NotificationsSent != map[bool]int{true: 1}[a == confirmed] {
					t.Errorf("run %d: %d reported sent for answer %v", run+1, sum.NotificationsSent, a)
				}
				w.advance(5 * time.Minute)
			}
			if noteIDs[0] == "" || len(slices.Compact(slices.Clone(noteIDs))) != 1 {
				t.Errorf("notification IDs %v, want one stable ID across the attempts", noteIDs)
			}
			w.publishErr = nil
			w.run(m, scheduled)
			if pub := w.published(); len(pub) != 0 {
				t.Errorf("the run after the confirmed one published %+v, want nothing", pub)
			}
		})
	}
}

// markFails is a store over w's whose writes releasing a claim (the mark write) fail.
func markFails(w *world, fail *bool) monitor.Store {
	return fakeStore{
		all: w.store.All, get: w.store.Get,
		save: func(ctx context.Context, recs []status.Record) ([]string, error) {
			if *fail && slices.ContainsFunc(recs, func(r status.Record) bool { return r.ClaimedBy == "" && r.Episode != nil }) {
				return nil, errors.New("InternalServerError: injected")
			}
			return w.store.Save(ctx, recs)
		},
	}
}

// TestFailedMarkSendsAgain (issue 13.2, policy of issue 18): SNS accepted, but the write that
// marks it sent fails without a crash, in one run or in two in a row. Until a claim expires
// other runs leave the number alone; then a run sends it again, with the same notificationId
// (a copy for each run whose mark was lost, never more), and once a mark holds, no run after.
func TestFailedMarkSendsAgain(t *testing.T) {
	for _, failures := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d failed marks", failures), func(t *testing.T) {
			w := newWorld(t)
			id := ids(1, 1)[0]
			w.put("FAILED", id)
			fail := true
			m := w.monitor()
			m.Store = markFails(w, &fail)
			var noteIDs []string
			for round := range failures {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				sum, err := m.Run(ctx, scheduled)
				cancel()
				if err == nil || len(sum.Errors) != 1 || !strings.Contains(sum.Errors[0].Error, "sends it again") {
					t.Fatalf("round %d, the mark write failing: err %v, errors %+v; want an error saying it is sent again",
						round, err, sum.Errors)
				}
				pub := w.published()
				rec := w.records()[id]
				if len(pub) != 1 || rec.ClaimedBy == "" || rec.Episode.Announced() || !slices.Contains(rec.Attempted, pub[0].ID) {
					t.Fatalf("round %d: published %+v, record %+v; want one FAILED, the record claimed, unannounced, attempted",
						round, pub, rec)
				}
				noteIDs = append(noteIDs, pub[0].ID)
				w.advance(time.Minute) // inside the claim: left alone
				w.run(m, scheduled)
				if pub := w.published(); len(pub) != 0 {
					t.Errorf("round %d: a run inside the claim published %+v", round, pub)
				}
				w.advance(time.Hour) // long past the claim
			}
			fail = false
			w.run(m, scheduled)
			pub := w.published()
			if len(pub) != 1 || pub[0].ID != noteIDs[0] {
				t.Fatalf("after the claim expired: published %+v, want the same FAILED (ID %s) once", pub, noteIDs[0])
			}
			if len(slices.Compact(slices.Clone(noteIDs))) != 1 {
				t.Errorf("notification IDs %v, want one", noteIDs)
			}
			if rec := w.records()[id]; !rec.Episode.Announced() || len(rec.Attempted) != 0 || rec.ClaimedBy != "" {
				t.Errorf("after the mark held: %+v, want announced, nothing attempted, released", rec)
			}
			w.advance(5 * time.Minute)
			w.run(m, scheduled)
			if pub := w.published(); len(pub) != 0 {
				t.Errorf("a run after the mark held published %+v", pub)
			}
		})
	}
}

// TestTransactionConflictsDelayNotLose (issue 13, "Also"): when transaction conflicts use up
// the store's retries at the claim, the run publishes nothing it could not claim and says so;
// the next run sends the notification, once.
func TestTransactionConflictsDelayNotLose(t *testing.T) {
	w := newWorld(t)
	id := ids(1, 1)[0]
	w.put("FAILED", id)
	conflicting := true
	m := w.monitor()
	m.Store = fakeStore{
		all: w.store.All, get: w.store.Get,
		save: func(ctx context.Context, recs []status.Record) ([]string, error) {
			if conflicting && slices.ContainsFunc(recs, func(r status.Record) bool { return r.ClaimedBy != "" }) {
				return nil, errors.New("operation error DynamoDB: TransactWriteItems, TransactionCanceledException: " +
					"Transaction cancelled [TransactionConflict]; retry quota exceeded")
			}
			return w.store.Save(ctx, recs)
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sum, err := m.Run(ctx, scheduled)
	if err == nil || len(sum.Errors) != 1 || !strings.Contains(sum.Errors[0].Error, "a later run retries") {
		t.Errorf("conflicted run: err %v, errors %+v; want the claim's failure, retried later", err, sum.Errors)
	}
	if pub := w.published(); len(pub) != 0 || sum.NotificationsSent != 0 {
		t.Errorf("published %+v without a claim", pub)
	}
	conflicting = false
	w.advance(5 * time.Minute)
	w.run(m, scheduled)
	if pub := w.published(); len(pub) != 1 || pub[0].Event != status.EventFailed {
		t.Errorf("next run published %+v, want the delayed FAILED once", pub)
	}
	w.advance(5 * time.Minute)
	w.run(m, scheduled)
	if pub := w.published(); len(pub) != 0 {
		t.Errorf("the run after published %+v", pub)
	}
}

// TestRunWithoutDeadlineHasOne (issue 13.5): a run whose context has no deadline (a local
// run) gets one, so publishing is bounded and the claim outlives it.
func TestRunWithoutDeadlineHasOne(t *testing.T) {
	w := newWorld(t)
	id := ids(1, 1)[0]
	w.put("FAILED", id)
	var claimUntil time.Time
	var publishLeft time.Duration
	m := w.monitor()
	m.Store = fakeStore{
		all: w.store.All, get: w.store.Get,
		save: func(ctx context.Context, recs []status.Record) ([]string, error) {
			if recs[0].ClaimedBy != "" {
				claimUntil = recs[0].ClaimUntil
			}
			return w.store.Save(ctx, recs)
		},
	}
	m.Publisher = fakePublisher(func(ctx context.Context, ns []status.Notification) []error {
		if dl, ok := ctx.Deadline(); ok {
			publishLeft = time.Until(dl)
		}
		return w.Publish(ctx, ns)
	})
	if _, err := m.Run(context.Background(), scheduled); err != nil {
		t.Fatal(err)
	}
	if publishLeft <= 0 || publishLeft > monitor.DefaultRunTimeout {
		t.Errorf("publishing had %v left, want a deadline within %v", publishLeft, monitor.DefaultRunTimeout)
	}
	if claim := claimUntil.Sub(w.clock()); claim < publishLeft || claim > monitor.DefaultRunTimeout+time.Minute {
		t.Errorf("claim of %v, want longer than publishing may take (%v) and at most the run and a minute", claim, publishLeft)
	}
}

// TestShortInvocationsStillCheck (issue 9): with a 5 s function timeout and the handler's
// 5 s finish reserve, a run checks numbers (the reserve scales down) and returns before its
// deadline.
func TestShortInvocationsStillCheck(t *testing.T) {
	w := newWorld(t)
	w.put("CLAIMED", ids(1, 5)...)
	m := w.monitor()
	m.FinishReserve = 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sum, err := m.Run(ctx, scheduled)
	if err != nil || sum.Checked != 5 || !sum.Complete {
		t.Errorf("err %v, summary %+v; want all 5 checked", err, sum)
	}
	if ctx.Err() != nil {
		t.Error("returned after the deadline")
	}
}

// TestTransient404KeepsTheAttempt: FAILED published unconfirmed (run 1), one transient 404
// (run 2: no decision), FAILED again with SNS's answer lost again (run 3), then run 4 with SNS
// back. The 404 must not erase the attempt (people may have the FAILED, so RECOVERED would be
// owed), and the FAILED is sent until confirmed: three copies, one per run that could send.
func TestTransient404KeepsTheAttempt(t *testing.T) {
	w := newWorld(t)
	id := ids(1, 1)[0]
	w.put("FAILED", id)
	m := w.monitor()
	copies := 0
	w.publishErr = func(status.Notification) error { return unconfirmed.err() }
	w.run(m, scheduled)
	copies += len(w.published())

	w.advance(5 * time.Minute)
	w.mu.Lock()
	s := w.byID[id]
	delete(w.byID, id) // one transient ResourceNotFound
	w.mu.Unlock()
	w.run(m, scheduled)
	copies += len(w.published())
	if rec := w.records()[id]; len(rec.Attempted) != 1 {
		t.Errorf("after the 404 the record's attempts are %v, want the FAILED kept", rec.Attempted)
	}

	w.advance(5 * time.Minute)
	w.mu.Lock()
	w.byID[id] = s
	w.mu.Unlock()
	w.run(m, scheduled) // sent again, unconfirmed again: still owed
	copies += len(w.published())
	if rec := w.records()[id]; rec.Episode.Announced() {
		t.Error("an unconfirmed FAILED was marked sent")
	}
	w.advance(5 * time.Minute)
	w.publishErr = nil
	w.run(m, scheduled)
	copies += len(w.published())
	if copies != 3 {
		t.Errorf("FAILED handed to SNS %d times, want 3 (two unanswered attempts, then the confirmed one)", copies)
	}
	if rec := w.records()[id]; !rec.Episode.Announced() || len(rec.Attempted) != 0 {
		t.Errorf("record %+v after the confirmed publish: want announced, nothing attempted", rec)
	}
}
