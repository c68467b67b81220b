package monitor

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/status"
)

// TestOrder: touched numbers first; then urgent ones (FAILED, IN_PROGRESS, an episode, a
// claim, an unconfirmed 404 or an attempted publish on record), oldest check first among
// them; then never-checked ones; then the rest, oldest check first (SweepEvery zero: every
// number is due).
func TestOrder(t *testing.T) {
	now := time.Date(2026, 11, 26, 5, 40, 0, 0, time.UTC)
	rec := func(st status.Status, ago time.Duration) *status.Record {
		return &status.Record{Status: st, CheckedAt: now.Add(-ago)}
	}
	recovering := rec(status.Claimed, time.Minute)
	recovering.Episode = &status.Episode{FailedSince: now.Add(-time.Hour), EndedAt: now.Add(-time.Minute)}
	crashed := rec(status.Claimed, 2*time.Minute)
	crashed.ClaimedBy = "a run that died"
	gone404 := rec(status.Claimed, 30*time.Second)
	gone404.NotFoundAt = now.Add(-30 * time.Second)
	attempted := rec(status.Claimed, 20*time.Second)
	attempted.Attempted = []string{"n1"}
	items := []*item{
		{id: "touched-claimed-2h", prev: rec(status.Claimed, 2*time.Hour), touched: true},
		{id: "404-once-30s", prev: gone404},
		{id: "attempted-20s", prev: attempted},
		{id: "claimed-1h", prev: rec(status.Claimed, time.Hour)},
		{id: "new-a"},
		{id: "failed-10m", prev: rec(status.Failed, 10*time.Minute)},
		{id: "claimed-3h", prev: rec(status.Claimed, 3*time.Hour)},
		{id: "recovering-1m", prev: recovering},
		{id: "in-progress-5m", prev: rec(status.InProgress, 5*time.Minute)},
		{id: "new-b"},
		{id: "claimed-by-dead-run-2m", prev: crashed},
	}
	r := &run{Monitor: &Monitor{Now: func() time.Time { return now }}}
	var got []string
	sel, _ := r.selectItems(items, true, false)
	for _, it := range sel {
		got = append(got, it.id)
	}
	want := []string{"touched-claimed-2h", "failed-10m", "in-progress-5m", "claimed-by-dead-run-2m",
		"recovering-1m", "404-once-30s", "attempted-20s", "new-a", "new-b", "claimed-3h", "claimed-1h"}
	if !slices.Equal(got, want) {
		t.Errorf("order\n got %v\nwant %v", got, want)
	}
}

// TestBudgetReserveGrows: the finish reserve grows with each check taken on (a record and,
// until it is known, a notification), so the budget admits fewer checks the more work is
// pending, and takes more again when a finished check owes nothing.
func TestBudgetReserveGrows(t *testing.T) {
	// Ten minutes to the deadline; one minute fixed, one per record, one per notification:
	// admitting k checks needs 1 + 2k minutes, so four fit (9 min) and a fifth (11) does not.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	r := &run{Monitor: &Monitor{ReservePerRecord: time.Minute, ReservePerNotification: time.Minute},
		reserve: time.Minute}
	b, checkCtx, stop := r.newBudget(ctx)
	defer stop()

	var ends []time.Time
	for range 4 {
		end, ok := b.admit()
		if !ok {
			t.Fatalf("check %d refused", len(ends)+1)
		}
		ends = append(ends, end)
	}
	for i := 1; i < len(ends); i++ {
		if !ends[i].Before(ends[i-1]) {
			t.Errorf("check %d may end at %v, not before check %d's %v: the reserve did not grow", i+1, ends[i], i, ends[i-1])
		}
	}
	if _, ok := b.admit(); ok {
		t.Fatal("a fifth check admitted with 11 minutes of reserve in 10")
	}
	if checkCtx.Err() != nil {
		t.Fatal("checks under way were cut while within the reserve")
	}

	// The reserve is the work's, not a count of refusals: a fresh budget with two checks
	// settled as owing nothing (and no record) has room for all four again.
	b2, _, stop2 := r.newBudget(ctx)
	defer stop2()
	for range 2 {
		if _, ok := b2.admit(); !ok {
			t.Fatal("refused")
		}
		b2.finished(false, 0)
	}
	for i := range 4 {
		if _, ok := b2.admit(); !ok {
			t.Fatalf("check %d refused after the first two settled with nothing to save", i+1)
		}
	}
}

// TestBudgetCutsChecksUnderWay: once the time left no longer covers the reserve of the work
// under way, the checks still running are cut.
func TestBudgetCutsChecksUnderWay(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	r := &run{Monitor: &Monitor{ReservePerRecord: time.Nanosecond, ReservePerNotification: time.Nanosecond},
		reserve: time.Hour - 200*time.Millisecond}
	b, checkCtx, stop := r.newBudget(ctx)
	defer stop()
	if _, ok := b.admit(); !ok {
		t.Fatal("refused with 200 ms to spare")
	}
	select {
	case <-checkCtx.Done():
		if !errors.Is(context.Cause(checkCtx), errOutOfTime) {
			t.Errorf("cause %v, want errOutOfTime", context.Cause(checkCtx))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the check under way was never cut")
	}
	if ctx.Err() != nil {
		t.Error("the run's own context ended: only the checks may be cut")
	}
}

// TestReserveScales (issue 9): the fixed finish reserve is at most a quarter of the time the
// invocation has, so that with the handler's 5 s reserve a 12 s run checks for more than the
// 5.5 s it used to, and a 5 s run checks at all; a run returns a margin before its deadline.
func TestReserveScales(t *testing.T) {
	testCases := []struct {
		left, want, margin time.Duration
	}{
		{5 * time.Second, 1250 * time.Millisecond, 50 * time.Millisecond},
		{12 * time.Second, 3 * time.Second, 120 * time.Millisecond},
		{time.Minute, 5 * time.Second, 600 * time.Millisecond},
		{15 * time.Minute, 5 * time.Second, 9 * time.Second},
	}
	for _, tc := range testCases {
		if got := ScaledReserve(5*time.Second, tc.left); got != tc.want {
			t.Errorf("reserve for %v: %v, want %v", tc.left, got, tc.want)
		}
		if got := ReturnMargin(tc.left); got != tc.margin {
			t.Errorf("margin for %v: %v, want %v", tc.left, got, tc.margin)
		}
	}

	// The budget of a 12 s invocation as Run sets it up: the first check may run until more
	// than 5.5 s from now.
	ctx, cancel, reserve := (&Monitor{FinishReserve: 5 * time.Second}).bound(context.Background())
	dl, ok := ctx.Deadline()
	cancel()
	if !ok || time.Until(dl) > DefaultRunTimeout || reserve != 5*time.Second {
		t.Errorf("without a deadline: deadline %v (%v), reserve %v; want one within %v, reserve 5 s", dl, ok,
			reserve, DefaultRunTimeout)
	}
	parent, cancelParent := context.WithTimeout(context.Background(), 12*time.Second)
	defer cancelParent()
	ctx, cancel, reserve = (&Monitor{FinishReserve: 5 * time.Second}).bound(parent)
	defer cancel()
	r := &run{Monitor: &Monitor{}, reserve: reserve}
	b, _, stop := r.newBudget(ctx)
	defer stop()
	end, ok := b.admit()
	if !ok || time.Until(end) <= 5500*time.Millisecond {
		t.Errorf("a 12 s run may check until %v from now, want more than 5.5 s", time.Until(end))
	}
}

// TestBudgetReserveCeiling (issue 9): in a short invocation the whole finish reserve, per-item
// estimates included, is at most a quarter of the time the run has, so a 12 s run keeps
// admitting checks until 9 s, not until the generous per-item estimates would stop it.
func TestBudgetReserveCeiling(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Second)
	defer cancel()
	r := &run{Monitor: &Monitor{}, reserve: 3 * time.Second, timeLeft: 12 * time.Second}
	b, _, stop := r.newBudget(ctx)
	defer stop()
	// 300 checks pending: 3 s + 300 × (5 ms + 50 ms) = 19.5 s uncapped, more than the run has.
	for i := range 300 {
		if _, ok := b.admit(); !ok {
			t.Fatalf("check %d refused: the reserve is not capped at a quarter of 12 s", i+1)
		}
	}
	if got := b.reserve(300, 300); got != 3*time.Second {
		t.Errorf("reserve for 300 records and notes = %s, want the 3 s ceiling", got)
	}
	// A long invocation keeps the per-item reserve: 270 s, 2,000 records.
	long := &budget{base: 5 * time.Second, perRecord: 5 * time.Millisecond, ceiling: 270 * time.Second / 4}
	if got := long.reserve(2000, 0); got != 15*time.Second {
		t.Errorf("270 s run, 2,000 records: reserve %s, want 15 s (under its ceiling)", got)
	}
}

// TestReserveLearnsFromTheFirstRead (issue 18.2): the per-record save reserve comes from the
// run's own first state read, not a fixed guess: a fast table keeps the floor of
// DefaultReservePerRecord, a slow or throttled one (its read took long, SDK retries included)
// reserves in proportion, per read call; the budget and the store calls' timeouts use it; a
// configured ReservePerRecord still wins.
func TestReserveLearnsFromTheFirstRead(t *testing.T) {
	testCases := []struct {
		name string
		read time.Duration
		n    int
		want time.Duration
	}{
		{"fast table", 10 * time.Millisecond, 500, DefaultReservePerRecord},
		{"throttled table, one read call", 2 * time.Second, 500, 60 * time.Millisecond},
		{"slow table, 3 Scan pages", 3 * time.Second, 2500, 30 * time.Millisecond},
	}
	for _, tc := range testCases {
		r := &run{Monitor: &Monitor{}}
		if got := r.perRecord(); got != DefaultReservePerRecord {
			t.Errorf("%s: %v before any read, want the default", tc.name, got)
		}
		r.learn(tc.read, tc.n)
		r.learn(time.Hour, 1) // only the first read teaches
		if got := r.perRecord(); got != tc.want {
			t.Errorf("%s: read of %d records in %v: %v a record, want %v", tc.name, tc.n, tc.read, got, tc.want)
		}
	}

	r := &run{Monitor: &Monitor{}, reserve: time.Second, timeLeft: time.Hour}
	r.learn(2*time.Second, 500)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	b, _, stop := r.newBudget(ctx)
	defer stop()
	if got := b.reserve(100, 0); got != time.Second+6*time.Second {
		t.Errorf("budget reserve for 100 records: %v, want 1 s + 100 × 60 ms", got)
	}
	actx, acancel := r.attemptCtx(ctx, 100)
	defer acancel()
	if dl, _ := actx.Deadline(); time.Until(dl) < DefaultStoreTimeout+5*time.Second {
		t.Errorf("a store call about 100 records may take %v, want at least %v", time.Until(dl), DefaultStoreTimeout+6*time.Second)
	}

	r = &run{Monitor: &Monitor{ReservePerRecord: time.Millisecond}}
	r.learn(2*time.Second, 500)
	if got := r.perRecord(); got != time.Millisecond {
		t.Errorf("configured 1 ms: %v, want the configured value", got)
	}
}

// TestFirstReadTeachesTheRun: Run reads the state through read, which learns from it.
func TestFirstReadTeachesTheRun(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	r := &run{Monitor: &Monitor{Log: quiet}}
	slow := func(context.Context) ([]status.Record, error) {
		time.Sleep(300 * time.Millisecond) // at least: 300 ms × 3 / 100 = 9 ms a record
		return make([]status.Record, 10), nil
	}
	if _, err := r.read(context.Background(), slow); err != nil {
		t.Fatal(err)
	}
	if r.learned < 9*time.Millisecond {
		t.Errorf("learned %v a record from a 300 ms read, want at least 9 ms", r.learned)
	}
	failing := func(context.Context) ([]status.Record, error) { return nil, errors.New("down") }
	r2 := &run{Monitor: &Monitor{Log: quiet}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := r2.read(ctx, failing); err == nil || r2.learned != 0 {
		t.Errorf("a failed read: err %v, learned %v; want an error and nothing learned", err, r2.learned)
	}
}
