package budget

import (
	"testing"
	"time"
)

func TestCoverageFirstRunBackfillsAcrossRuns(t *testing.T) {
	now := t0
	c, reads := Coverage{}.Plan(now, 15*time.Minute)
	if len(reads) != 2 || !reads[0].Backfill || !reads[0].From.Equal(now.Add(-Retention)) || !reads[0].To.Equal(now) {
		t.Fatalf("first run reads %+v", reads)
	}
	// Releases done, claims stopped at a page limit 30 days back.
	c.Done(reads[0], true, time.Time{})
	c.Done(reads[1], false, now.Add(-30*24*time.Hour))
	c.Finish()
	if c.Backfill == nil || !c.CompleteSince().IsZero() {
		t.Fatalf("an open back-fill must leave the ledger incomplete: %+v", c)
	}
	now2 := now.Add(5 * time.Minute)
	c, reads = c.Plan(now2, 15*time.Minute)
	if len(reads) != 3 {
		t.Fatalf("second run reads %+v", reads)
	}
	for _, r := range reads[:2] {
		if r.Backfill || !r.From.Equal(now.Add(-15*time.Minute)) || !r.To.Equal(now2) {
			t.Errorf("forward read %+v", r)
		}
	}
	if r := reads[2]; !r.Backfill || r.Name != OpClaim || !r.To.Equal(now.Add(-30*24*time.Hour)) {
		t.Errorf("back-fill read %+v", r)
	}
	for _, r := range reads {
		c.Done(r, true, time.Time{})
	}
	c.Finish()
	// The back-fill's start moved with CloudTrail's retention: complete from there.
	if c.Backfill != nil || !c.CompleteSince().Equal(now2.Add(-Retention)) || !c.To.Equal(now2) {
		t.Fatalf("after the back-fill: %+v", c)
	}
}

func TestCoverageForwardOverflowBecomesBackfill(t *testing.T) {
	since := t0.Add(-Retention)
	c := Coverage{Since: since, To: t0}
	now := t0.Add(10 * time.Minute)
	c, reads := c.Plan(now, 15*time.Minute)
	if len(reads) != 2 {
		t.Fatalf("reads %+v", reads)
	}
	c.Done(reads[0], true, time.Time{})
	c.Done(reads[1], false, now.Add(-time.Minute)) // a bulk claim: stopped a minute back
	c.Finish()
	if c.Backfill == nil || !c.CompleteSince().IsZero() {
		t.Fatalf("hole not kept: %+v", c)
	}
	_, reads = c.Plan(now.Add(5*time.Minute), 15*time.Minute)
	last := reads[len(reads)-1]
	if !last.Backfill || last.Name != OpClaim || !last.From.Equal(t0.Add(-15*time.Minute)) || !last.To.Equal(now.Add(-time.Minute)) {
		t.Fatalf("hole read %+v", last)
	}
	if len(reads) != 3 {
		t.Fatalf("the finished name must not be read again: %+v", reads)
	}
	c.Done(last, true, time.Time{})
	c.Finish()
	if !c.CompleteSince().Equal(since) {
		t.Fatalf("closing the hole must keep the older start: %+v", c)
	}
}

func TestCoverageGapRestarts(t *testing.T) {
	c := Coverage{Since: t0.Add(-Retention), To: t0}
	now := t0.Add(Retention + time.Hour) // a pause longer than CloudTrail keeps
	c, reads := c.Plan(now, 15*time.Minute)
	if !c.Since.IsZero() || len(reads) != 2 || !reads[0].Backfill || !reads[0].From.Equal(now.Add(-Retention)) {
		t.Fatalf("after a gap: %+v reads %+v", c, reads)
	}
}
