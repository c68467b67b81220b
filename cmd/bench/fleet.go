package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/phonewatch/phonewatch/internal/app"
	"github.com/phonewatch/phonewatch/internal/cloudtrail"
	"github.com/phonewatch/phonewatch/internal/cloudtrail/cloudtrailtest"
	"github.com/phonewatch/phonewatch/internal/config"
	"github.com/phonewatch/phonewatch/internal/connect/connecttest"
	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/status"
)

// period is the default schedule: the simulated clock moves this much between runs.
const period = 5 * time.Minute

// fleet is a monitor wired by app.NewMonitor, as the Lambda's is, from environment variables
// read by config.Load, on test servers: Connect (connecttest), CloudTrail (cloudtrailtest;
// used only when CLOUDTRAIL is on), state in a memStore, a publisher that records FAILED
// notifications, and a clock the bench moves a schedule period after each run.
type fleet struct {
	connect *connecttest.Server
	trail   *cloudtrailtest.Server
	store   *memStore
	pub     *recorder
	clock   *simClock
	mon     *monitor.Monitor
	reader  *cloudtrail.Reader // nil when CLOUDTRAIL is off
}

// wire builds f.mon from env (CONNECT_RPS, CLOUDTRAIL, SWEEP_EVERY...) on f's servers and
// store; dir holds the AWS config file that points the SDK clients at the servers.
func (f *fleet) wire(ctx context.Context, dir string, env map[string]string) error {
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, false, app.Checks)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	awsCfg, err := endpointsConfig(ctx, dir, map[string]string{"connect": f.connect.URL, "cloudtrail": f.trail.URL})
	if err != nil {
		return err
	}
	f.mon = app.NewMonitor(cfg, awsCfg, f.store, f.pub, f.clock.Now, slog.New(slog.DiscardHandler))
	f.reader, _ = f.mon.Operations.(*cloudtrail.Reader)
	return nil
}

// endpointsConfig loads an AWS configuration whose shared config file sets each service's
// endpoint_url (a "services" section), so that app.NewMonitor's clients, which take no
// endpoint option, reach the test servers exactly as a deployed function reaches AWS.
func endpointsConfig(ctx context.Context, dir string, endpoints map[string]string) (aws.Config, error) {
	text := "[profile bench]\nservices = bench\n\n[services bench]\n"
	for service, url := range endpoints {
		text += fmt.Sprintf("%s =\n  endpoint_url = %s\n", service, url)
	}
	path := filepath.Join(dir, "aws-config-"+newRunID())
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return aws.Config{}, fmt.Errorf("AWS config file: %w", err)
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRegion(benchRegion),
		awsconfig.WithSharedConfigFiles([]string{path}),
		awsconfig.WithSharedCredentialsFiles([]string{}),
		awsconfig.WithSharedConfigProfile("bench"),
		awsconfig.WithCredentialsProvider(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "bench", SecretAccessKey: "bench", Source: "phonewatch bench"}, nil
		})),
	)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	return cfg, nil
}

// runStat is what one scheduled run did, from the servers' and the store's counters.
type runStat struct {
	wall, cpu        time.Duration
	describes, lists int
	connectThrottled int
	lookups          int // LookupEvents requests the reader sent, retries included
	lookupsThrottled int // throttled answers, as the reader and the server counted them
	store            storeUsage
	checked          int
	errors           int
	sum              monitor.Summary
}

// run makes one scheduled run with a Lambda deadline of timeout, then moves the clock on
// one period.
func (f *fleet) run(ctx context.Context, timeout time.Duration) (runStat, error) {
	d0, l0, th0 := f.connect.TotalDescribes(), f.connect.Lists(), f.connect.Throttled()
	ct0, cth0 := f.trail.Calls(), f.trail.Throttled()
	var rl0, rth0 int64
	if f.reader != nil {
		rl0, rth0 = f.reader.Lookups(), f.reader.Throttled()
	}
	u0 := f.store.Usage()
	cpu0 := cpuTime()
	start := time.Now()

	runCtx, cancel := context.WithTimeout(ctx, timeout)
	sum, err := f.mon.Run(runCtx, monitor.Scope{Scheduled: true})
	cancel()
	s := runStat{wall: time.Since(start), cpu: cpuTime() - cpu0, sum: sum}
	f.clock.advance(period)
	if err != nil {
		return s, fmt.Errorf("run at %s: %w", f.clock.Now().Add(-period).Format(time.RFC3339), err)
	}
	s.describes, s.lists = f.connect.TotalDescribes()-d0, f.connect.Lists()-l0
	s.connectThrottled = f.connect.Throttled() - th0
	s.lookups = f.trail.Calls() - ct0
	s.lookupsThrottled = f.trail.Throttled() - cth0
	if f.reader != nil {
		s.lookups = max(s.lookups, int(f.reader.Lookups()-rl0))
		s.lookupsThrottled = max(s.lookupsThrottled, int(f.reader.Throttled()-rth0))
	}
	s.store = f.store.Usage().minus(u0)
	s.checked, s.errors = sum.Checked, len(sum.Errors)
	return s, nil
}

// cpuTime is this process's user and system CPU time so far: the monitor's and the test
// servers' alike, so a run's share is an upper bound of the monitor's own.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// minus is u less an earlier reading.
func (u storeUsage) minus(o storeUsage) storeUsage {
	return storeUsage{
		Scans: u.Scans - o.Scans, ScannedBytes: u.ScannedBytes - o.ScannedBytes, ReadUnits: u.ReadUnits - o.ReadUnits,
		Writes: u.Writes - o.Writes, WrittenBytes: u.WrittenBytes - o.WrittenBytes, WriteUnits: u.WriteUnits - o.WriteUnits,
		CursorReads: u.CursorReads - o.CursorReads, CursorWrites: u.CursorWrites - o.CursorWrites,
	}
}

// simClock is the monitor's clock: it stands still during a run and moves only when told.
type simClock struct {
	mu sync.Mutex
	t  time.Time
}

func newSimClock(t time.Time) *simClock { return &simClock{t: t} }

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *simClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *simClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// recorder is a monitor.Publisher that accepts every notification, sends nothing, and
// remembers which numbers a FAILED notification was published for.
type recorder struct {
	mu        sync.Mutex
	published int
	failed    map[string]bool
}

func newRecorder() *recorder { return &recorder{failed: map[string]bool{}} }

func (p *recorder) Publish(_ context.Context, ns []status.Notification) []error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range ns {
		p.published++
		if n.Event == status.EventFailed {
			p.failed[n.Number.ID] = true
		}
	}
	return make([]error, len(ns))
}

func (p *recorder) announced(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failed[id]
}

func (p *recorder) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.published
}
