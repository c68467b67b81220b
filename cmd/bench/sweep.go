package main

import (
	"context"
	"fmt"
	"time"

	"github.com/phonewatch/phonewatch/internal/cloudtrail/cloudtrailtest"
	"github.com/phonewatch/phonewatch/internal/connect/connecttest"
	"github.com/phonewatch/phonewatch/internal/status"
)

// The sweep part's setting (issue 14, point 5): 1,000 stable CLAIMED numbers over a simulated
// hour on the 5-minute schedule, under the 5-minute schedule's function timeout.
const (
	sweepNumbers  = 1000
	hourRuns      = int(time.Hour / period) // the runs of an hour, after the one that starts
	lambdaTimeout = 270 * time.Second       // template.yaml's TimeoutSeconds for rate(5 minutes)
	// fastRPS is the test's Connect rate: fast, so that the hour takes seconds. What is
	// counted is calls; durations are estimated at the deployed rate (see estimate).
	fastRPS   = 2000
	fastBurst = 50
)

// sweepMode is one way of running the hour.
type sweepMode struct {
	name string
	env  map[string]string
	// everyRun is the old behaviour: every number described every run (SweepEvery 0, which
	// SWEEP_EVERY cannot express, so it is set on the wired monitor).
	everyRun bool
}

var sweepModes = []sweepMode{
	{name: "sweep + CloudTrail (default)", env: map[string]string{}},
	{name: "sweep, CLOUDTRAIL=false", env: map[string]string{"CLOUDTRAIL": "false"}},
	{name: "every number every run (old)", env: map[string]string{"CLOUDTRAIL": "false"}, everyRun: true},
}

// hourResult is one mode's hour: the sums of the hourRuns runs after the first, and the runs
// until a new failure was announced afterwards.
type hourResult struct {
	mode      sweepMode
	runs      []runStat // the hour's runs, the starting one excluded
	published int
	announce  announcement
}

// totals sums the hour's runs.
func (h hourResult) totals() (t runStat) {
	for _, s := range h.runs {
		t.wall += s.wall
		t.cpu += s.cpu
		t.describes += s.describes
		t.lists += s.lists
		t.lookups += s.lookups
		t.lookupsThrottled += s.lookupsThrottled
		t.connectThrottled += s.connectThrottled
		t.errors += s.errors
		u := s.store
		t.store.Scans += u.Scans
		t.store.ScannedBytes += u.ScannedBytes
		t.store.ReadUnits += u.ReadUnits
		t.store.Writes += u.Writes
		t.store.WrittenBytes += u.WrittenBytes
		t.store.WriteUnits += u.WriteUnits
		t.store.CursorReads += u.CursorReads
		t.store.CursorWrites += u.CursorWrites
	}
	return t
}

// runSweep runs the hour in each mode.
func runSweep(ctx context.Context, dir string) ([]hourResult, error) {
	out := make([]hourResult, 0, len(sweepModes))
	for _, m := range sweepModes {
		h, err := runHour(ctx, dir, m)
		if err != nil {
			return out, fmt.Errorf("%s: %w", m.name, err)
		}
		out = append(out, h)
	}
	return out, nil
}

// runHour makes one starting run and hourRuns more, the clock moved a period after each; then
// makes an UpdatePhoneNumber fail for the last number and counts the runs until it is
// announced.
func runHour(ctx context.Context, dir string, m sweepMode) (hourResult, error) {
	h := hourResult{mode: m}
	f := &fleet{
		connect: connecttest.NewServer(), trail: cloudtrailtest.NewServer(),
		store: newMemStore(), pub: newRecorder(), clock: newSimClock(time.Now().UTC().Truncate(time.Second)),
	}
	defer f.connect.Close()
	defer f.trail.Close()
	ids := make([]string, sweepNumbers)
	sums := make([]status.Summary, sweepNumbers)
	for i := range sweepNumbers {
		ids[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		sums[i] = connecttest.NewSummary(ids[i], fmt.Sprintf("+1800%07d", i), "", "CLAIMED", "")
	}
	f.connect.Put(sums...)
	env := map[string]string{"CONNECT_RPS": fmt.Sprint(fastRPS), "CONNECT_BURST": fmt.Sprint(fastBurst)}
	for k, v := range m.env {
		env[k] = v
	}
	if err := f.wire(ctx, dir, env); err != nil {
		return h, err
	}
	if m.everyRun {
		f.mon.SweepEvery = 0
	}
	for i := range hourRuns + 1 {
		s, err := f.run(ctx, lambdaTimeout)
		if err != nil {
			return h, err
		}
		if i > 0 {
			h.runs = append(h.runs, s)
		}
	}
	h.published = f.pub.count()

	victim := ids[len(ids)-1]
	f.trail.Add(cloudtrailtest.Update(victim, connecttest.DefaultInstanceARN, operator, f.clock.Now().Add(-period/2)))
	f.connect.SetStatus(victim, "FAILED", "The phone number update failed.")
	var err error
	h.announce, err = f.untilAnnounced(ctx, victim, lambdaTimeout)
	return h, err
}
