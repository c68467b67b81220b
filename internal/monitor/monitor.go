// Package monitor runs one check of the watched numbers: choose them, describe each at the
// Connect rate, decide with the domain, claim, publish, mark and persist, and sum it up.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/phonewatch/phonewatch/internal/status"
)

// Monitor holds what a run needs; build it once and call Run for each invocation.
type Monitor struct {
	Source    Source
	Store     Store
	Publisher Publisher
	Policy    status.Policy
	// Targets and PhoneNumberIDs are the configured watch list (TARGET_ARNS, PHONE_NUMBER_IDS).
	Targets        []string
	PhoneNumberIDs []string
	// Now is the clock, read at every use: a warm Lambda lives for hours.
	Now func() time.Time
	// InFlight is how many describes may be under way at once; the Source paces them.
	InFlight int
	// FinishReserve is the time kept free before the context deadline to save state and
	// publish after the last check.
	FinishReserve time.Duration
	// NewRunID names a run in claims; a run never confuses its own claim with another's.
	NewRunID func() string
	Log      *slog.Logger
}

// Scope is what one run checks.
type Scope struct {
	// Scheduled: the configured targets and numbers plus every number already in state.
	Scheduled bool
	// PhoneNumberIDs (IDs or ARNs) and TargetARNs: checked now, and watched from now on.
	PhoneNumberIDs []string
	TargetARNs     []string
}

// Summary is the run summary of DESIGN.md: the handler's return value.
type Summary struct {
	Checked           int            `json:"checked"`
	Statuses          map[string]int `json:"statuses"`
	NotificationsSent int            `json:"notificationsSent"`
	Errors            []NumberError  `json:"errors"`
	Complete          bool           `json:"complete"`
	DurationMs        int64          `json:"durationMs"`

	// NearestDeadline is the earliest retry deadline of an open FAILED episode (for metrics).
	NearestDeadline time.Time `json:"-"`
}

// NumberError is one number (or target) that could not be checked or notified this run.
type NumberError struct {
	PhoneNumberID string `json:"phoneNumberId"`
	Error         string `json:"error"`
}

// item is one number to check in this run.
type item struct {
	id   string
	ref  string // what to describe: the ARN where known, else the ID
	prev *status.Record
	num  status.Number // what listing or configuration knows of it

	obs   status.Observation
	err   error
	done  bool
	next  status.Record
	notes []status.Notification
}

// Run checks the scope once. It returns an error only when no number at all could be checked
// (or state could not be read or written); per-number problems are entries in Summary.Errors.
func (m *Monitor) Run(ctx context.Context, scope Scope) (Summary, error) {
	start := m.Now()
	runID := m.NewRunID()
	sum := Summary{Statuses: map[string]int{}, Errors: []NumberError{}, Complete: true}

	items, err := m.gather(ctx, scope, &sum)
	if err != nil {
		return sum, err
	}
	order(items)
	attempted := m.check(ctx, items, &sum)

	var claims, quiet []*item
	for _, it := range items {
		if !it.done {
			continue
		}
		now := it.obs.At
		if it.prev != nil && it.prev.ClaimedByOther(runID, now) {
			continue // another run is notifying this number right now: leave it to that run
		}
		it.next, it.notes = status.Decide(it.prev, it.obs, m.Policy)
		it.next.ClaimedBy, it.next.ClaimUntil = "", time.Time{}
		if len(it.notes) > 0 {
			it.next.ClaimedBy, it.next.ClaimUntil = runID, now.Add(m.claimFor(ctx))
			claims = append(claims, it)
		} else {
			quiet = append(quiet, it)
		}
	}

	// Save first, claiming the records that have something to send: of two overlapping runs
	// only the one whose conditional write wins publishes.
	won, err := m.save(ctx, append(slices.Clone(claims), quiet...))
	if err != nil {
		return m.finish(sum, start), err
	}
	claims = slices.DeleteFunc(claims, func(it *item) bool { return !won[it.id] })

	if len(claims) > 0 {
		var notes []status.Notification
		for _, it := range claims {
			notes = append(notes, it.notes...)
		}
		errs := m.Publisher.Publish(ctx, notes)
		i := 0
		for _, it := range claims {
			for _, n := range it.notes {
				if errs[i] == nil {
					it.next.MarkSent(n)
					sum.NotificationsSent++
				} else {
					sum.Errors = append(sum.Errors, NumberError{it.id, fmt.Sprintf("publish %s: %v", n.Event, errs[i])})
					m.Log.ErrorContext(ctx, "publish failed; the next run retries", "phoneNumberId", it.id, "event", n.Event, "error", errs[i])
				}
				i++
			}
			it.next.ClaimedBy, it.next.ClaimUntil = "", time.Time{}
			it.next.Version++ // the claim was saved
		}
		// Mark what was delivered and release the claims. Should this write be lost, the
		// claim expires and a later run sends again: the one window for a repeat.
		if _, err := m.save(ctx, claims); err != nil {
			return m.finish(sum, start), err
		}
	}

	for _, it := range items {
		if !it.done {
			continue
		}
		sum.Checked++
		sum.Statuses[string(it.obs.Status)]++
		if e := it.next.Episode; e.Open() && it.next.Status == status.Failed {
			if sum.NearestDeadline.IsZero() || e.Deadline.Before(sum.NearestDeadline) {
				sum.NearestDeadline = e.Deadline
			}
		}
	}
	if sum.Checked == 0 && (attempted > 0 || len(sum.Errors) > 0) {
		return m.finish(sum, start), fmt.Errorf("no number could be checked (%d tried): %s", attempted, firstError(sum))
	}
	return m.finish(sum, start), nil
}

func (m *Monitor) finish(sum Summary, start time.Time) Summary {
	sum.DurationMs = m.Now().Sub(start).Milliseconds()
	return sum
}

func firstError(sum Summary) string {
	if len(sum.Errors) == 0 {
		return "no error recorded"
	}
	return sum.Errors[0].Error
}

// claimFor is how long a claim holds: past the end of this invocation, so that no overlapping
// run can publish the same notification while this one may still be publishing.
func (m *Monitor) claimFor(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return dl.Sub(m.Now()) + time.Minute
	}
	return 5 * time.Minute
}

// gather decides which numbers this run checks and loads their records.
func (m *Monitor) gather(ctx context.Context, scope Scope, sum *Summary) ([]*item, error) {
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
		targets, refs = m.Targets, m.PhoneNumberIDs
	}
	if scope.Scheduled || len(targets) > 0 {
		listed, err := m.list(ctx, targets, scope.Scheduled, sum)
		if err != nil {
			return nil, err
		}
		for _, n := range listed {
			add(n, n.ARN)
		}
	}
	for _, ref := range refs {
		add(status.Number{}, ref)
	}

	var recs []status.Record
	var err error
	if scope.Scheduled {
		recs, err = m.Store.All(ctx)
	} else if len(ids) > 0 {
		recs, err = m.Store.Get(ctx, ids)
	}
	if err != nil {
		m.Log.ErrorContext(ctx, "reading state failed", "error", err)
		return nil, fmt.Errorf("read state: %w", err)
	}
	for i := range recs {
		r := &recs[i]
		it, ok := byID[r.ID]
		if !ok {
			if r.Retired() {
				continue // gone and reported: nothing more to watch
			}
			add(r.Number, r.ARN)
			it = byID[r.ID]
		}
		it.prev = r
		if r.ARN != "" && !strings.HasPrefix(it.ref, "arn:") {
			it.ref = r.ARN
		}
	}
	items := make([]*item, 0, len(ids))
	for _, id := range ids {
		items = append(items, byID[id])
	}
	return items, nil
}

// list lists the targets (the whole account and Region when a scheduled run has none).
func (m *Monitor) list(ctx context.Context, targets []string, scheduled bool, sum *Summary) ([]status.Number, error) {
	if len(targets) == 0 {
		if !scheduled {
			return nil, nil
		}
		ns, err := m.Source.List(ctx, nil)
		if err != nil {
			m.Log.ErrorContext(ctx, "listing the account's numbers failed", "error", err)
			sum.Errors = append(sum.Errors, NumberError{"", fmt.Sprintf("list: %v", err)})
		}
		return ns, nil
	}
	var all []status.Number
	for _, t := range targets {
		ns, err := m.Source.List(ctx, []string{t})
		if err != nil {
			m.Log.ErrorContext(ctx, "listing a target failed", "targetArn", t, "error", err)
			sum.Errors = append(sum.Errors, NumberError{t, fmt.Sprintf("list: %v", err)})
			continue
		}
		all = append(all, ns...)
	}
	return all, nil
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
		return r != nil && (r.Status == status.Failed || r.Status == status.InProgress || r.Episode != nil)
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

// check describes the items in order, InFlight at a time, until the time budget runs out.
// It returns how many checks were attempted.
func (m *Monitor) check(ctx context.Context, items []*item, sum *Summary) int {
	checkCtx, cancel := ctx, context.CancelFunc(func() {})
	if dl, ok := ctx.Deadline(); ok {
		checkCtx, cancel = context.WithDeadline(ctx, dl.Add(-m.FinishReserve))
	}
	defer cancel()

	g := new(errgroup.Group)
	g.SetLimit(max(1, m.InFlight))
	attempted := 0
	for _, it := range items {
		if checkCtx.Err() != nil {
			break
		}
		attempted++
		g.Go(func() error {
			m.checkOne(checkCtx, it)
			return nil
		})
	}
	_ = g.Wait()

	for _, it := range items {
		switch {
		case it.done:
			if it.err != nil {
				sum.Errors = append(sum.Errors, NumberError{it.id, it.err.Error()})
			}
		case it.err == nil || (checkCtx.Err() != nil && ctx.Err() == nil && isContextErr(it.err)):
			// Not reached, or cut off by this run's own budget: the next run checks it first.
			sum.Complete = false
			if it.err != nil {
				attempted--
			}
		default:
			sum.Errors = append(sum.Errors, NumberError{it.id, it.err.Error()})
			m.Log.ErrorContext(ctx, "check failed", "phoneNumberId", it.id, "error", it.err)
		}
	}
	return attempted
}

func isContextErr(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		strings.Contains(err.Error(), "would exceed context deadline")
}

// checkOne describes and validates one number.
func (m *Monitor) checkOne(ctx context.Context, it *item) {
	sumry, err := m.Source.Describe(ctx, it.ref)
	at := m.Now().UTC()
	switch {
	case errors.Is(err, status.ErrNotFound):
		n := it.num
		if it.prev != nil {
			n = it.prev.Number
		}
		if n.ID == "" {
			n.ID = it.id
		}
		it.obs, it.done = status.Gone(n, at), true
		if it.prev == nil && it.num.ID == "" {
			// Asked for by ID but never seen: most likely a wrong ID, worth saying.
			it.err = fmt.Errorf("not found in Amazon Connect: %w", err)
		}
	case err != nil:
		it.err = err
	default:
		obs, err := status.Validate(sumry, at)
		switch {
		case err != nil:
			it.err = fmt.Errorf("invalid DescribePhoneNumber payload: %w", err)
		case obs.ID != it.id:
			it.err = fmt.Errorf("Connect answered for %s when asked for %s", status.Quote(obs.ID, 40), it.id)
		default:
			it.obs, it.done = obs, true
		}
	}
}

// save writes the items' next records and returns which were written. Items another run
// changed first are left to that run (not an error).
func (m *Monitor) save(ctx context.Context, items []*item) (map[string]bool, error) {
	won := map[string]bool{}
	if len(items) == 0 {
		return won, nil
	}
	recs := make([]status.Record, len(items))
	for i, it := range items {
		recs[i] = it.next
	}
	conflicts, err := m.Store.Save(ctx, recs)
	if err != nil {
		m.Log.ErrorContext(ctx, "saving state failed; nothing is marked sent", "error", err)
		return nil, fmt.Errorf("save state: %w", err)
	}
	for _, it := range items {
		won[it.id] = true
	}
	for _, id := range conflicts {
		won[id] = false
		m.Log.InfoContext(ctx, "state changed by an overlapping run; leaving this number to it", "phoneNumberId", id)
	}
	return won, nil
}

// HoursToNearestDeadline is for metrics: hours from now to the nearest open deadline, or NaN.
func (s Summary) HoursToNearestDeadline(now time.Time) float64 {
	if s.NearestDeadline.IsZero() {
		return math.NaN()
	}
	return s.NearestDeadline.Sub(now).Hours()
}
