package cloudtrail_test

import (
	"context"
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/budget"
	"github.com/phonewatch/phonewatch/internal/cloudtrail/cloudtrailtest"
)

const bob = "arn:aws:sts::123456789012:assumed-role/Bulk/bob"

// The ledger reads every accepted claim and release, of any number, and nothing else.
func TestAcceptedKeepsOnlyAcceptedCallsOfTheName(t *testing.T) {
	srv := newServer(t)
	srv.Add(
		cloudtrailtest.Claim("+18005550100", instance, id(1), alice, t0),
		cloudtrailtest.Claim("+18005550101", instance, "", bob, t0.Add(time.Minute)).Refused("ResourceConflictException", "taken"),
		cloudtrailtest.Release(id(2), bob, t0.Add(2*time.Minute)),
		cloudtrailtest.Release(id(3), bob, t0.Add(3*time.Minute)).Refused("AccessDeniedException", "no"),
		cloudtrailtest.Update(id(1), instance, alice, t0.Add(4*time.Minute)),
	)
	r := newReader(srv)
	ctx := context.Background()
	claims, complete, _, err := r.Accepted(ctx, budget.OpClaim, t0.Add(-time.Hour), t0.Add(time.Hour), 5)
	if err != nil || !complete || len(claims) != 1 || claims[0].Number != id(1) || claims[0].By != alice {
		t.Fatalf("claims %+v complete %v err %v; want the one accepted claim", claims, complete, err)
	}
	releases, _, _, err := r.Accepted(ctx, budget.OpRelease, t0.Add(-time.Hour), t0.Add(time.Hour), 5)
	if err != nil || len(releases) != 1 || releases[0].Number != id(2) || !releases[0].At.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("releases %+v err %v; want the one accepted release", releases, err)
	}
}

// A back-fill larger than the page budget goes on where it stopped, and every call is read.
func TestAcceptedResumesBelowWhereItStopped(t *testing.T) {
	srv := newServer(t)
	const n = 120 // three pages of 50
	for i := range n {
		srv.Add(cloudtrailtest.Release(id(i), bob, t0.Add(time.Duration(i)*time.Second)))
	}
	r := newReader(srv)
	ctx := context.Background()
	from, to := t0.Add(-time.Hour), t0.Add(time.Hour)
	seen := map[string]bool{}
	runs := 0
	for ; ; runs++ {
		es, complete, down, err := r.Accepted(ctx, budget.OpRelease, from, to, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			seen[e.EventID] = true
		}
		if complete {
			break
		}
		if !down.Before(to) {
			t.Fatalf("run %d made no progress (down %v)", runs, down)
		}
		to = down
	}
	if len(seen) != n || runs != 2 {
		t.Fatalf("read %d distinct calls in %d runs, want %d in 2 (plus the last)", len(seen), runs+1, n)
	}
}

// The first lookup's error comes back with what was read.
func TestAcceptedError(t *testing.T) {
	srv := newServer(t)
	srv.Add(cloudtrailtest.Release(id(1), bob, t0))
	srv.FailNext(400, "AccessDeniedException", 1)
	_, complete, down, err := newReader(srv).Accepted(context.Background(), budget.OpRelease, t0.Add(-time.Hour), t0, 5)
	if err == nil || complete || !down.Equal(t0) {
		t.Fatalf("complete %v down %v err %v; want an error, incomplete, nothing read", complete, down, err)
	}
}
