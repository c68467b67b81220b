package monitor_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/monitor"
)

// TestConcurrentRunsShareConnectsRate (issue 18.5): a scheduled run and a check request at once,
// two Lambda instances each with its own Connect client paced at CONNECT_RPS, against a Connect
// test server whose own bucket is CONNECT_RPS (Connect's quota, shared by every caller of the
// account). Without the lease they ask for twice the quota and Connect throttles (the figure is
// logged: the measurement the README quotes); with the lease in the state table they describe
// one after the other, Connect throttles nothing, and both check every number they were given.
func TestConcurrentRunsShareConnectsRate(t *testing.T) {
	parallel(t)
	const rps, burst = 20, 2
	for _, leased := range []bool{false, true} {
		name := map[bool]string{false: "without the lease", true: "with the lease"}[leased]
		t.Run(name, func(t *testing.T) {
			parallel(t)
			e := newEnv(t)
			scheduled, requested := ids(1, 60), ids(2, 10)
			e.put("CLAIMED", scheduled...)
			e.put("CLAIMED", requested...)
			e.run(e.monitor(), 20*time.Second) // both sets in state: the scheduled run checks all 70
			e.connect.ResetCounters()
			// Connect's bucket refills at the clients' rate but holds a little more than one
			// client's burst: one client alone can never be throttled, however the scheduler
			// delays it on a busy machine, while two at once (twice the rate) always are.
			e.connect.SetRateLimit(rps, burst+3)

			runs := []struct {
				scope monitor.Scope
				want  int
			}{
				{monitor.Scope{Scheduled: true}, 70},
				{monitor.Scope{PhoneNumberIDs: requested}, 10},
			}
			sums := make([]monitor.Summary, len(runs))
			errs := make([]error, len(runs))
			var wg sync.WaitGroup
			for i, run := range runs {
				m := e.monitor()
				m.Source = e.source(rps, burst)
				m.InFlight = monitor.InFlightFor(rps, burst)
				if leased {
					m.Lease, m.LeaseRefill = e.store(), burst*time.Second/rps
				}
				wg.Go(func() {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					sums[i], errs[i] = m.Run(ctx, run.scope)
				})
			}
			wg.Wait()
			throttled, total := e.connect.Throttled(), e.connect.TotalDescribes()
			t.Logf("%s: Connect throttled %d of %d describes (each client at %d/s, Connect's bucket %d/s); checked %d and %d of %d and %d",
				name, throttled, total, rps, rps, sums[0].Checked, sums[1].Checked, runs[0].want, runs[1].want)
			if !leased {
				return // the measurement: what two unleased runs ask of Connect
			}
			for i, run := range runs {
				if errs[i] != nil || sums[i].Checked != run.want || !sums[i].Complete {
					t.Errorf("run %d: %v, %+v; want %d checked", i, errs[i], sums[i], run.want)
				}
			}
			if throttled != 0 {
				t.Errorf("with the lease Connect throttled %d requests, want 0: the runs together asked for more than %d/s", throttled, rps)
			}
			if recs := e.records(); len(recs) != 70 {
				t.Errorf("%d records, want 70 (the lease item is not a record)", len(recs))
			}
		})
	}
}
