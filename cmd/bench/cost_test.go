package main

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/status"
)

// hourOf is an hour of the default mode at 1,000 numbers, by hand: 12 runs of 3 lookups,
// one list page and 10 ms of CPU; the last run describes and rewrites all 1,000 records of
// 500 bytes; every run scans 500 KB (123 read units) and reads and writes the cursor.
func hourOf() hourResult {
	h := hourResult{mode: sweepModes[0]}
	for i := range hourRuns {
		s := runStat{cpu: 10 * time.Millisecond, lists: 1, lookups: 3,
			store: storeUsage{ReadUnits: 123 + 1, CursorReads: 1, WriteUnits: 1, CursorWrites: 1}}
		if i == hourRuns-1 {
			s.describes = 1000
			s.store.Writes, s.store.WriteUnits = 1000, 2000+1
		}
		h.runs = append(h.runs, s)
	}
	return h
}

// TestEstimate: fixed parts per run, the rest scaled by N, and the timeout caps an hour that
// would need more.
func TestEstimate(t *testing.T) {
	h := hourOf()
	e := estimate(h, 1000)
	// 36 lookups at 1/s + (1,000 describes + 12 lists) at 2/s + 0.12 s CPU.
	if want := 36 + 506 + 0.12; math.Abs(e.seconds-want) > 1e-9 || e.share != 1 {
		t.Errorf("1,000 numbers: %.3f s, share %.2f; want %.3f s, share 1", e.seconds, e.share, want)
	}
	if e.writeUnits != 2000+12 || e.readUnits != 12*123+12 || e.requests != 12 {
		t.Errorf("1,000 numbers: WRU %.0f, RRU %.0f, requests %.0f; want 2012, 1488, 12", e.writeUnits, e.readUnits, e.requests)
	}
	small := estimate(h, 100)
	if want := 36 + 50.612; math.Abs(small.seconds-want) > 1e-9 || small.writeUnits != 200+12 {
		t.Errorf("100 numbers: %.3f s, WRU %.0f; want %.3f s, 212", small.seconds, small.writeUnits, want)
	}
	big := estimate(h, 10000)
	wantShare := (12*270 - 36) / 5061.2
	if big.seconds != 12*270 || math.Abs(big.share-wantShare) > 1e-9 || math.Abs(big.describes-10000*wantShare) > 1e-6 {
		t.Errorf("10,000 numbers: %.1f s, share %.4f, %.0f describes; want 3240 s, share %.4f", big.seconds, big.share, big.describes, wantShare)
	}
}

// TestCost prices a month at the list prices.
func TestCost(t *testing.T) {
	e := hourly{seconds: 542, requests: 12, writeUnits: 2012, readUnits: 1488, publishes: 0}
	c := cost(e)
	wantLambda := 730 * (542*0.125*0.0000133334 + 12*0.2e-6)
	wantDynamo := 730 * (2012*0.625e-6 + 1488*0.125e-6)
	if math.Abs(c.lambda-wantLambda) > 1e-9 || math.Abs(c.dynamo-wantDynamo) > 1e-9 || c.sns != 0 {
		t.Errorf("cost = %+v, want Lambda %.4f, DynamoDB %.4f, SNS 0", c, wantLambda, wantDynamo)
	}
	// SNS charges only past the first million publishes a month.
	if got := cost(hourly{publishes: 2e6 / 730}).sns; math.Abs(got-0.5) > 1e-9 {
		t.Errorf("2 million publishes a month cost $%.4f, want $0.50", got)
	}
}

// TestMemStoreUsage counts DynamoDB units as the real store's calls would cost them.
func TestMemStoreUsage(t *testing.T) {
	ctx := context.Background()
	m := newMemStore()
	recs := []status.Record{{Number: status.Number{ID: "a"}}, {Number: status.Number{ID: "b", Description: strings.Repeat("x", 1100)}}}
	if conflicts, err := m.Save(ctx, recs); err != nil || len(conflicts) != 0 {
		t.Fatalf("Save = %v, %v", conflicts, err)
	}
	if _, err := m.All(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.SetCursor(ctx, time.Unix(100, 0)); err != nil {
		t.Fatal(err)
	}
	if err := m.SetCursor(ctx, time.Unix(50, 0)); err != nil {
		t.Fatal(err)
	}
	c, err := m.Cursor(ctx)
	if err != nil || !c.Equal(time.Unix(100, 0)) {
		t.Errorf("Cursor = %v, %v; want the later of the two", c, err)
	}
	u := m.Usage()
	// Record a is under 1 KB (2 units), b over (4); the scan of under 4 KB is 1 unit, the
	// cursor read 1, its two writes 1 each.
	if u.Writes != 2 || u.WriteUnits != 2+4+2 || u.ReadUnits != 1+1 || u.Scans != 1 || u.CursorWrites != 2 {
		t.Errorf("usage = %+v; want 2 writes of 8 units with the cursor's, 2 read units, 1 scan", u)
	}
	if cl := m.clone(); cl.Usage() != (storeUsage{}) || len(cl.items) != 2 {
		t.Errorf("clone: usage %+v, %d items; want none counted and both records", cl.Usage(), len(cl.items))
	}
}
