package monitor

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/phonewatch/phonewatch/internal/status"
)

// gather decides which numbers this run checks and loads their records.
func (r *run) gather(ctx context.Context, scope Scope) ([]*item, error) {
	byID := map[string]*item{}
	var ids []string
	add := func(n status.Number, ref string) {
		id := IDOf(ref)
		if n.ID != "" {
			id = n.ID
		}
		it, ok := byID[id]
		if !ok {
			it = &item{id: id, ref: id}
			byID[id] = it
			ids = append(ids, id)
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
	}

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
			add(n, n.ARN)
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
	} else if len(ids) > 0 {
		recs, err = r.read(ctx, func(ctx context.Context) ([]status.Record, error) { return r.Store.Get(ctx, ids) })
	}
	if err != nil {
		r.log().ErrorContext(ctx, "reading state failed", "error", err)
		return nil, fmt.Errorf("read state: %w", err)
	}
	for i := range recs {
		rec := &recs[i]
		it, ok := byID[rec.ID]
		if !ok {
			if rec.Retired() {
				continue // gone and reported: nothing more to watch
			}
			add(rec.Number, rec.ARN)
			it = byID[rec.ID]
		}
		it.prev = rec
		if rec.ARN != "" && !strings.HasPrefix(it.ref, "arn:") {
			it.ref = rec.ARN
		}
	}
	items := make([]*item, 0, len(ids))
	for _, id := range ids {
		items = append(items, byID[id])
	}
	return items, nil
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
		}
		return ns
	}
	var all []status.Number
	for _, t := range targets {
		ns, err := r.Source.List(ctx, []string{t})
		if err != nil {
			r.log().ErrorContext(ctx, "listing a target failed", "targetArn", t, "error", err)
			r.addError(t, fmt.Errorf("list: %w", err))
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

// order puts first the numbers whose deadlines matter (FAILED or IN_PROGRESS, or owing a
// notification), then the ones checked longest ago (never checked first), so that a run that
// must stop early still covers the urgent ones and consecutive partial runs cover every number.
func order(items []*item) {
	urgent := func(it *item) bool {
		r := it.prev
		return r != nil && (r.Status == status.Failed || r.Status == status.InProgress || r.Episode != nil ||
			r.ClaimedBy != "")
	}
	checked := func(it *item) time.Time {
		if it.prev == nil {
			return time.Time{}
		}
		return it.prev.CheckedAt
	}
	slices.SortStableFunc(items, func(a, b *item) int {
		if ua, ub := urgent(a), urgent(b); ua != ub {
			if ua {
				return -1
			}
			return 1
		}
		return checked(a).Compare(checked(b))
	})
}
