package monitor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/phonewatch/phonewatch/internal/status"
)

// storeAttempts is how many times a state read or write is tried (each attempt already
// includes the SDK's own retries of throttling and 5xx answers), while time is left.
const storeAttempts = 4

// persist claims the records that have notifications to send, publishes the notifications of
// the claims this run won, and saves every decided record: the marked claims first, then
// the rest. It returns the error of a state write that failed after retries.
func (r *run) persist(ctx context.Context, items []*item) error {
	var claims, quiet []*item
	for _, it := range items {
		if !it.done || it.skipped {
			continue
		}
		if len(it.notes) > 0 {
			claims = append(claims, it)
		} else {
			quiet = append(quiet, it)
		}
	}

	var errs []error
	var won []*item
	if len(claims) > 0 {
		// Claim first: of two overlapping runs only the one whose conditional write wins
		// publishes, and others leave the record alone until the claim is released or expires.
		// The claim also notes what this run is about to publish: should the run die before
		// its mark write, people may have it, so RECOVERED is owed should the episode end
		// before a later run sends it again.
		until := r.now().Add(r.claimFor(ctx))
		for _, it := range claims {
			it.next.ClaimedBy, it.next.ClaimUntil = r.id, until
			for _, n := range it.notes {
				it.next.NoteAttempted(n.ID)
			}
		}
		var err error
		var failed []*item
		won, failed, err = r.save(ctx, "claim", claims)
		if err != nil {
			errs = append(errs, err)
			for _, it := range failed {
				r.addError(it.id, fmt.Errorf("not notified this run, a later run retries: claim: %w", err))
			}
		}
		for _, it := range won {
			it.next.Version++ // the claim is stored
		}
		r.publish(ctx, won, len(won)+len(quiet))
	}

	// One write marks what was delivered and releases the claims. Should it be lost, the
	// claims expire and a later run sends the notifications again, with the same IDs.
	stored, failed, err := r.save(ctx, "state", append(won, quiet...))
	for _, it := range stored {
		it.saved = true
	}
	if err != nil {
		errs = append(errs, err)
		// Each unsaved number is named (so the Errors metric counts it), and the run is not
		// complete: the next run checks and saves it again.
		r.sum.Complete = false
		for _, it := range failed {
			if it.sent > 0 {
				r.addError(it.id, fmt.Errorf("notified, but marking it sent failed; once its claim expires a "+
					"later run sends it again with the same notificationId: %w", err))
			} else {
				r.addError(it.id, fmt.Errorf("state not saved, the next run checks it again: %w", err))
			}
		}
	}
	if len(errs) > 0 {
		r.sum.Complete = false
	}
	return errors.Join(errs...)
}

// publish sends the notifications of the claimed items, marks each delivered one in its
// record, and releases the claims. Publishing ends in time to save n records afterwards.
func (r *run) publish(ctx context.Context, claimed []*item, n int) {
	var notes []status.Notification
	for _, it := range claimed {
		notes = append(notes, it.notes...)
	}
	if len(notes) > 0 {
		pubCtx, cancel := ctx, context.CancelFunc(func() {})
		if dl, ok := ctx.Deadline(); ok {
			keep := r.reserve/2 + time.Duration(n)*r.perRecord()
			pubCtx, cancel = context.WithDeadline(ctx, dl.Add(-keep))
		}
		errs := r.Publisher.Publish(pubCtx, notes)
		cancel()
		i := 0
		for _, it := range claimed {
			for _, note := range it.notes {
				err := errors.New("the publisher returned no result for it")
				if i < len(errs) {
					err = errs[i]
				}
				i++
				r.settle(ctx, it, note, err)
			}
		}
	}
	for _, it := range claimed {
		it.next.ClaimedBy, it.next.ClaimUntil = "", time.Time{}
	}
}

// settle records one publish's outcome in the item's next record. Confirmed: marked sent.
// Anything else is not marked, so the next run decides it again and sends it with the same
// notificationId (DESIGN.md, Delivery): nothing is lost, and a copy needs an unanswered
// attempt (at most one a run). Unconfirmed (no answer: SNS may have accepted it): it stays
// noted as attempted and counts in the summary's unconfirmed publishes. Refused (SNS's error
// answer): the attempt delivered nothing, so it is forgotten unless an earlier one may have
// delivered it.
func (r *run) settle(ctx context.Context, it *item, n status.Notification, err error) {
	switch {
	case err == nil:
		it.next.MarkSent(n) // which also ends its attempt
		it.sent++
		r.sum.NotificationsSent++
		return
	case errors.Is(err, status.ErrUnconfirmed):
		r.sum.Unconfirmed++
		err = fmt.Errorf("publish %s unconfirmed: it may have been delivered; the next run sends it again "+
			"with the same notificationId: %w", n.Event, err)
	default:
		if it.prev == nil || !it.prev.WasAttempted(n.ID) {
			it.next.ForgetAttempted(n.ID)
		}
		err = fmt.Errorf("publish %s, the next run retries: %w", n.Event, err)
	}
	r.addError(it.id, err)
	r.log().ErrorContext(ctx, "publish not confirmed", "phoneNumberId", it.id, "event", n.Event,
		"notificationId", n.ID, "error", err)
}

// claimFor is how long a claim holds: past the end of this invocation (it cannot publish
// later than that: every run has a deadline, see Monitor.bound), plus slack for clock skew,
// so that no overlapping run publishes the same notification meanwhile. The deadline is
// wall-clock time, so the duration is measured in it.
func (r *run) claimFor(ctx context.Context) time.Duration {
	dl, _ := ctx.Deadline()
	return time.Until(dl) + claimSlack
}

// save writes the items' next records and returns the items now stored and, with an error,
// those whose write failed, each in order. A record another run changed first is in neither:
// it is left to that run (logged, not an error). When the outcome of
// a write is in doubt (an error, or a conflict that may be this run's own earlier attempt
// landing unseen), the records are read back to tell this run's writes from another's;
// records still unwritten are tried again, with backoff, while time is left.
func (r *run) save(ctx context.Context, what string, items []*item) (stored, failed []*item, err error) {
	pending := items
	done := map[*item]bool{}
	var lastErr error
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > 0 && (attempt == storeAttempts || !pauseBeforeRetry(ctx, attempt)) {
			break
		}
		recs := make([]status.Record, len(pending))
		for i, it := range pending {
			recs[i] = it.next
		}
		actx, cancel := r.attemptCtx(ctx, len(recs))
		conflicts, serr := r.Store.Save(actx, recs)
		cancel()
		doubt := pending
		if serr == nil {
			conflicted := map[string]bool{}
			for _, id := range conflicts {
				conflicted[id] = true
			}
			doubt = nil
			for _, it := range pending {
				if conflicted[it.id] {
					doubt = append(doubt, it)
				} else {
					done[it] = true
				}
			}
		} else {
			lastErr = serr
			r.log().WarnContext(ctx, "saving state failed; checking what was written", "what", what,
				"attempt", attempt+1, "error", serr)
		}
		if len(doubt) == 0 {
			pending = nil
			break
		}
		pending = nil
		got, gerr := r.readBack(ctx, doubt)
		if gerr != nil {
			lastErr = errors.Join(lastErr, gerr)
			pending = doubt // Save again: a record already written comes back as a conflict
			continue
		}
		for _, it := range doubt {
			cur, ok := got[it.id]
			switch {
			case ok && written(cur, it.next):
				done[it] = true
			case serr != nil && unchanged(cur, ok, it.next):
				pending = append(pending, it)
			default:
				r.log().InfoContext(ctx, "state changed by an overlapping run; leaving this number to it",
					"phoneNumberId", it.id, "what", what)
			}
		}
	}
	for _, it := range items {
		if done[it] {
			stored = append(stored, it)
		}
	}
	if len(pending) > 0 {
		r.log().ErrorContext(ctx, "saving state failed", "what", what, "records", len(pending), "error", lastErr)
		return stored, pending, fmt.Errorf("save %s of %d numbers: %w", what, len(pending), lastErr)
	}
	return stored, nil, nil
}

// readBack returns the stored records of these items, by ID.
func (r *run) readBack(ctx context.Context, items []*item) (map[string]status.Record, error) {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.id
	}
	actx, cancel := r.attemptCtx(ctx, len(ids))
	defer cancel()
	recs, err := r.Store.Get(actx, ids)
	if err != nil {
		return nil, fmt.Errorf("read back: %w", err)
	}
	got := make(map[string]status.Record, len(recs))
	for _, rec := range recs {
		got[rec.ID] = rec
	}
	return got, nil
}

// written reports whether cur is rec as this run wrote it: one version on, from the same
// check (no other run has an observation at the same instant), with the same claim.
func written(cur, rec status.Record) bool {
	return cur.Version == rec.Version+1 && cur.CheckedAt.Equal(rec.CheckedAt) &&
		cur.ClaimedBy == rec.ClaimedBy && cur.ClaimUntil.Equal(rec.ClaimUntil)
}

// unchanged reports whether the store still holds the version rec was based on, so that
// writing rec may simply be tried again.
func unchanged(cur status.Record, ok bool, rec status.Record) bool {
	if !ok {
		return rec.Version == 0
	}
	return cur.Version == rec.Version
}

// read runs a state read, trying again with backoff while time is left. The first read's
// latency teaches the run what its writes will cost (see learn).
func (r *run) read(ctx context.Context, get func(context.Context) ([]status.Record, error)) ([]status.Record, error) {
	var errs []error
	start := time.Now()
	for attempt := 0; attempt < storeAttempts; attempt++ {
		if attempt > 0 && !pauseBeforeRetry(ctx, attempt) {
			break
		}
		actx, cancel := r.attemptCtx(ctx, 0)
		recs, err := get(actx)
		cancel()
		if err == nil {
			r.learn(time.Since(start), len(recs))
			return recs, nil
		}
		errs = append(errs, err)
		r.log().WarnContext(ctx, "reading state failed", "attempt", attempt+1, "error", err)
	}
	return nil, errors.Join(errs...)
}

// attemptCtx bounds one store call about n records by StoreTimeout plus the per-record
// reserve for each record: a large save is many transactions, and should not be cut for
// being large.
func (r *run) attemptCtx(ctx context.Context, n int) (context.Context, context.CancelFunc) {
	d := orDefault(r.StoreTimeout, DefaultStoreTimeout) + time.Duration(n)*r.perRecord()
	return context.WithTimeout(ctx, d)
}

// Assumptions of learn: a read call returns up to readPerCall records (a Scan page of 1 MB
// holds about a thousand records of about 1 KB; BatchGetItem, at most 100 keys, is counted the
// same, which errs towards a larger reserve), and one write call (a TransactWriteItems of up to
// 100 records) costs writeCallsPerRead read calls: a transaction's two phases, and one retry.
const (
	readPerCall       = 1000
	writeChunk        = 100
	writeCallsPerRead = 3
)

// learn sets the run's per-record save reserve from its first state read: d for n records.
// A slow or throttled table (whose read the SDK retried) reserves more time to save; a fast
// one never less than DefaultReservePerRecord.
func (r *run) learn(d time.Duration, n int) {
	if r.learned != 0 {
		return
	}
	calls := max(1, (n+readPerCall-1)/readPerCall)
	r.learned = max(DefaultReservePerRecord, d/time.Duration(calls)*writeCallsPerRead/writeChunk)
}

// perRecord is the finish reserve kept for saving each record: ReservePerRecord when set,
// else what the run learned from its first read (DefaultReservePerRecord before it).
func (r *run) perRecord() time.Duration {
	if r.ReservePerRecord != 0 {
		return r.ReservePerRecord
	}
	return orDefault(r.learned, DefaultReservePerRecord)
}

// pauseBeforeRetry waits before attempt n (from 1): a random time up to 100 ms doubled with
// each attempt, at most 1 s ("full jitter", so that runs that collided do not collide again
// in step). It reports false, at once, when the wait would pass the context's deadline.
func pauseBeforeRetry(ctx context.Context, n int) bool {
	ceiling := min(100*time.Millisecond<<(n-1), time.Second)
	wait := rand.N(ceiling) + 1 //nolint:gosec // jitter, not a secret
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
		return false
	}
	return sleep(ctx, wait)
}
