package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/monitor"
)

var _ monitor.Lease = (*Dynamo)(nil)

// TestConnectLease (issue 18.5): one holder at a time; the holder may take it again (longer);
// another run gets it once the holder's lease has ended, or once it is released; a release by a
// run that no longer holds it leaves the new holder's lease alone; the lease is never a record.
func TestConnectLease(t *testing.T) {
	d := newTestDynamo(t, nil)
	ctx := context.Background()
	mustSave(t, d, minimalRecord("n1"))
	take := func(holder string, until, now time.Time, want bool) {
		t.Helper()
		got, err := d.AcquireLease(ctx, holder, until, now)
		if err != nil || got != want {
			t.Fatalf("%s takes the lease until %v at %v: %v, %v; want %v", holder, until, now, got, err, want)
		}
	}
	take("a", t0.Add(time.Minute), t0, true)
	take("b", t0.Add(2*time.Minute), t0.Add(time.Second), false) // a holds it
	take("a", t0.Add(3*time.Minute), t0.Add(time.Second), true)  // a again, longer
	take("b", t0.Add(4*time.Minute), t0.Add(2*time.Minute), false)
	take("b", t0.Add(5*time.Minute), t0.Add(3*time.Minute+time.Nanosecond), true) // a's lease ended
	if err := d.ReleaseLease(ctx, "a"); err != nil {
		t.Fatalf("release by a former holder: %v", err)
	}
	take("c", t0.Add(6*time.Minute), t0.Add(4*time.Minute), false) // still b's
	if err := d.ReleaseLease(ctx, "b"); err != nil {
		t.Fatalf("release: %v", err)
	}
	take("c", t0.Add(6*time.Minute), t0.Add(4*time.Minute), true)
	if got := ids(mustAll(t, d)); !slices.Equal(got, []string{"n1"}) {
		t.Errorf("All = %v, want only the record (never the lease)", got)
	}
}
