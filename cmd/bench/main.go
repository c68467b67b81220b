// Command bench measures phonewatch at scale against the targets of issue 5 and prints one
// table: how close a run of N numbers comes to the Connect rate's physical bound (and that it
// describes each number once without being throttled), the init time of the built bootstrap
// under the Lambda Runtime Interface Emulator, the size of the Lambda binary, and the peak
// memory of a run over 10,000 numbers (issue 5); the runs until a failed UpdatePhoneNumber is
// announced among 2,000 numbers in 12 s runs, with and without CloudTrail (issue 10); an hour
// of 1,000 stable numbers against the old every-number-every-run behaviour, and the monthly
// cost it implies for 100, 1,000 and 10,000 numbers (issue 14). With --check it exits 1 when
// a target is missed.
//
// It runs the real pieces: monitor.Monitor wired as cmd/handler wires it, connect.New (the
// SDK and its limiter) against the connecttest server, the file store and a publisher that
// discards. `make bench` runs it from the module root.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"time"
)

const usage = `Usage: bench [flags]

Measures phonewatch against the scale targets and prints a table; --check exits 1 when one is
missed. Run from the module root (make bench ARGS="--check").

Flags:
`

// options are the command's flags.
type options struct {
	n          int
	rps        float64
	burst      int
	latency    time.Duration
	initRuns   int
	memNumbers int
	memRPS     float64
	memStore   string
	memLimit   string
	rieBin     string
	parts      []string
	check      bool
	cpuProfile string
	memProfile string
	keep       bool
}

// allParts are the measurements, in the order they run and print.
var allParts = []string{"pacing", "init", "size", "memory", "cloudtrail", "sweep"}

func main() {
	if len(os.Args) > 1 && os.Args[1] == memChildArg {
		os.Exit(memChildMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// parseOptions reads the flags; ok is false (with the exit code) when the command should stop.
func parseOptions(args []string, stderr io.Writer) (o options, code int, ok bool) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { _, _ = fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	fs.IntVar(&o.n, "n", 600, "numbers in the pacing run")
	fs.Float64Var(&o.rps, "rps", 100, "Connect rate, requests/s: the client limiter and the test server's own limiter")
	fs.IntVar(&o.burst, "burst", 10, "Connect burst, requests (client and server)")
	fs.DurationVar(&o.latency, "latency", 25*time.Millisecond, "test server latency per response")
	fs.IntVar(&o.initRuns, "init-runs", 7, "cold starts of the bootstrap under the RIE (the median is the figure)")
	fs.IntVar(&o.memNumbers, "mem-numbers", 10000, "numbers in the memory run")
	fs.Float64Var(&o.memRPS, "mem-rps", 2000, "client rate of the memory run, requests/s (no server limit)")
	fs.StringVar(&o.memStore, "mem-store", "memory", "state `store` of the memory run: memory (records kept encoded one by one, as DynamoDB keeps them) or file (store.File, which rewrites one JSON file per save)")
	fs.StringVar(&o.memLimit, "mem-limit", "", "GOMEMLIMIT of the memory run, e.g. 48MiB (default none, as a Lambda without it; GOGC is always Go's default)")
	defaultRIE := os.Getenv("RIE_BIN")
	if defaultRIE == "" {
		defaultRIE = "bin/aws-lambda-rie"
	}
	fs.StringVar(&o.rieBin, "rie", defaultRIE, "the Runtime Interface Emulator `binary` (default $RIE_BIN, else bin/aws-lambda-rie; make rie builds it)")
	only := fs.String("only", strings.Join(allParts, ","), "comma-separated `parts` to run: "+strings.Join(allParts, ", "))
	fs.BoolVar(&o.check, "check", false, "exit 1 when a target is missed")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the pacing run to `FILE` (go tool pprof FILE)")
	fs.StringVar(&o.memProfile, "memprofile", "", "write a heap profile of the memory run, taken after the garbage collection that found the most live data, to `FILE` (go tool pprof -sample_index=inuse_space FILE)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (built binaries, state files) and print its path")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, 0, false
		}
		return o, 2, false
	}
	bad := func(format string, a ...any) (options, int, bool) {
		_, _ = fmt.Fprintf(stderr, "bench: "+format+"\n", a...)
		return o, 2, false
	}
	if fs.NArg() > 0 {
		return bad("unexpected argument %q (see --help)", fs.Arg(0))
	}
	switch {
	case o.n < 1 || o.memNumbers < 1:
		return bad("--n and --mem-numbers must be at least 1")
	case o.rps <= 0 || o.memRPS <= 0:
		return bad("--rps and --mem-rps must be positive")
	case o.burst < 1 || o.burst > o.n:
		return bad("--burst must be 1..n")
	case o.latency < 0:
		return bad("--latency must not be negative")
	case o.initRuns < 1:
		return bad("--init-runs must be at least 1")
	case o.memStore != "memory" && o.memStore != "file":
		return bad("--mem-store must be memory or file")
	}
	for p := range strings.SplitSeq(*only, ",") {
		p = strings.TrimSpace(p)
		if !slices.Contains(allParts, p) {
			return bad("--only: unknown part %q (want some of %s)", p, strings.Join(allParts, ", "))
		}
		o.parts = append(o.parts, p)
	}
	return o, 0, true
}

// run measures the selected parts, prints the table and returns the exit code: 1 when a
// part could not be measured, or (with --check) when a target was missed.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, code, ok := parseOptions(args, stderr)
	if !ok {
		return code
	}
	dir, err := os.MkdirTemp("", "phonewatch-bench-")
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	if o.keep {
		_, _ = fmt.Fprintf(stderr, "bench: work directory %s\n", dir)
	} else {
		defer func() { _ = os.RemoveAll(dir) }()
	}

	t := &table{}
	failed := false
	note := func(part string, err error) {
		failed = true
		first, _, _ := strings.Cut(err.Error(), "\n") // the whole of it goes to stderr
		t.add(part, "error", first, "", broken)
		_, _ = fmt.Fprintf(stderr, "bench: %s: %v\n", part, err)
	}
	builds := &builder{dir: dir}
	for _, part := range allParts {
		if !slices.Contains(o.parts, part) {
			continue
		}
		if ctx.Err() != nil {
			note(part, ctx.Err())
			continue
		}
		_, _ = fmt.Fprintf(stderr, "bench: measuring %s...\n", part)
		switch part {
		case "pacing":
			r, err := runPacing(ctx, o, dir)
			if err != nil {
				note(part, err)
				continue
			}
			addPacing(t, o, r)
		case "init":
			r, err := runInit(ctx, o, builds, dir)
			if err != nil {
				note(part, err)
				continue
			}
			addInit(t, r)
		case "size":
			r, err := runSize(ctx, builds)
			if err != nil {
				note(part, err)
				continue
			}
			addSize(t, r)
		case "memory":
			r, err := runMemory(ctx, o, dir)
			if err != nil {
				note(part, err)
				continue
			}
			addMemory(t, o, r)
		case "cloudtrail":
			r, err := runCloudTrail(ctx, o, dir)
			if err != nil {
				note(part, err)
				continue
			}
			addCloudTrail(t, r)
		case "sweep":
			hs, err := runSweep(ctx, dir)
			if err != nil {
				note(part, err)
				continue
			}
			addSweep(t, hs)
			addCost(t, hs)
		}
	}

	_, _ = fmt.Fprintf(stdout, "phonewatch bench: N=%d, R=%g/s, burst %d, latency %s (%s, %s/%s, %d CPUs)\n\n",
		o.n, o.rps, o.burst, o.latency, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	t.print(stdout)
	missed := t.missed()
	switch {
	case failed:
		return 1
	case len(missed) > 0 && o.check:
		_, _ = fmt.Fprintf(stderr, "bench: missed: %s\n", strings.Join(missed, "; "))
		return 1
	}
	return 0
}
