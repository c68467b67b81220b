package monitor

import (
	"context"
	"time"
)

// Lease timing: how often a run waiting for the lease asks again, and how long a lease
// outlives its holder's deadline (a holder that died never releases it; a short slack keeps
// the next scheduled run from waiting long).
const (
	leasePoll  = time.Second
	leaseSlack = 5 * time.Second
)

// leaseConnect takes the Connect lease before n numbers are described, waiting (polling) while
// another live run holds it, at most until the run's deadline: a check request sent during a
// scheduled run describes after it, and neither asks Connect for more than CONNECT_RPS at any
// time. The wait is spent from the run's own budget; a run that gets no lease in time checks
// nothing (complete false, the next run resumes). A lease that cannot be read or written does
// not stop the run: the quota is a courtesy to other callers, a missed FAILED is not. It
// returns the release.
func (r *run) leaseConnect(ctx context.Context, n int) func() {
	if r.Lease == nil || n == 0 {
		return func() {}
	}
	dl, _ := ctx.Deadline() // every run has one (bound)
	until := r.now().Add(time.Until(dl) + leaseSlack)
	for {
		actx, cancel := r.attemptCtx(ctx, 0)
		ok, err := r.Lease.AcquireLease(actx, r.id, until, r.now())
		cancel()
		if err != nil {
			r.log().WarnContext(ctx, "the Connect lease could not be taken; describing without it", "error", err)
			return func() {}
		}
		if ok {
			break
		}
		r.leaseWaited = true
		t := time.NewTimer(leasePoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return func() {}
		case <-t.C:
		}
		r.log().DebugContext(ctx, "another run holds the Connect lease; waiting")
	}
	return func() {
		// A fresh context: the run's may be spent, and a lease left behind makes the next
		// run wait until it expires.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), orDefault(r.StoreTimeout, DefaultStoreTimeout))
		defer cancel()
		if err := r.Lease.ReleaseLease(rctx, r.id); err != nil {
			r.log().WarnContext(ctx, "the Connect lease could not be released; it expires", "error", err)
		}
	}
}
