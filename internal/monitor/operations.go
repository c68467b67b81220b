package monitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/phonewatch/phonewatch/internal/status"
)

// lookupShare is the share of the time a run has left, once it knows its numbers, that
// reading CloudTrail may take: the touched numbers are described only once the read returns,
// so it must leave most of the run to describing them.
const lookupShare = 3

// opsRead is this run's reading of CloudTrail, beside the describes: one read, in the
// background, of the recent operations (from the cursor less the overlap) and, when some
// number needs it, of the older ones of its look-back (lookBackFrom) with them. One read of
// both ranges costs one series of lookups (one per operation name when CloudTrail has fewer
// than 50 of each, as it usually has), where a recent read and a look-back read cost two.
// Its fields are set when done is closed; done is nil when CloudTrail is off.
type opsRead struct {
	r    *run
	done chan struct{}
	// recent are the operations from the recent read's start on, older those of the
	// look-back before it; to is where the read ends (meaningful only when err is nil).
	recent, older []status.Operation
	to            time.Time
	err           error
}

// startLookup starts reading the operations since the cursor (and, with lookBack not zero,
// from lookBack) in the background. A failure (AccessDenied, throttling, an outage, the time
// share spent) is one summary error naming cloudtrail:LookupEvents, and the run goes on with
// what was read and the operations the records already know: degrade, never fail.
func (r *run) startLookup(ctx context.Context, lookBack time.Time) *opsRead {
	o := &opsRead{r: r}
	if r.Operations == nil {
		return o
	}
	o.done = make(chan struct{})
	lctx, cancel := ctx, context.CancelFunc(func() {})
	if dl, ok := ctx.Deadline(); ok {
		// The cursor's read too: the decisions wait for all of it.
		lctx, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(dl)/lookupShare))
	}
	go func() {
		defer close(o.done)
		defer cancel()
		from, to := r.lookupRange(lctx)
		start := from
		if !lookBack.IsZero() && lookBack.Before(from) {
			start = lookBack
		}
		ops, err := r.Operations.Lookup(lctx, start, to)
		for _, op := range ops {
			if op.At.Before(from) {
				o.older = append(o.older, op)
			} else {
				o.recent = append(o.recent, op)
			}
		}
		o.to, o.err = to, err
	}()
	return o
}

// in returns a channel closed when the read has ended (at once when there is none).
func (o *opsRead) in() <-chan struct{} {
	if o.done == nil {
		return closed
	}
	return o.done
}

// closed is a channel that is always closed.
var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// report puts the read's outcome in the summary, once it ended: the operations read, the
// cursor's new end when the read was complete, and a failure as one error.
func (o *opsRead) report(ctx context.Context) {
	if o.done == nil {
		return
	}
	<-o.done
	r := o.r
	r.sum.Operations = len(o.recent) + len(o.older)
	if o.err == nil {
		r.opsTo = o.to
		return
	}
	r.sum.OperationsFailed = true
	r.log().ErrorContext(ctx, "reading operations from CloudTrail failed; going on without them", "error", o.err)
	r.addError("", fmt.Errorf("cloudtrail:LookupEvents: %w (the run goes on with the operations "+
		"already known)", o.err))
}

// lookupRange is the recent read: from the cursor less the overlap (CloudTrail's delivery
// delay) to now. The first read, or one after a long pause, looks back one retry window and
// an hour: older calls cannot bound an open deadline.
func (r *run) lookupRange(ctx context.Context) (from, to time.Time) {
	to = r.now()
	earliest := r.lookBackLimit(to)
	from = earliest
	if r.Cursor != nil {
		cctx, cancel := r.attemptCtx(ctx, 0)
		c, err := r.Cursor.Cursor(cctx)
		cancel()
		switch {
		case err != nil:
			r.log().WarnContext(ctx, "reading the operations cursor failed; reading a whole window", "error", err)
		case !c.IsZero():
			// A cursor later than this run's clock (set by a host whose clock ran ahead) is
			// taken as now: events up to now are read, and none is skipped for it.
			c = earlier(c, to)
			from = c.Add(-r.overlap(c, to))
		}
	}
	if from.Before(earliest) {
		from = earliest
	}
	return from, to
}

// overlap is how far before the cursor c a read ending at to starts again. Usually
// OperationsOverlap (15 minutes): CloudTrail shows most calls within 5. An event that appears
// later than that (it happens, rarely, by hours) is not read by the next runs: for a CLAIMED
// number, whose record asks for no look-back, an UpdatePhoneNumber that failed would then be
// found only by the sweep, up to SweepEvery after the number's last check. So a run whose read
// crosses a multiple of SweepEvery/4 (multiples of the time itself: every run agrees without
// keeping anything; one run in three on the 5-minute schedule with the default hour) reads
// SweepEvery back instead, and such an event marks its number touched at most SweepEvery/4
// after it appears, ahead of the sweep. An event later than SweepEvery needs no reading: the
// sweep has described the number since the call. The cost is counted in lookups: CloudTrail
// answers 50 events a page, so while an account makes fewer than 50 calls of each operation
// in SweepEvery and a run period, the deeper read costs the same lookups as the usual one
// (one per operation name: TestLateEventReReadCost); a busier account pays for the extra
// pages on one run in three only. SweepEvery zero (every number described every run) needs
// no deeper read.
func (r *run) overlap(c, to time.Time) time.Duration {
	d := orDefault(r.OperationsOverlap, DefaultOperationsOverlap)
	if late := r.SweepEvery; late > d && to.Truncate(late/4).After(c) {
		return late
	}
	return d
}

// lookBackLimit is the oldest time any rule reads operations from: one retry window and an
// hour before now. An older call cannot bound a deadline that is still ahead.
func (r *run) lookBackLimit(now time.Time) time.Time {
	return now.Add(-r.Policy.RetryWindow - time.Hour)
}

// lookBackFrom is where this run must read operations from for the numbers whose rules need
// more than the recent read (zero: none does): a newly watched number (no record yet) gets
// the whole look-back, so that a claim from hours ago bounds its deadline; a number FAILED or
// IN_PROGRESS without a known operation gets it from its last CLAIMED check (a call after it
// is the one that failed); an open episode that a late event can still tighten (no operation
// basis yet, not a retry, deadline ahead) gets it from its last not-FAILED check. All of it
// at most one retry window and an hour back. It returns the items that need it too: the
// look-back's operations are given to them only, so that an old call never surprises a number
// whose rules did not ask for it.
func (r *run) lookBackFrom(items map[string]*item) (time.Time, map[string]*item) {
	now := r.now()
	limit := r.lookBackLimit(now)
	var from time.Time
	needy := map[string]*item{}
	for id, it := range items {
		if it.invalid {
			continue
		}
		t, ok := needsLookBack(it.prev, now)
		if !ok {
			continue
		}
		if t.Before(limit) {
			t = limit
		}
		if from.IsZero() || t.Before(from) {
			from = t
		}
		needy[id] = it
	}
	return from, needy
}

// needsLookBack reports whether the number of record p needs operations older than the
// recent read, and from when.
func needsLookBack(p *status.Record, now time.Time) (time.Time, bool) {
	switch {
	case p == nil || p.Status == "":
		return time.Time{}, true
	case (p.Status == status.Failed || p.Status == status.InProgress) && p.Operation == nil:
		return p.LastClaimedAt, true
	}
	if e := p.Episode; e.Open() && e.Basis != status.BasisOperation && e.Retries == 0 && e.Deadline.After(now) {
		return p.NotFailedAt, true
	}
	return time.Time{}, false
}

// claimedNumbers returns the numbers of ClaimPhoneNumber calls that no item stands for yet
// and that are in the configured scope (no targets, or the claim's target is one of them):
// watched from their claim, so that a claim that fails is seen by the very next run. Numbers
// whose record is not in our format stay out, and so does a gone number's claim that its
// record already knows (the overlap reads it again).
func (r *run) claimedNumbers(ops []status.Operation, byID map[string]*item, invalid map[string]bool,
	retired map[string]*status.Record) []status.Number {
	idx := index(byID)
	var out []status.Number
	seen := map[string]bool{}
	for _, op := range ops {
		id := op.PhoneNumberID
		if id == "" && op.PhoneNumberARN != "" {
			id = IDOf(op.PhoneNumberARN)
		}
		if op.Name != status.OpClaim || id == "" || idx.find(&op) != nil || seen[id] || invalid[id] {
			continue
		}
		if rec := retired[id]; rec != nil && (!op.Newer(rec.Operation) || !op.Newer(rec.Release)) {
			continue // a claim the record of the gone number already knows: read again, not new
		}
		if len(r.Targets) > 0 && !slices.Contains(r.Targets, op.TargetARN) {
			continue
		}
		seen[id] = true
		out = append(out, status.Number{ID: id, ARN: op.PhoneNumberARN, E164: op.E164, TargetARN: op.TargetARN})
	}
	return out
}

// merge gives the items the operations read (once the read ended): the recent ones to every
// item, the look-back's older ones only to the items that asked for it (so that an old call
// never surprises a number whose rules did not), marking those with one newer than their
// record's touched. A scheduled run also watches, from their claim, the numbers claimed
// recently that it did not know of (claimedNumbers); it returns them.
func (r *run) mergeOps(p *pool, scheduled bool) (claimed []*item) {
	o := p.ops
	if scheduled {
		for _, n := range r.claimedNumbers(o.recent, p.byID, p.invalid, p.retired) {
			it := p.add(n, n.ARN)
			if it.prev = p.retired[n.ID]; it.prev != nil {
				it.op, it.release = it.prev.Operation, it.prev.Release
			}
			claimed = append(claimed, it)
		}
	}
	attachMore(o.recent, p.byID)
	attachMore(o.older, p.needy)
	return claimed
}

// attachMore gives the items the operations of ops that are newer than the ones they have.
func attachMore(ops []status.Operation, byID map[string]*item) {
	idx := index(byID)
	for i := range ops {
		op := &ops[i]
		it := idx.find(op)
		if it == nil {
			continue
		}
		if op.Name == status.OpRelease {
			if op.Newer(it.release) {
				it.release, it.touched = op, true
			}
			continue
		}
		if op.Newer(it.op) {
			it.op, it.touched = op, true
		}
	}
}

// numberIndex finds an item by the number's ID, ARN or E.164 number: a claim's request names
// only the E.164 number.
type numberIndex struct{ byID, byARN, byE164 map[string]*item }

func index(byID map[string]*item) numberIndex {
	x := numberIndex{byID: byID, byARN: map[string]*item{}, byE164: map[string]*item{}}
	for _, it := range byID {
		for _, n := range []status.Number{it.num, numberOf(it.prev)} {
			if n.ARN != "" {
				x.byARN[n.ARN] = it
			}
			if n.E164 != "" {
				x.byE164[n.E164] = it
			}
		}
	}
	return x
}

func numberOf(r *status.Record) status.Number {
	if r == nil {
		return status.Number{}
	}
	return r.Number
}

func (x numberIndex) find(op *status.Operation) *item {
	if op.PhoneNumberID != "" {
		// The ID is the number's identity: an E.164 number or ARN that an older record
		// shares (a number released and claimed again under a new ID) must not stand in.
		return x.byID[op.PhoneNumberID]
	}
	if op.PhoneNumberARN != "" {
		if it, ok := x.byARN[op.PhoneNumberARN]; ok {
			return it
		}
		if it, ok := x.byID[IDOf(op.PhoneNumberARN)]; ok {
			return it
		}
	}
	if op.E164 != "" {
		return x.byE164[op.E164]
	}
	return nil
}

// withOperations adds to an observation at `at` the newest operations known for the item at
// or before it.
func (it *item) withOperations(o status.Observation) status.Observation {
	if it.op != nil && !it.op.At.After(o.At) {
		o.Operation = it.op
	}
	if it.release != nil && !it.release.At.After(o.At) && it.release.Newer(o.Operation) {
		o.Release = it.release
	}
	return o
}

// advanceCursor moves the cursor to where this scheduled run's complete read of CloudTrail
// ended, once every touched number was checked and saved: a touched number left for the
// next run must be found touched again, so its operation must be read again.
func (r *run) advanceCursor(ctx context.Context, items []*item, scheduled, saved bool) {
	if !scheduled || !saved || r.Cursor == nil || r.opsTo.IsZero() {
		return
	}
	// A touched number not checked and saved this run holds the cursor at its operation, so
	// the next run reads that operation again and finds the number touched; the cursor still
	// moves up to it, so one number that keeps failing does not grow every run's read.
	to := r.opsTo
	for _, it := range items {
		if it.touched && (!it.done || it.skipped || it.err != nil || !it.saved) {
			to = earliest(to, it.op, it.release)
		}
	}
	cctx, cancel := r.attemptCtx(ctx, 0)
	defer cancel()
	switch err := r.Cursor.SetCursor(cctx, to); {
	case errors.Is(err, ErrCursorReplaced):
		// Healed, once: people should know a hand edit or a clock far ahead was undone.
		r.addError("", fmt.Errorf("cloudtrail cursor: %w", err))
	case err != nil:
		// Harmless: the next run reads these operations again.
		r.log().WarnContext(ctx, "saving the operations cursor failed", "error", err)
	}
}

// earliest is t, or the time of the earliest of ops when one is before t.
func earliest(t time.Time, ops ...*status.Operation) time.Time {
	for _, op := range ops {
		if op != nil && op.At.Before(t) {
			t = op.At
		}
	}
	return t
}

// earlier is the earlier of two times.
func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
