package monitor_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/connect/connecttest"
	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/status"
	"github.com/phonewatch/phonewatch/internal/store"
)

// fakeOperations is a monitor.Operations of function fields.
type fakeOperations func(ctx context.Context, from, to time.Time) ([]status.Operation, error)

func (f fakeOperations) Lookup(ctx context.Context, from, to time.Time) ([]status.Operation, error) {
	return f(ctx, from, to)
}

// memCursor is a monitor.Cursor in memory, keeping the later time as the stores do.
type memCursor struct {
	mu   sync.Mutex
	at   time.Time
	sets int
}

func (c *memCursor) Cursor(context.Context) (time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at, nil
}

func (c *memCursor) SetCursor(_ context.Context, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sets++
	if t.After(c.at) {
		c.at = t
	}
	return nil
}

var (
	_ monitor.Operations = fakeOperations(nil)
	_ monitor.Cursor     = (*memCursor)(nil)
)

// world is a small account for the selection tests: Connect answers from a map (listing the
// whole account), state in the real file store, a clock the test moves, and CloudTrail
// operations the test sets. It records the order of describes and every publish.
type world struct {
	t      *testing.T
	mu     sync.Mutex
	now    time.Time
	byID   map[string]status.Summary
	hidden map[string]bool // in Connect but not (yet) in its listing
	order  []string        // describes, in order
	ops    []status.Operation
	opsErr error
	looked [][2]time.Time // each Lookup's from and to
	cursor *memCursor
	store  *store.File
	sent   []status.Notification
	// publishErr, when set, is the publisher's answer for each notification (nil: accepted).
	publishErr func(status.Notification) error
}

func newWorld(t *testing.T) *world {
	return &world{
		t:      t,
		now:    time.Date(2026, 11, 26, 5, 40, 0, 0, time.UTC),
		byID:   map[string]status.Summary{},
		hidden: map[string]bool{},
		cursor: &memCursor{},
		store:  store.NewFile(filepath.Join(t.TempDir(), "state.json")),
	}
}

func (w *world) put(st string, ids ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, id := range ids {
		w.byID[id] = connecttest.NewSummary(id, e164(id), "", st, msgFor(st))
	}
}

func (w *world) advance(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = w.now.Add(d)
}

func (w *world) clock() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

func (w *world) List(context.Context, []string) ([]status.Number, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []status.Number
	for id, s := range w.byID {
		if !w.hidden[id] {
			out = append(out, status.Number{ID: id, ARN: *s.PhoneNumberArn, E164: *s.PhoneNumber})
		}
	}
	return out, nil
}

func (w *world) Describe(_ context.Context, ref string) (*status.Summary, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	id := monitor.IDOf(ref)
	w.order = append(w.order, id)
	s, ok := w.byID[id]
	if !ok {
		return nil, fmt.Errorf("describe %s: %w", ref, status.ErrNotFound)
	}
	return &s, nil
}

func (w *world) Lookup(_ context.Context, from, to time.Time) ([]status.Operation, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.looked = append(w.looked, [2]time.Time{from, to})
	var out []status.Operation
	for _, op := range w.ops {
		if !op.At.Before(from) && op.At.Before(to) {
			out = append(out, op)
		}
	}
	return out, w.opsErr
}

func (w *world) Publish(_ context.Context, ns []status.Notification) []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	errs := make([]error, len(ns))
	for i, n := range ns {
		if w.publishErr != nil {
			errs[i] = w.publishErr(n)
		}
		w.sent = append(w.sent, n)
	}
	return errs
}

// described returns the describes since the last call, in order.
func (w *world) described() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.order
	w.order = nil
	return out
}

// published returns the notifications handed to the publisher since the last call.
func (w *world) published() []status.Notification {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.sent
	w.sent = nil
	return out
}

// monitor is a Monitor on w, one describe at a time (so that the order is the order of work),
// sweeping every hour, CloudTrail on.
func (w *world) monitor() *monitor.Monitor {
	return &monitor.Monitor{
		Source: w, Store: w.store, Publisher: w, Policy: status.DefaultPolicy(),
		Now: w.clock, InFlight: 1, SweepEvery: time.Hour,
		Operations: w, Cursor: w.cursor,
		NewRunID: func() string { return "run-" + w.clock().Format(time.RFC3339Nano) },
		Log:      quietLog(),
	}
}

func (w *world) run(m *monitor.Monitor, scope monitor.Scope) monitor.Summary {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sum, err := m.Run(ctx, scope)
	if err != nil {
		w.t.Fatalf("run: %v (summary %+v)", err, sum)
	}
	return sum
}

var scheduled = monitor.Scope{Scheduled: true}

func (w *world) records() map[string]status.Record {
	w.t.Helper()
	recs, err := w.store.All(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string]status.Record{}
	for _, r := range recs {
		out[r.ID] = r
	}
	return out
}

// TestSelectionDescribesOnlyWhatCanHaveChanged (issue 14): after a full first run, a run
// right after describes only the FAILED and IN_PROGRESS numbers, and neither rewrites nor
// counts the others (it counts them unchanged); once SWEEP_EVERY has passed for some, those
// are described again (after the urgent ones; oldest first is TestSweepOldestFirstAndPending),
// and only those.
func TestSelectionDescribesOnlyWhatCanHaveChanged(t *testing.T) {
	w := newWorld(t)
	all := ids(1, 6)
	failed, inProgress, claimed := all[0], all[1], all[2:]
	w.put("FAILED", failed)
	w.put("IN_PROGRESS", inProgress)
	w.put("CLAIMED", claimed...)
	m := w.monitor()

	sum := w.run(m, scheduled)
	if got := w.described(); len(got) != 6 || sum.Checked != 6 || sum.Unchanged != 0 {
		t.Fatalf("first run described %v, summary %+v; want all 6", got, sum)
	}
	first := w.records()

	w.advance(5 * time.Minute)
	sum = w.run(m, scheduled)
	if got := w.described(); !sameSet(got, []string{failed, inProgress}) {
		t.Errorf("the run right after described %v, want only %v", got, []string{failed, inProgress})
	}
	if sum.Checked != 2 || sum.Unchanged != 4 || sum.SweepPending != 0 || !sum.Complete {
		t.Errorf("summary %+v, want 2 checked, 4 unchanged, complete", sum)
	}
	for _, id := range claimed {
		if r := w.records()[id]; r.Version != first[id].Version {
			t.Errorf("%s rewritten (version %d, was %d) although not described", id, r.Version, first[id].Version)
		}
	}

	// Two of the CLAIMED numbers are checked by a request 20 minutes later: at 65 minutes the
	// other two are due for the sweep, and these two are not.
	w.advance(15 * time.Minute)
	w.run(m, monitor.Scope{PhoneNumberIDs: claimed[2:]})
	if got := w.described(); !slices.Equal(got, claimed[2:]) {
		t.Fatalf("a check request described %v, want what it names, %v", got, claimed[2:])
	}
	w.advance(45 * time.Minute)
	sum = w.run(m, scheduled)
	got := w.described()
	if len(got) != 4 || !sameSet(got[:2], []string{failed, inProgress}) || !sameSet(got[2:], claimed[:2]) {
		t.Errorf("after SWEEP_EVERY the run described %v, want FAILED and IN_PROGRESS, then the due %v", got, claimed[:2])
	}
	if sum.Checked != 4 || sum.Unchanged != 2 {
		t.Errorf("summary %+v, want 4 checked, 2 unchanged", sum)
	}
}

// TestSweepOldestFirstAndPending: numbers due for the sweep are described oldest check first
// as far as the budget allows; those not reached are counted as pending, are not written,
// and the next run takes them.
func TestSweepOldestFirstAndPending(t *testing.T) {
	w := newWorld(t)
	all := ids(1, 4)
	w.put("CLAIMED", all...)
	m := w.monitor()
	for i, id := range slices.Backward(all) { // all[3] checked first (oldest), all[0] last
		w.run(m, monitor.Scope{PhoneNumberIDs: []string{id}})
		w.advance(time.Duration(i+1) * time.Minute)
	}
	w.described()
	w.advance(2 * time.Hour)

	// Connect's pacing refuses the third describe of the run, as a rate limiter does when
	// its wait would pass the check's deadline: the budget takes no further check.
	refused := 0
	m.Source = fakeSource{list: w.List, describe: func(ctx context.Context, ref string) (*status.Summary, error) {
		w.mu.Lock()
		n := len(w.order)
		w.mu.Unlock()
		if n == 2 {
			refused++
			return nil, errors.New("rate: Wait(n=1) would exceed context deadline")
		}
		return w.Describe(ctx, ref)
	}}
	sum := w.run(m, scheduled)
	if got, want := w.described(), []string{all[3], all[2]}; !slices.Equal(got, want) {
		t.Errorf("described %v, want the two oldest first, %v", got, want)
	}
	if refused == 0 || sum.Checked != 2 || sum.SweepPending != 2 || sum.Complete {
		t.Errorf("summary %+v (refused %d), want 2 checked, 2 pending, incomplete", sum, refused)
	}
	m.Source = w
	sum = w.run(m, scheduled)
	if got, want := w.described(), []string{all[1], all[0]}; !slices.Equal(got, want) {
		t.Errorf("the next run described %v, want the two left, %v", got, want)
	}
	if sum.SweepPending != 0 || sum.Unchanged != 2 {
		t.Errorf("next run's summary %+v, want nothing pending and 2 unchanged", sum)
	}
}

// TestTouchedFirst (issue 10.5): numbers with an operation newer than their record's are
// described (once CloudTrail's read returns, ahead of what is still queued; a FAILED number,
// described every run, does not wait for it: issue 17), matched by ID, ARN or E.164 number; a claim of a number not yet in state
// nor in the listing is watched from its claim when its target is a configured one, and not
// otherwise; the observation carries the newest operation, which the record keeps; the
// cursor moves to where the read ended.
func TestTouchedFirst(t *testing.T) {
	w := newWorld(t)
	all := ids(1, 8)
	failed, byID, byARN, byE164, steady := all[0], all[1], all[2], all[3], all[4]
	claimedNew, elsewhere := all[5], all[6]
	w.put("FAILED", failed)
	w.put("CLAIMED", byID, byARN, byE164, steady, claimedNew, elsewhere)
	w.hidden[claimedNew], w.hidden[elsewhere] = true, true // not listed yet
	m := w.monitor()
	m.Targets = []string{connecttest.DefaultInstanceARN}
	m.Source = fakeSource{
		list:     func(ctx context.Context, _ []string) ([]status.Number, error) { return w.List(ctx, nil) },
		describe: w.Describe,
	}
	w.run(m, scheduled)
	w.described()
	cursor := w.cursor.at
	if cursor.IsZero() || len(w.looked) != 1 || !w.looked[0][0].Equal(w.clock().Add(-25*time.Hour)) {
		t.Fatalf("first run: lookups %v, cursor %v; want one from a window and an hour back, and the cursor set", w.looked, cursor)
	}

	w.advance(5 * time.Minute)
	at := w.clock().Add(-2 * time.Minute)
	arn := func(id string) string { return *w.byID[id].PhoneNumberArn }
	op := func(name, id, idARN, num, target, ev string) status.Operation {
		return status.Operation{Name: name, At: at, By: "arn:aws:iam::123456789012:user/ops", TargetARN: target,
			EventID: ev, PhoneNumberID: id, PhoneNumberARN: idARN, E164: num}
	}
	w.ops = []status.Operation{
		op(status.OpUpdate, byID, "", "", connecttest.DefaultInstanceARN, "ev-1"),
		op(status.OpUpdate, "", arn(byARN), "", connecttest.DefaultInstanceARN, "ev-2"),
		op(status.OpClaim, "", "", e164(byE164), connecttest.DefaultInstanceARN, "ev-3"),
		op(status.OpClaim, claimedNew, arn(claimedNew), e164(claimedNew), connecttest.DefaultInstanceARN, "ev-4"),
		op(status.OpClaim, elsewhere, arn(elsewhere), e164(elsewhere), "arn:aws:connect:us-east-1:123456789012:instance/other", "ev-5"),
		// A call that names an ID nobody watches, with the E.164 number of a watched one (the
		// number released and claimed again under a new ID): the ID decides, so it is no one's.
		op(status.OpUpdate, "ffffffff-0000-4000-8000-00000000abcd", "", e164(steady), connecttest.DefaultInstanceARN, "ev-6"),
	}
	sum := w.run(m, scheduled)
	got := w.described()
	// The order depends on whether this instant read returned before the first describe
	// (TestDescribesBesideLookups holds the order with a slow CloudTrail).
	if !sameSet(got, []string{failed, byID, byARN, byE164, claimedNew}) {
		t.Errorf("described %v, want FAILED %s and the four touched (%v)", got, failed,
			[]string{byID, byARN, byE164, claimedNew})
	}
	if slices.Contains(got, elsewhere) || slices.Contains(got, steady) {
		t.Errorf("described %v: a claim to another target, or an untouched number", got)
	}
	if sum.Operations != 6 || sum.OperationsFailed || sum.Unchanged != 1 {
		t.Errorf("summary %+v, want 6 operations read, 1 unchanged", sum)
	}
	recs := w.records()
	for id, ev := range map[string]string{byID: "ev-1", byARN: "ev-2", byE164: "ev-3", claimedNew: "ev-4"} {
		if o := recs[id].Operation; o == nil || o.EventID != ev {
			t.Errorf("%s keeps operation %+v, want %s", id, o, ev)
		}
	}
	// One read covers both the recent operations and the FAILED number's look-back (it has
	// no operation): a retry window and an hour back.
	if from := w.looked[1][0]; len(w.looked) != 2 || !from.Equal(w.clock().Add(-25*time.Hour)) {
		t.Errorf("second run's lookups %v, want one from a window and an hour back", w.looked[1:])
	}
	if !w.cursor.at.Equal(w.looked[1][1]) {
		t.Errorf("cursor %v, want the end of the read, %v", w.cursor.at, w.looked[1][1])
	}

	// Read again (the overlap), the same operations touch nothing: the records know them.
	w.advance(5 * time.Minute)
	w.run(m, scheduled)
	if got := w.described(); !slices.Equal(got, []string{failed}) {
		t.Errorf("the run after described %v, want only FAILED %s", got, failed)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestCloudTrailDegrades (issue 10.6): when CloudTrail refuses, the run goes on with what the
// records know: one summary error naming cloudtrail:LookupEvents (no number), every number
// still checked, the run a success, and the cursor left where it was so the next run reads
// the same span again.
func TestCloudTrailDegrades(t *testing.T) {
	w := newWorld(t)
	all := ids(1, 3)
	w.put("CLAIMED", all...)
	w.opsErr = errors.New("operation error CloudTrail: LookupEvents, AccessDeniedException: not authorized")
	m := w.monitor()
	sum := w.run(m, scheduled)
	if sum.Checked != 3 || !sum.OperationsFailed {
		t.Errorf("summary %+v, want all 3 checked despite CloudTrail", sum)
	}
	if len(sum.Errors) != 1 || sum.Errors[0].PhoneNumberID != "" ||
		!strings.Contains(sum.Errors[0].Error, "cloudtrail:LookupEvents") {
		t.Errorf("errors %+v, want exactly one naming cloudtrail:LookupEvents", sum.Errors)
	}
	if w.cursor.sets != 0 {
		t.Errorf("cursor set %d times after a failed read", w.cursor.sets)
	}

	// With nothing to describe at all, a CloudTrail error is still no reason to fail the run.
	w.advance(5 * time.Minute)
	sum = w.run(m, scheduled)
	if sum.Checked != 0 || sum.Unchanged != 3 || len(sum.Errors) != 1 {
		t.Errorf("summary %+v, want nothing checked, 3 unchanged, the one CloudTrail error", sum)
	}
}

// TestInvalidRecords (issue 13.3): a record the store could not read, and one without a
// version (every save of it would conflict), are one named error each, never described,
// decided or written, and the other numbers are checked and notified.
func TestInvalidRecords(t *testing.T) {
	now := time.Date(2026, 11, 26, 5, 40, 0, 0, time.UTC)
	unreadable := status.Record{Number: status.Number{ID: "unreadable"}, Invalid: `checkedAt: "yesterday" is not a time`}
	noVersion := status.Record{Number: status.Number{ID: "no-version"}, Status: status.Claimed, CheckedAt: now.Add(-2 * time.Hour)}
	byID := map[string]status.Summary{}
	for _, id := range []string{"unreadable", "no-version", "fine"} {
		byID[id] = connecttest.NewSummary(id, "+18005550100", "", "FAILED", "")
	}
	var described []string
	src := connectAnswers(byID)
	describe := src.describe
	src.describe = func(ctx context.Context, ref string) (*status.Summary, error) {
		described = append(described, ref)
		return describe(ctx, ref)
	}
	var saved saves
	var sent []status.Notification
	m := &monitor.Monitor{
		Source: src,
		Store: fakeStore{
			all:  func(context.Context) ([]status.Record, error) { return []status.Record{unreadable, noVersion}, nil },
			save: saved.save,
		},
		Publisher: fakePublisher(func(_ context.Context, ns []status.Notification) []error {
			sent = append(sent, ns...)
			return make([]error, len(ns))
		}),
		Policy: status.DefaultPolicy(), PhoneNumberIDs: []string{"fine", "unreadable"},
		Now: func() time.Time { return now }, Log: quietLog(),
	}
	sum, err := m.Run(context.Background(), scheduled)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(described, []string{"fine"}) || sum.Checked != 1 || len(sent) != 1 {
		t.Errorf("described %v, sent %d, summary %+v; want only fine, notified", described, len(sent), sum)
	}
	var named []string
	for _, e := range sum.Errors {
		if strings.Contains(e.Error, "not in phonewatch's format") {
			named = append(named, e.PhoneNumberID)
		}
	}
	slices.Sort(named)
	if !slices.Equal(named, []string{"no-version", "unreadable"}) || len(sum.Errors) != 2 || sum.InvalidRecords != 2 {
		t.Errorf("errors %+v (invalid %d), want one each for no-version and unreadable", sum.Errors, sum.InvalidRecords)
	}
	if got := saved.ids(); !slices.Equal(got, []string{"fine"}) {
		t.Errorf("saved %v, want only fine", got)
	}
}

// TestAllRecordsInvalidFailsTheRun: when every watched number's record is unreadable, no
// number could be checked, and the invocation fails (the errors alarm fires), naming why.
func TestAllRecordsInvalidFailsTheRun(t *testing.T) {
	now := time.Date(2026, 11, 26, 5, 40, 0, 0, time.UTC)
	unreadable := status.Record{Number: status.Number{ID: "unreadable"}, Invalid: `version is S "seven"`}
	m := &monitor.Monitor{
		Source:    connectAnswers(map[string]status.Summary{"unreadable": connecttest.NewSummary("unreadable", "+18005550100", "", "FAILED", "")}),
		Store:     fakeStore{all: func(context.Context) ([]status.Record, error) { return []status.Record{unreadable}, nil }},
		Publisher: fakePublisher(func(_ context.Context, ns []status.Notification) []error { return make([]error, len(ns)) }),
		Policy:    status.DefaultPolicy(), Now: func() time.Time { return now }, Log: quietLog(),
	}
	sum, err := m.Run(context.Background(), scheduled)
	if err == nil || !strings.Contains(err.Error(), "not in phonewatch's format") || sum.InvalidRecords != 1 || sum.Checked != 0 {
		t.Errorf("run: %v, summary %+v; want a failed run naming the unreadable records", err, sum)
	}
}
