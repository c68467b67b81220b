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

// TestUnconfirmedPublishRepeatsOnce (issue 13.1): a publish SNS may have accepted is noted as
// attempted and repeated by the next run exactly once, with the same notificationId, and
// marked sent after that repeat whatever SNS answers; a publish that definitely failed
// delivered nothing, so it is sent again until it is delivered (no attempt left behind).
func TestUnconfirmedPublishRepeatsOnce(t *testing.T) {
	testCases := []struct {
		name    string
		answers []answer // the publisher's answer in each run until it is marked sent
	}{
		{"unconfirmed, then unconfirmed again", []answer{unconfirmed, unconfirmed}},
		{"unconfirmed, then confirmed", []answer{unconfirmed, confirmed}},
		{"unconfirmed, then failed, then confirmed", []answer{unconfirmed, failed, confirmed}},
		{"failed, then confirmed", []answer{failed, confirmed}},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			id := ids(1, 1)[0]
			w.put("FAILED", id)
			m := w.monitor()
			var noteIDs []string
			for run, a := range tc.answers {
				w.publishErr = func(status.Notification) error { return a.err() }
				sum := w.run(m, scheduled)
				pub := w.published()
				if len(pub) != 1 || pub[0].Event != status.EventFailed {
					t.Fatalf("run %d published %+v, want FAILED once", run+1, pub)
				}
				noteIDs = append(noteIDs, pub[0].ID)
				rec := w.records()[id]
				last := run == len(tc.answers)-1
				if rec.Episode.Announced() != last {
					t.Errorf("run %d (%v): announced %v, want %v", run+1, a, rec.Episode.Announced(), last)
				}
				wantAttempted := a == unconfirmed && !last || a == failed && run > 0 && tc.answers[run-1] != failed
				if got := slices.Contains(rec.Attempted, pub[0].ID); got != wantAttempted {
					t.Errorf("run %d (%v): attempted %v (%v), want %v", run+1, a, got, rec.Attempted, wantAttempted)
				}
				if a == unconfirmed && !last && (len(sum.Errors) != 1 || !strings.Contains(sum.Errors[0].Error, "may have been delivered")) {
					t.Errorf("run %d: errors %+v, want one saying it may have been delivered", run+1, sum.Errors)
				}
				if sum.NotificationsSent != map[bool]int{true: 1}[a == confirmed] {
					t.Errorf("run %d: %d reported sent for answer %v", run+1, sum.NotificationsSent, a)
				}
				w.advance(5 * time.Minute)
			}
			if noteIDs[0] == "" || len(slices.Compact(slices.Clone(noteIDs))) != 1 {
				t.Errorf("notification IDs %v, want one stable ID across the repeats", noteIDs)
			}
			w.publishErr = nil
			w.run(m, scheduled)
			if pub := w.published(); len(pub) != 0 {
				t.Errorf("the run after the repeat published %+v, want nothing", pub)
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

// TestFailedMarkRepeatsOnce (issue 13.2): SNS accepted, but the write that marks it sent
// fails without a crash. Until the claim expires other runs leave the number alone; then one
// run sends it once more, with the same notificationId, and marks it; no run after that.
func TestFailedMarkRepeatsOnce(t *testing.T) {
	w := newWorld(t)
	id := ids(1, 1)[0]
	w.put("FAILED", id)
	fail := true
	m := w.monitor()
	m.Store = markFails(w, &fail)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sum, err := m.Run(ctx, scheduled)
	if err == nil || len(sum.Errors) != 1 || !strings.Contains(sum.Errors[0].Error, "once more") {
		t.Fatalf("run with the mark write failing: err %v, errors %+v; want an error saying it is sent once more", err, sum.Errors)
	}
	first := w.published()
	rec := w.records()[id]
	if len(first) != 1 || rec.ClaimedBy == "" || rec.Episode.Announced() || !slices.Contains(rec.Attempted, first[0].ID) {
		t.Fatalf("published %d, record %+v; want one FAILED, the record claimed, unannounced, attempted", len(first), rec)
	}
	fail = false

	w.advance(time.Minute) // inside the claim: left alone
	w.run(m, scheduled)
	if pub := w.published(); len(pub) != 0 {
		t.Errorf("a run inside the claim published %+v", pub)
	}
	w.advance(time.Hour) // long past the claim
	w.run(m, scheduled)
	pub := w.published()
	if len(pub) != 1 || pub[0].ID != first[0].ID {
		t.Fatalf("after the claim expired: published %+v, want the same FAILED (ID %s) once", pub, first[0].ID)
	}
	if rec := w.records()[id]; !rec.Episode.Announced() || len(rec.Attempted) != 0 || rec.ClaimedBy != "" {
		t.Errorf("after the repeat: %+v, want announced, nothing attempted, released", rec)
	}
	w.advance(5 * time.Minute)
	w.run(m, scheduled)
	if pub := w.published(); len(pub) != 0 {
		t.Errorf("a run after the repeat published %+v", pub)
	}
}

// TestFailedMarkTwiceStillOneRepeat (issue 13.2): the mark write fails in the first run and
// again in the run that sends the repeat. The third run must not send a third copy: it marks
// the notification sent, since the repeat's own claim noted it as repeated.
func TestFailedMarkTwiceStillOneRepeat(t *testing.T) {
	w := newWorld(t)
	id := ids(1, 1)[0]
	w.put("FAILED", id)
	fail := true
	m := w.monitor()
	m.Store = markFails(w, &fail)
	for round := range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := m.Run(ctx, scheduled)
		cancel()
		if err == nil {
			t.Fatalf("round %d: the run with the mark write failing returned no error", round)
		}
		if pub := w.published(); len(pub) != 1 {
			t.Fatalf("round %d: published %+v, want the FAILED (first, then its one repeat)", round, pub)
		}
		w.advance(time.Hour) // past the claim
	}
	fail = false
	w.run(m, scheduled)
	if pub := w.published(); len(pub) != 0 {
		t.Errorf("after the repeat's mark failed too, a run published %+v; want nothing (at most one repeat)", pub)
	}
	rec := w.records()[id]
	if !rec.Episode.Announced() || len(rec.Attempted) != 0 || len(rec.Repeated) != 0 || rec.ClaimedBy != "" {
		t.Errorf("record %+v: want FAILED marked sent, nothing attempted or repeated, no claim", rec)
	}
	w.advance(5 * time.Minute)
	w.run(m, scheduled)
	if pub := w.published(); len(pub) != 0 {
		t.Errorf("a later run published %+v", pub)
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
// (run 2: no decision), FAILED again with SNS's answer lost again (run 3), then run 4. The
// 404 must not erase the attempt: at most one repeat, two copies in all.
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
	w.run(m, scheduled) // its one repeat, unconfirmed again: marked sent
	copies += len(w.published())
	w.advance(5 * time.Minute)
	w.publishErr = nil
	w.run(m, scheduled)
	copies += len(w.published())
	if copies != 2 {
		t.Errorf("FAILED handed to SNS %d times, want 2 (the first and its one repeat)", copies)
	}
}
