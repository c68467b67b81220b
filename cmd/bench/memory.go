package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/phonewatch/phonewatch/internal/connect/connecttest"
	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/store"
)

// memChildArg, as the first argument, makes the command the memory run's child process: a
// process of its own, so that its peak memory is the monitor's alone and not the test
// server's (which holds every number and answers every request).
const memChildArg = "memory-child"

// memRounds is how many scheduled runs the child makes: the first from empty state, then
// one that reads the state of every number first, as every later Lambda run does.
const memRounds = 2

// memResult is what the child measured; it prints it as JSON.
type memResult struct {
	// PeakHeapBytes is the largest /memory/classes/heap/objects:bytes sampled (every
	// millisecond): live objects and dead ones not yet swept.
	PeakHeapBytes int64
	// PeakRuntimeBytes is the largest memory the Go runtime held and had not returned to
	// the operating system (/memory/classes/total minus heap/released).
	PeakRuntimeBytes int64
	// VmHWMBytes is the process's peak resident set size, from /proc/self/status: what the
	// Lambda's memory limit holds it to.
	VmHWMBytes int64
	// StartRSSBytes is the resident set size before the monitor is built: the runtime and
	// the packages' init, which any run pays.
	StartRSSBytes int64
	Rounds        []memRound
}

type memRound struct {
	Checked, Errors int
	Seconds         float64
}

func (r memResult) allChecked(n int) bool {
	for _, rd := range r.Rounds {
		if rd.Checked != n || rd.Errors != 0 {
			return false
		}
	}
	return len(r.Rounds) > 0
}

// runMemory serves o.memNumbers numbers from a test server (latency o.latency, no server
// limit) and runs the child process against it, at o.memRPS.
func runMemory(ctx context.Context, o options, dir string) (memResult, error) {
	srv := connecttest.NewServer()
	defer srv.Close()
	seed(srv, o.memNumbers)
	srv.SetLatency(o.latency)

	self, err := os.Executable()
	if err != nil {
		return memResult{}, fmt.Errorf("find this command's binary to run the memory child: %w", err)
	}
	cmd := exec.CommandContext(ctx, self, memChildArg, //nolint:gosec // G204: this very binary, with arguments built here
		"-url", srv.URL,
		"-rps", strconv.FormatFloat(o.memRPS, 'g', -1, 64),
		"-burst", strconv.Itoa(o.burst),
		"-store", o.memStore,
		"-memprofile", o.memProfile,
		"-state", filepath.Join(dir, "memory-state.json"))
	// The child runs with Go's default garbage collector settings, as a Lambda does unless
	// its configuration sets them, or with --mem-limit as GOMEMLIMIT.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOGC=") && !strings.HasPrefix(kv, "GOMEMLIMIT=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if o.memLimit != "" {
		cmd.Env = append(cmd.Env, "GOMEMLIMIT="+o.memLimit)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return memResult{}, fmt.Errorf("memory child: %w\n%s", err, stderr.String())
	}
	var r memResult
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return memResult{}, fmt.Errorf("memory child's result %q: %w", stdout.String(), err)
	}
	return r, nil
}

// memChildMain is the child: it wires a monitor as the handler does, with the chosen store
// and a discarding publisher, runs it memRounds times over every number of the server while
// sampling the heap, and prints a memResult.
func memChildMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(memChildArg, flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "Connect endpoint")
	rps := fs.Float64("rps", 0, "client rate")
	burst := fs.Int("burst", 1, "client burst")
	storeKind := fs.String("store", "memory", "memory or file")
	statePath := fs.String("state", "", "state file of the file store")
	profilePath := fs.String("memprofile", "", "heap profile at the live heap's peak")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		_, _ = fmt.Fprintf(stderr, "%s: %v\n", memChildArg, err)
		return 1
	}
	if *url == "" || *statePath == "" || *rps <= 0 {
		return fail(errors.New("want -url, -rps and -state"))
	}

	var r memResult
	var err error
	if r.StartRSSBytes, err = procStatus("VmRSS"); err != nil {
		return fail(err)
	}
	ctx := context.Background()
	var st monitor.Store = newMemStore()
	if *storeKind == "file" {
		st = store.NewFile(*statePath)
	}
	mon, err := newMonitor(ctx, *url, *rps, *burst, st, &discard{})
	if err != nil {
		return fail(err)
	}
	peak := startSampler(time.Millisecond, *profilePath)
	for range memRounds {
		runCtx, cancel := context.WithTimeout(ctx, 15*time.Minute)
		start := time.Now()
		sum, err := mon.Run(runCtx, monitor.Scope{Scheduled: true})
		cancel()
		if err != nil {
			return fail(fmt.Errorf("run: %w", err))
		}
		r.Rounds = append(r.Rounds, memRound{Checked: sum.Checked, Errors: len(sum.Errors), Seconds: time.Since(start).Seconds()})
	}
	r.PeakHeapBytes, r.PeakRuntimeBytes = peak()
	if r.VmHWMBytes, err = procStatus("VmHWM"); err != nil {
		return fail(err)
	}
	if err := json.NewEncoder(stdout).Encode(r); err != nil {
		return fail(err)
	}
	return 0
}

// startSampler samples the Go heap every interval until the returned function is called,
// which returns the peaks of heap objects and of runtime memory not released to the OS. With
// a profile path, it writes there a heap profile each time a garbage collection finds more
// live data than any before: the profile's in-use figures are those of the latest collection,
// so the last one written shows what the live heap held at its peak.
func startSampler(interval time.Duration, profile string) func() (heap, runtime int64) {
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}
	var peakHeap, peakRuntime, peakLive int64
	sample := func() {
		metrics.Read(samples)
		peakHeap = max(peakHeap, bytesOf(samples[0]))
		peakRuntime = max(peakRuntime, bytesOf(samples[1])-bytesOf(samples[2]))
		if live := bytesOf(samples[3]); live > peakLive {
			peakLive = live
			if profile != "" {
				writeHeapProfile(profile)
			}
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	})
	return func() (int64, int64) {
		close(done)
		wg.Wait()
		sample()
		return peakHeap, peakRuntime
	}
}

// bytesOf is a runtime/metrics byte count as an int64 (no process holds 2^63 bytes).
func bytesOf(s metrics.Sample) int64 {
	return int64(min(s.Value.Uint64(), math.MaxInt64)) //nolint:gosec // G115: clamped just here
}

// writeHeapProfile writes the heap profile to path; a failure only costs the profile.
func writeHeapProfile(path string) {
	f, err := os.Create(path) //nolint:gosec // G304: the file the user named with --memprofile
	if err != nil {
		return
	}
	_ = pprof.Lookup("heap").WriteTo(f, 0)
	_ = f.Close()
}

// procStatus reads a size in bytes from /proc/self/status: field VmHWM is the process's peak
// resident set size, VmRSS its current one.
func procStatus(field string) (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("%s: %w", field, err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s %q: %w", field, v, err)
			}
			return kb * 1024, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("%s: %w", field, err)
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", field)
}
