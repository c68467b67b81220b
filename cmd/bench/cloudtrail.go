package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/phonewatch/phonewatch/internal/cloudtrail/cloudtrailtest"
	"github.com/phonewatch/phonewatch/internal/connect/connecttest"
)

// The cloudtrail part's setting (issue 10, point 10): 2,000 numbers, Connect at 40/s, runs
// under a 12 s function timeout.
const (
	trailNumbers = 2000
	trailRPS     = 40
	trailBurst   = 5 // CONNECT_BURST's default
	trailTimeout = 12 * time.Second
	// maxSteadyRuns bounds the runs that bring every number to its first check.
	maxSteadyRuns = 20
	// maxAnnounceRuns bounds the runs waited for the FAILED notification: past SWEEP_EVERY's
	// default of 12 periods, with room for a sweep that slips a run or two.
	maxAnnounceRuns = 16
	// operator is who runs the failing UpdatePhoneNumber.
	operator = "arn:aws:sts::123456789012:assumed-role/ConnectAdmin/alice"
)

// trailResult is what the cloudtrail part measured.
type trailResult struct {
	steadyRuns int           // runs until every number was checked once
	steadyWall time.Duration // the longest of them
	// steadyLookupErrs counts those runs' summary errors naming cloudtrail:LookupEvents (a
	// read cut by its time share is one); steadyLookups their LookupEvents calls.
	steadyLookupErrs, steadyLookups int
	on, off                         announcement // with CLOUDTRAIL on (default) and off
}

// announcement is how a new failure was found: runs from its appearance to the run that
// published FAILED for it (0: not within maxAnnounceRuns), and that run's CloudTrail calls.
type announcement struct {
	runs              int
	lookups           int
	throttled         int
	describes, errors int
}

// runCloudTrail brings 2,000 numbers to steady state with CloudTrail on, then makes an
// UpdatePhoneNumber fail for a number the sweep would reach last (checked in the last
// steady run) and counts the runs until FAILED is published for it, first with CloudTrail
// on, then from the same state with CLOUDTRAIL=false.
func runCloudTrail(ctx context.Context, o options, dir string) (trailResult, error) {
	var r trailResult
	f := &fleet{
		connect: connecttest.NewServer(), trail: cloudtrailtest.NewServer(), // CloudTrail's 2/s
		store: newMemStore(), pub: newRecorder(), clock: newSimClock(time.Now().UTC().Truncate(time.Second)),
	}
	defer f.connect.Close()
	defer f.trail.Close()
	ids := seed(f.connect, trailNumbers)
	f.connect.SetLatency(o.latency)
	f.connect.SetRateLimit(trailRPS, trailBurst)
	env := map[string]string{"CONNECT_RPS": fmt.Sprint(trailRPS), "CONNECT_BURST": fmt.Sprint(trailBurst)}
	if err := f.wire(ctx, dir, env); err != nil {
		return r, err
	}

	var last []string // the numbers the last steady run described
	for !allDescribed(f.connect, ids) {
		if r.steadyRuns == maxSteadyRuns {
			return r, fmt.Errorf("%d runs did not check all %d numbers", maxSteadyRuns, trailNumbers)
		}
		before := describedSet(f.connect, ids)
		s, err := f.run(ctx, trailTimeout)
		if err != nil {
			return r, err
		}
		r.steadyRuns++
		r.steadyWall = max(r.steadyWall, s.wall)
		r.steadyLookups += s.lookups
		for _, e := range s.sum.Errors {
			if strings.Contains(e.Error, "cloudtrail:LookupEvents") {
				r.steadyLookupErrs++
			}
		}
		last = newlyDescribed(f.connect, ids, before)
	}
	// Only a number the last run also saved can wait for the sweep: one it described but could
	// not save before its deadline is new again to the next run, which describes it first.
	saved, err := f.store.Get(ctx, last)
	if err != nil {
		return r, err
	}
	last = last[:0]
	for _, rec := range saved {
		last = append(last, rec.ID)
	}
	victim, err := lastClaimed(ids, last)
	if err != nil {
		return r, err
	}
	steady, at := f.store.clone(), f.clock.Now()

	// CloudTrail on: the call shows in the event history between two runs.
	f.trail.Add(cloudtrailtest.Update(victim, connecttest.DefaultInstanceARN, operator, at.Add(-period/2)))
	f.connect.SetStatus(victim, "FAILED", "The phone number update failed.")
	if r.on, err = f.untilAnnounced(ctx, victim, trailTimeout); err != nil {
		return r, err
	}

	// CloudTrail off, from the same steady state, the same failure.
	off := &fleet{connect: f.connect, trail: f.trail, store: steady, pub: newRecorder(), clock: f.clock}
	f.clock.set(at)
	env["CLOUDTRAIL"] = "false"
	if err := off.wire(ctx, dir, env); err != nil {
		return r, err
	}
	if r.off, err = off.untilAnnounced(ctx, victim, trailTimeout); err != nil {
		return r, err
	}
	return r, nil
}

// untilAnnounced runs until FAILED is published for id, at most maxAnnounceRuns times, and
// returns the count and the announcing run's figures.
func (f *fleet) untilAnnounced(ctx context.Context, id string, timeout time.Duration) (announcement, error) {
	for i := 1; i <= maxAnnounceRuns; i++ {
		s, err := f.run(ctx, timeout)
		if err != nil {
			return announcement{}, err
		}
		if f.pub.announced(id) {
			return announcement{runs: i, lookups: s.lookups, throttled: s.lookupsThrottled, describes: s.describes, errors: s.errors}, nil
		}
	}
	return announcement{}, nil
}

func describedSet(srv *connecttest.Server, ids []string) map[string]bool {
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		if srv.Describes(id) > 0 {
			out[id] = true
		}
	}
	return out
}

func allDescribed(srv *connecttest.Server, ids []string) bool {
	return len(describedSet(srv, ids)) == len(ids)
}

func newlyDescribed(srv *connecttest.Server, ids []string, before map[string]bool) []string {
	var out []string
	for _, id := range ids {
		if !before[id] && srv.Describes(id) > 0 {
			out = append(out, id)
		}
	}
	return out
}

// lastClaimed is the last CLAIMED number (seed makes every hundredth number FAILED and the
// next IN_PROGRESS, which are described every run anyway) among those first checked last.
func lastClaimed(all, last []string) (string, error) {
	claimed := map[string]bool{}
	for i, id := range all {
		claimed[id] = i%100 != 1 && i%100 != 2
	}
	for i := len(last) - 1; i >= 0; i-- {
		if claimed[last[i]] {
			return last[i], nil
		}
	}
	return "", errors.New("the last steady run first checked no CLAIMED number")
}

// Targets of the cloudtrail part.
const (
	maxLookupsToAnnounce = 5
	sweepRuns            = int(time.Hour / period) // SWEEP_EVERY's default in runs
)

func addCloudTrail(t *table, r trailResult) {
	setting := fmt.Sprintf("%d numbers, Connect %d/s, %s runs", trailNumbers, trailRPS, trailTimeout)
	t.add("cloudtrail", "runs to steady state (every number checked once), "+setting,
		fmt.Sprintf("%d (longest %s)", r.steadyRuns, seconds(r.steadyWall)), "", info)
	t.add("cloudtrail", "LookupEvents calls in those runs; errors naming cloudtrail:LookupEvents",
		fmt.Sprintf("%d; %d", r.steadyLookups, r.steadyLookupErrs), "0 errors", judge(r.steadyLookupErrs == 0))
	t.add("cloudtrail", "runs until a failed UpdatePhoneNumber is announced", runsText(r.on.runs), "1", judge(r.on.runs == 1))
	t.add("cloudtrail", "LookupEvents calls in that run", fmt.Sprint(r.on.lookups),
		fmt.Sprintf("<= %d", maxLookupsToAnnounce), judge(r.on.runs > 0 && r.on.lookups <= maxLookupsToAnnounce))
	t.add("cloudtrail", "throttled lookups in that run", fmt.Sprint(r.on.throttled), "0", judge(r.on.runs > 0 && r.on.throttled == 0))
	t.add("cloudtrail", "runs until announced, CLOUDTRAIL=false (sweep only)", runsText(r.off.runs),
		fmt.Sprintf("<= %d (SWEEP_EVERY)", sweepRuns), judge(r.off.runs > 0 && r.off.runs <= sweepRuns))
}

func runsText(n int) string {
	if n == 0 {
		return fmt.Sprintf("not within %d runs", maxAnnounceRuns)
	}
	return fmt.Sprint(n)
}
