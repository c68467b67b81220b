package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/phonewatch/phonewatch/internal/connect/connecttest"
	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/store"
)

// pacingResult is what one scheduled run over N numbers at R/s showed.
type pacingResult struct {
	elapsed time.Duration
	// bound is (N - burst) / R: no client can describe N numbers faster without going over
	// the server's bucket of R/s and burst.
	bound                 time.Duration
	checked               int
	minDescribes          int // per number, over all numbers
	maxDescribes          int
	calls, throttled      int // requests the server received, and how many it answered 429
	lists                 int
	runErrors             int
	notificationsAccepted int64
}

// runPacing runs one scheduled Monitor.Run over o.n numbers on a Connect test server that
// answers after o.latency and throttles above o.rps with o.burst, the client limiter set to
// the same rate and burst. State is a file store in dir: its two saves per run cost a few
// milliseconds, and a fresh file per run keeps runs independent (DynamoDB on moto would add
// seconds of TransactWriteItems that say nothing about pacing).
func runPacing(ctx context.Context, o options, dir string) (pacingResult, error) {
	srv := connecttest.NewServer()
	defer srv.Close()
	ids := seed(srv, o.n)
	srv.SetLatency(o.latency)
	srv.SetRateLimit(o.rps, o.burst)

	pub := &discard{}
	mon, err := newMonitor(ctx, srv.URL, o.rps, o.burst, store.NewFile(filepath.Join(dir, "pacing-state.json")), pub)
	if err != nil {
		return pacingResult{}, err
	}
	// A Lambda's deadline, generous: the run must not stop early for lack of time.
	runCtx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()

	stopProfile, err := startCPUProfile(o.cpuProfile)
	if err != nil {
		return pacingResult{}, err
	}
	start := time.Now()
	sum, err := mon.Run(runCtx, monitor.Scope{Scheduled: true})
	elapsed := time.Since(start)
	if perr := stopProfile(); perr != nil {
		return pacingResult{}, perr
	}
	if err != nil {
		return pacingResult{}, fmt.Errorf("pacing run: %w", err)
	}

	r := pacingResult{
		elapsed:               elapsed,
		bound:                 time.Duration(float64(o.n-o.burst) / o.rps * float64(time.Second)),
		checked:               sum.Checked,
		minDescribes:          -1,
		calls:                 srv.TotalDescribes() + srv.Lists(),
		lists:                 srv.Lists(),
		throttled:             srv.Throttled(),
		runErrors:             len(sum.Errors),
		notificationsAccepted: pub.accepted.Load(),
	}
	for _, id := range ids {
		d := srv.Describes(id)
		if r.minDescribes < 0 || d < r.minDescribes {
			r.minDescribes = d
		}
		r.maxDescribes = max(r.maxDescribes, d)
	}
	return r, nil
}

// startCPUProfile writes a CPU profile of the pacing run to path ("" for none); the returned
// function stops it.
func startCPUProfile(path string) (func() error, error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path) //nolint:gosec // G304: the file the user named with --cpuprofile
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		return nil
	}, nil
}
