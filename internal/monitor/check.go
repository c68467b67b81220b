package monitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/phonewatch/phonewatch/internal/status"
)

// errOutOfTime ends the checks still under way when the finish reserve is reached.
var errOutOfTime = errors.New("the run's time budget is spent: the rest is saved and published")

// budget is the time a run may spend checking: up to the context deadline less the finish
// reserve, which grows with the work taken on. Times here are wall-clock (the deadline's),
// not the Monitor's clock.
type budget struct {
	deadline        time.Time // zero: no deadline, no limit
	base, perRecord time.Duration
	perNote         time.Duration
	// ceiling caps the whole reserve: at most a quarter of the time the run has (or base, if
	// larger), so that a short invocation spends most of its time checking. The per-item costs
	// are generous estimates; past the ceiling, a save that does not fit is cut like any other
	// and its claims expire: the next run sends again what it could not mark (nothing lost).
	ceiling           time.Duration
	cancel            context.CancelCauseFunc // ends the checks under way
	mu                sync.Mutex
	records, notes    int // to save and to publish: finished checks' own, plus one each in flight
	timer             *time.Timer
	refused, stopping bool
}

// reserve is the finish reserve for this much work.
func (b *budget) reserve(records, notes int) time.Duration {
	r := b.base + time.Duration(records)*b.perRecord + time.Duration(notes)*b.perNote
	if b.ceiling > 0 {
		r = min(r, max(b.ceiling, b.base))
	}
	return r
}

// admit takes on one more check if the time left covers the reserve with it counted (one
// record, and, not knowing yet, one notification). It returns the latest time the check may
// end, for the Source to refuse a paced wait that would end later.
func (b *budget) admit() (time.Time, bool) {
	if b.deadline.IsZero() {
		return time.Time{}, true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.refused || b.stopping {
		return time.Time{}, false
	}
	end := b.deadline.Add(-b.reserve(b.records+1, b.notes+1))
	if !time.Now().Before(end) {
		b.stopping = true
		return time.Time{}, false
	}
	b.records++
	b.notes++
	b.rearm()
	return end, true
}

// finished settles a check's share of the reserve: its record if it produced one, and the
// notifications it actually owes.
func (b *budget) finished(record bool, notes int) {
	if b.deadline.IsZero() {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !record {
		b.records--
	}
	b.notes += notes - 1
	b.rearm()
}

// refuse records that a check could not be done in the time left (its paced wait would
// have outlasted it): no later check can be, so none is started.
func (b *budget) refuse() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refused = true
}

// over reports whether the budget stopped admitting checks.
func (b *budget) over() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.refused || b.stopping
}

// rearm sets the timer that cuts the checks under way to the current end of the check
// time; b.mu must be held.
func (b *budget) rearm() {
	b.timer.Reset(time.Until(b.deadline.Add(-b.reserve(b.records, b.notes))))
}

func (r *run) newBudget(ctx context.Context) (*budget, context.Context, func()) {
	checkCtx, cancel := context.WithCancelCause(ctx)
	b := &budget{
		base:      r.reserve,
		perRecord: r.perRecord(),
		perNote:   orDefault(r.ReservePerNotification, DefaultReservePerNotification),
		cancel:    cancel,
	}
	dl, ok := ctx.Deadline()
	if !ok {
		return b, checkCtx, func() { cancel(nil) }
	}
	b.deadline = dl
	b.ceiling = r.timeLeft / 4
	b.timer = time.AfterFunc(time.Until(dl.Add(-b.reserve(0, 0))), func() { cancel(errOutOfTime) })
	return b, checkCtx, func() { b.timer.Stop(); cancel(nil) }
}

// work is one run's describes: the queue of those not started yet, in order, and the
// described items whose decision waits for the operations still being read.
type work struct {
	mu    sync.Mutex
	queue []*item // not started yet, in order
	all   []*item // every item the run takes on: described, or left for the next run
	// opsIn: the operations were merged, no item joins the queue any more (more is then
	// closed), and a described item is decided at once.
	opsIn     bool
	more      chan struct{}
	undecided []*item // described before opsIn
}

// next returns the next item to describe, waiting while the queue is empty and the read of
// CloudTrail may still add touched numbers to it; nil when there is none (or ctx ended).
func (w *work) next(ctx context.Context) *item {
	for {
		w.mu.Lock()
		if len(w.queue) > 0 {
			it := w.queue[0]
			w.queue = w.queue[1:]
			w.mu.Unlock()
			return it
		}
		in := w.opsIn
		w.mu.Unlock()
		if in {
			return nil
		}
		select {
		case <-w.more:
		case <-ctx.Done():
			return nil
		}
	}
}

// check describes the numbers of the pool in order, InFlight at a time, while the budget
// admits them, decides each observed one, and returns the items it took on. CloudTrail is
// read beside it: the numbers described every run anyway (FAILED, IN_PROGRESS, owing, new,
// due for the sweep) start at once; those that only a recent operation makes worth describing
// join the queue, first, when the read returns; and every decision is made with the
// operations read, once they are in. Checks that the budget refused or cut are left
// for the next run (Summary.Complete false); other failures are summary errors.
func (r *run) check(ctx context.Context, p *pool, scheduled bool) []*item {
	b, checkCtx, stop := r.newBudget(ctx)
	defer stop()

	out, held := r.selectItems(p.items(), scheduled, p.ops.done != nil)
	w := &work{queue: out, all: slices.Clone(out), more: make(chan struct{})}
	merged := make(chan struct{})
	go func() {
		defer close(merged)
		r.merge(p, w, held, scheduled, b)
	}()

	// errgroup.Go waits for a free slot. An admitted check that waited past the budget starts
	// already cut (its own deadline has passed) and is left for the next run like any other.
	g := new(errgroup.Group)
	g.SetLimit(max(1, r.InFlight))
	for checkCtx.Err() == nil && !b.over() {
		it := w.next(checkCtx)
		if it == nil {
			break
		}
		end, ok := b.admit()
		if !ok {
			break
		}
		r.started++
		g.Go(func() error {
			cctx, cancel := checkCtx, context.CancelFunc(func() {})
			if !end.IsZero() {
				cctx, cancel = context.WithDeadline(checkCtx, end)
			}
			defer cancel()
			r.describe(cctx, it)
			if !it.done && isContextErr(it.err) && ctx.Err() == nil && (cctx.Err() != nil || !end.IsZero()) {
				// Not this number's failure: the run's own budget ended it.
				it.cut, it.err = true, nil
				b.refuse()
			}
			if !it.done {
				b.finished(false, 0)
				return nil
			}
			w.mu.Lock()
			if !w.opsIn {
				w.undecided = append(w.undecided, it) // decided by merge, with the operations
				w.mu.Unlock()
				return nil
			}
			w.mu.Unlock()
			r.decide(it)
			b.finished(!it.skipped, len(it.notes))
			return nil // a number's failure is recorded on it, never ends the others
		})
	}
	_ = g.Wait()
	<-merged // the read ends by its own deadline, before the checks'
	p.ops.report(ctx)

	for _, it := range w.all {
		switch {
		case it.done && it.err != nil:
			r.addError(it.id, it.err)
		case it.done:
		case it.cut || it.err == nil:
			r.sum.Complete = false // cut by the budget, or not reached: the next run checks it early
		default:
			r.addError(it.id, it.err)
			r.checkErrs = append(r.checkErrs, it.err)
			r.log().ErrorContext(ctx, "check failed", "phoneNumberId", it.id, "error", it.err)
		}
	}
	if !r.sum.Complete {
		r.log().InfoContext(ctx, "stopping early to stay inside the deadline; the next run resumes",
			"started", r.started, "numbers", len(w.all))
	}
	return w.all
}

// merge gives the items the operations once the read has ended: the touched numbers (held
// ones, and numbers claimed that the run did not know of) join the queue ahead of the rest,
// the items described meanwhile are decided, and from then on each is decided as soon as it
// is described.
func (r *run) merge(p *pool, w *work, held []*item, scheduled bool, b *budget) {
	<-p.ops.in()
	w.mu.Lock()
	now := r.now()
	claimed := r.mergeOps(p, scheduled)
	late := r.release(held)
	for _, it := range claimed {
		if it.class = r.classify(it, now, scheduled); it.class == classUnchanged {
			r.sum.Unchanged++
			continue
		}
		late = append(late, it)
	}
	for _, it := range w.queue {
		it.class = r.classify(it, now, scheduled) // touched ones go first
	}
	w.queue = append(w.queue, late...)
	w.all = append(w.all, late...)
	order(w.queue)
	w.opsIn = true
	close(w.more)
	undecided := w.undecided
	w.undecided = nil
	w.mu.Unlock()
	for _, it := range undecided {
		r.decide(it)
		b.finished(!it.skipped, len(it.notes))
	}
}

// describe describes and validates one number: it.obs (without operations: decide adds
// them) and done, or err.
func (r *run) describe(ctx context.Context, it *item) {
	// A status other than FAILED is stamped with the time before the request (its lower bound
	// of a later failure must not be late); FAILED with the time after the answer (first sight
	// + window is an upper bound, which must not be early).
	before := r.now().UTC()
	sumry, err := r.Source.Describe(ctx, it.ref)
	at := r.now().UTC()
	it.at = at
	switch {
	case errors.Is(err, status.ErrNotFound):
		n := it.num
		if it.prev != nil {
			n = it.prev.Number
		}
		if n.ID == "" {
			n.ID = it.id
		}
		gone := status.Gone(n, at)
		gone.Listed = it.listed
		it.obs, it.done = gone, true
		if it.prev == nil && it.num.ID == "" {
			// Asked for by ID but never seen: most likely a wrong ID, worth saying.
			it.err = fmt.Errorf("not found in Amazon Connect: %w", err)
		}
	case err != nil:
		it.err = err
	default:
		obs, err := status.Validate(sumry, at)
		if err == nil && obs.Status != status.Failed {
			obs.At = before
		}
		switch {
		case err != nil:
			it.err = fmt.Errorf("invalid DescribePhoneNumber payload: %w", err)
		case obs.ID != it.id:
			it.err = fmt.Errorf("describe %s: the answer is for %s", it.id, status.Quote(obs.ID, 40))
		default:
			it.obs, it.done = obs, true
		}
	}
}

// decide adds the operations known for a described number to its observation and decides it,
// unless another live run holds its record.
func (r *run) decide(it *item) {
	it.obs = it.withOperations(it.obs)
	if it.prev != nil && it.prev.ClaimedByOther(r.id, it.at) {
		it.skipped = true // that run is notifying this number right now: leave it to that run
		return
	}
	it.next, it.notes = status.Decide(it.prev, it.obs, r.Policy)
	it.next.ClaimedBy, it.next.ClaimUntil = "", time.Time{}
}
