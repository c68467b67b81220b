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

// leaseConnect takes the Connect lease before the run lists and describes, waiting (polling) while
// another live run holds it, at most until the run's deadline: a check request sent during a
// scheduled run describes after it, and neither asks Connect for more than CONNECT_RPS at any
// time. The wait is spent from the run's own budget; a run that gets no lease in time checks
// nothing (complete false, the next run resumes). A lease that cannot be read or written does
// not stop the run: the quota is a courtesy to other callers, a missed FAILED is not. It
// returns the release.
func (r *run) leaseConnect(ctx context.Context) func() {
	if r.Lease == nil {
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
			if r.leaseWaited {
				sleep(ctx, r.LeaseRefill) // out of time: the checks will say so
			}
			break
		}
		r.leaseWaited = true
		if !sleep(ctx, leasePoll) {
			return func() {}
		}
		r.log().DebugContext(ctx, "another run holds the Connect lease; waiting")
	}
	released := false
	return func() {
		if released {
			return
		}
		released = true
		// A fresh context: the run's may be spent, and a lease left behind makes the next
		// run wait until it expires.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), orDefault(r.StoreTimeout, DefaultStoreTimeout))
		defer cancel()
		if err := r.Lease.ReleaseLease(rctx, r.id); err != nil {
			r.log().WarnContext(ctx, "the Connect lease could not be released; it expires", "error", err)
		}
	}
}

// sleep waits d, or less if ctx ends first; it reports whether the whole wait passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
