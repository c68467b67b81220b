package monitor

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/phonewatch/phonewatch/internal/status"
)

// pool is what gather found: every number the run knows of, with its record, and the reads
// of CloudTrail under way.
type pool struct {
	byID map[string]*item
	ids  []string // byID's keys, in the order the numbers were found
	// retired are the records of numbers gone and reported: watched again only if claimed
	// again. invalid are the IDs whose record is not in phonewatch's format.
	retired map[string]*status.Record
	invalid map[string]bool
	// needy are the items whose rules need the look-back's operations (lookBackFrom).
	needy map[string]*item
	ops   *opsRead
}

// add adds a number (by ref, an ID or ARN) or completes what is known of it, and returns it.
func (p *pool) add(n status.Number, ref string) *item {
	id := IDOf(ref)
	if n.ID != "" {
		id = n.ID
	}
	it, ok := p.byID[id]
	if !ok {
		it = &item{id: id, ref: id}
		p.byID[id] = it
		p.ids = append(p.ids, id)
	}
	if strings.HasPrefix(ref, "arn:") {
		it.ref = ref
	}
	if n.ARN != "" {
		it.ref = n.ARN
	}
	if n.ID != "" {
		it.num = n
	}
	return it
}

// items returns the numbers in the order they were found.
func (p *pool) items() []*item {
	out := make([]*item, 0, len(p.ids))
	for _, id := range p.ids {
		out = append(out, p.byID[id])
	}
	return out
}

// gather decides which numbers this run checks and loads their records, and starts reading
// CloudTrail as far back as they need: the read goes on beside the describes, and check gives
// the operations to the items once it returns (mergeOps).
func (r *run) gather(ctx context.Context, scope Scope) (*pool, error) {
	p := &pool{byID: map[string]*item{}, retired: map[string]*status.Record{}, invalid: map[string]bool{}}
	add := func(n status.Number, ref string) { p.add(n, ref) }

	targets, refs := scope.TargetARNs, scope.PhoneNumberIDs
	if scope.Scheduled {
		targets, refs = r.Targets, r.PhoneNumberIDs
	}
	if scope.Scheduled || len(targets) > 0 {
		lctx, cancel := ctx, context.CancelFunc(func() {})
		if dl, ok := ctx.Deadline(); ok {
			// Listing may take half the time left at most, so that a slow or hung Connect
			// still leaves time to check the numbers already in state.
			lctx, cancel = context.WithDeadline(ctx, time.Now().Add(time.Until(dl)/2))
		}
		for _, n := range r.list(lctx, targets, scope.Scheduled) {
			p.add(n, n.ARN).listed = true
		}
		cancel()
	}
	for _, ref := range refs {
		add(status.Number{}, ref)
	}

	var recs []status.Record
	var err error
	if scope.Scheduled {
		recs, err = r.read(ctx, r.Store.All)
	} else if len(p.ids) > 0 {
		recs, err = r.read(ctx, func(ctx context.Context) ([]status.Record, error) { return r.Store.Get(ctx, p.ids) })
	}
	if err != nil {
		r.log().ErrorContext(ctx, "reading state failed", "error", err)
		return nil, fmt.Errorf("read state: %w", err)
	}
	clamped := 0
	defer func() {
		if clamped > 0 {
			r.log().WarnContext(ctx, "records stamped later than this run's clock; their future times are ignored",
				"records", clamped, "now", r.now())
		}
	}()
	for i := range recs {
		rec := &recs[i]
		if reason := r.invalidRecord(rec); reason != nil {
			r.reportInvalid(ctx, rec.ID, reason)
			p.invalid[rec.ID] = true
			if it, ok := p.byID[rec.ID]; ok {
				it.invalid = true
			}
			continue
		}
		// A record stamped ahead of this run's clock (a host whose clock ran fast) is brought
		// back to it: neither invalid nor a bound from the future (status.Record.Clamp).
		if rec.Clamp(r.now(), r.Policy) {
			clamped++
		}
		it, ok := p.byID[rec.ID]
		if !ok {
			if rec.Retired() {
				p.retired[rec.ID] = rec // gone and reported: watched again only if claimed again
				continue
			}
			it = p.add(rec.Number, rec.ARN)
		}
		it.prev = rec
		it.op, it.release = rec.Operation, rec.Release
		if rec.ARN != "" && !strings.HasPrefix(it.ref, "arn:") {
			it.ref = rec.ARN
		}
	}
	// Numbers whose rules need older operations than the recent read get them, read with it,
	// beside the describes.
	var from time.Time
	from, p.needy = r.lookBackFrom(p.byID)
	p.ops = r.startLookup(ctx, from)
	return p, nil
}

// list lists the targets (the whole account and Region when a scheduled run has none). A
// target that cannot be listed is a summary error; the run goes on with the rest and with
// the numbers already in state.
func (r *run) list(ctx context.Context, targets []string, scheduled bool) []status.Number {
	if len(targets) == 0 {
		if !scheduled {
			return nil
		}
		ns, err := r.Source.List(ctx, nil)
		if err != nil {
			r.log().ErrorContext(ctx, "listing the account's numbers failed", "error", err)
			r.addError("", fmt.Errorf("list: %w", err))
			r.listErrs = append(r.listErrs, err)
		}
		return ns
	}
	var all []status.Number
	for _, t := range targets {
		ns, err := r.Source.List(ctx, []string{t})
		if err != nil {
			r.log().ErrorContext(ctx, "listing a target failed", "targetArn", t, "error", err)
			r.addError(t, fmt.Errorf("list: %w", err))
			r.listErrs = append(r.listErrs, err)
			continue
		}
		all = append(all, ns...)
	}
	return all
}

// IDOf returns the phone number ID of an ID or a phone-number ARN (its last path element).
func IDOf(ref string) string {
	if i := strings.LastIndex(ref, "/"); strings.HasPrefix(ref, "arn:") && i >= 0 {
		return ref[i+1:]
	}
	return ref
}

// class is why a run describes a number; it orders the work (lowest first).
type class int

const (
	// classTouched: an operation newer than the record's was read (or a claim of a number
	// not yet watched): the only way a CLAIMED number can turn FAILED.
	classTouched class = iota
	// classOwing: FAILED or IN_PROGRESS at its last check, or its record owes something (an
	// episode, a claim, an unconfirmed 404, a publish people may already have).
	classOwing
	// classNew: no record yet, or named by a check request.
	classNew
	// classSweep: its last check is older than SweepEvery.
	classSweep
	// classUnchanged: none of the above; not described this run.
	classUnchanged
)

// selectItems keeps the items this run describes, in the order it describes them, and counts
// the ones left alone as unchanged. Numbers whose record is not in phonewatch's format are
// left out (reported in gather). A check request describes everything it names. With
// pending true (the CloudTrail read not in yet), the numbers that would be left alone
// are held instead, neither described nor counted: the read may show them touched
// (release).
func (r *run) selectItems(items []*item, scheduled, pending bool) (out, held []*item) {
	now := r.now()
	out = make([]*item, 0, len(items))
	for _, it := range items {
		if it.invalid {
			continue
		}
		it.class = r.classify(it, now, scheduled)
		switch {
		case it.class != classUnchanged:
			out = append(out, it)
		case pending:
			held = append(held, it)
		default:
			r.sum.Unchanged++
		}
	}
	order(out)
	return out, held
}

// release returns the held items that the operations read since show touched, and counts
// the others as unchanged.
func (r *run) release(held []*item) []*item {
	var out []*item
	for _, it := range held {
		if it.touched {
			it.class = classTouched
			out = append(out, it)
			continue
		}
		r.sum.Unchanged++
	}
	return out
}

func (r *run) classify(it *item, now time.Time, scheduled bool) class {
	p := it.prev
	switch {
	case it.touched:
		return classTouched
	case owing(p):
		return classOwing
	case p == nil || !scheduled:
		return classNew
	case r.SweepEvery <= 0 || !p.CheckedAt.After(now.Add(-r.SweepEvery)):
		return classSweep
	default:
		return classUnchanged
	}
}

// owing reports whether a record's number must be described every run: FAILED or
// IN_PROGRESS at its last check, or a record that still owes a notification or a
// confirmation.
func owing(p *status.Record) bool {
	return p != nil && (p.Status == status.Failed || p.Status == status.InProgress || p.Episode != nil ||
		p.ClaimedBy != "" || !p.NotFoundAt.IsZero() || len(p.Attempted) > 0)
}

// order sorts by class, then by last check, oldest (never checked) first, so that a run that
// must stop early still covers the touched and urgent ones and consecutive partial runs
// sweep every number.
func order(items []*item) {
	checked := func(it *item) time.Time {
		if it.prev == nil {
			return time.Time{}
		}
		return it.prev.CheckedAt
	}
	slices.SortStableFunc(items, func(a, b *item) int {
		if a.class != b.class {
			return int(a.class) - int(b.class)
		}
		return checked(a).Compare(checked(b))
	})
}
