package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/phonewatch/phonewatch/internal/cloudtrail/cloudtrailtest"
	"github.com/phonewatch/phonewatch/internal/connect/connecttest"
)

// initResult is the init time of each cold start, and how the invocation went.
type initResult struct {
	initMs     []float64
	invocation string
}

// runInit builds the bootstrap for this machine's architecture and starts it o.initRuns times
// under a fresh Runtime Interface Emulator, invoking it once each time. Connect and CloudTrail
// are test servers; DynamoDB and SNS are moto when it can be found, so that the invocation succeeds.
// Without moto the invocation is a rejected event instead: the handler validates the event
// before it calls anything, and init, which is what is measured, is the same either way.
func runInit(ctx context.Context, o options, b *builder, dir string) (initResult, error) {
	rie, err := filepath.Abs(o.rieBin)
	if err == nil {
		_, err = os.Stat(rie)
	}
	if err != nil {
		return initResult{}, fmt.Errorf("the Runtime Interface Emulator %s (make rie builds it, or set RIE_BIN): %w", o.rieBin, err)
	}
	bootstrap, err := b.bootstrap(ctx, runtime.GOARCH)
	if err != nil {
		return initResult{}, err
	}

	srv := connecttest.NewServer()
	defer srv.Close()
	srv.Put(
		connecttest.NewSummary("10000000-0000-4000-8000-000000000001", "+18005550101", "", "CLAIMED", ""),
		connecttest.NewSummary("10000000-0000-4000-8000-000000000002", "+18005550102", "", "FAILED", "The claim failed."),
		connecttest.NewSummary("10000000-0000-4000-8000-000000000003", "+18005550103", "", "IN_PROGRESS", ""),
	)
	// CloudTrail is on by default: its test server keeps the run's lookups off the network.
	trail := cloudtrailtest.NewServer()
	defer trail.Close()
	name := "phonewatch-bench-" + newRunID()
	env := map[string]string{
		"TOPIC_ARN":                   "arn:aws:sns:us-east-1:123456789012:" + name,
		"STATE_TABLE":                 name,
		"AWS_REGION":                  benchRegion,
		"AWS_ACCESS_KEY_ID":           "bench",
		"AWS_SECRET_ACCESS_KEY":       "bench",
		"AWS_ENDPOINT_URL_CONNECT":    srv.URL,
		"AWS_ENDPOINT_URL_CLOUDTRAIL": trail.URL,
		// As in Lambda, no shared config or credentials files.
		"AWS_CONFIG_FILE":             filepath.Join(dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "no-aws-credentials"),
		"HOME":                        dir,
		"PATH":                        os.Getenv("PATH"),
	}
	event := `{"benchmark": "init only"}` // rejected by the handler: see above
	motoURL, stopMoto, err := startMoto(ctx)
	switch {
	case errors.Is(err, errNoMoto):
	case err != nil:
		return initResult{}, err
	default:
		defer stopMoto()
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(benchRegion),
			awsconfig.WithCredentialsProvider(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: "bench", SecretAccessKey: "bench"}, nil
			})))
		if err != nil {
			return initResult{}, fmt.Errorf("AWS configuration: %w", err)
		}
		topic, err := provision(ctx, awsCfg, motoURL, name)
		if err != nil {
			return initResult{}, err
		}
		env["TOPIC_ARN"], env["AWS_ENDPOINT_URL_DYNAMODB"], env["AWS_ENDPOINT_URL_SNS"] = topic, motoURL, motoURL
		event = `{}` // a scheduled run
	}

	var r initResult
	for i := range o.initRuns {
		ms, invocation, err := coldStart(ctx, rie, bootstrap, dir, env, event)
		if err != nil {
			return r, fmt.Errorf("cold start %d: %w", i+1, err)
		}
		r.initMs = append(r.initMs, ms)
		if i == 0 {
			r.invocation = invocation // the first run's: later runs find its state
		}
	}
	if motoURL == "" {
		r.invocation = "no moto_server, so a rejected event: " + r.invocation
	}
	return r, nil
}

// The RIE's lines that carry the init time. INIT REPORT times the runtime domain's init, from
// just before the bootstrap is started to its first request for an event. The REPORT line's
// Init Duration times that in older RIE versions; in newer ones it times only the sandbox
// reservation, so it is the fallback.
var (
	initReportRE   = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
	initDurationRE = regexp.MustCompile(`REPORT RequestId: .*Init Duration: ([0-9.]+) ms`)
)

// parseInit returns the init time in ms from the RIE's output lines.
func parseInit(lines []string) (float64, error) {
	for _, re := range []*regexp.Regexp{initReportRE, initDurationRE} {
		for _, l := range lines {
			if m := re.FindStringSubmatch(l); m != nil {
				ms, err := strconv.ParseFloat(m[1], 64)
				if err != nil {
					return 0, fmt.Errorf("init time in %q: %w", l, err)
				}
				return ms, nil
			}
		}
	}
	return 0, errors.New("the RIE printed neither INIT REPORT nor an Init Duration")
}

// coldStart starts a fresh RIE over bootstrap, invokes it once with event and returns the init
// time it reported and a short account of the invocation's answer.
func coldStart(ctx context.Context, rie, bootstrap, dir string, env map[string]string, event string) (float64, string, error) {
	ports := make([]int, 2)
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return 0, "", err
		}
		ports[i] = p
	}
	emulator := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	api := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))

	out := &lineLog{}
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", emulator, "--runtime-api-address", api, bootstrap) //nolint:gosec // G204: the RIE the user named, over the bootstrap built here
	cmd.Dir = dir
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	slices.Sort(cmd.Env)
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so that ending it also ends the bootstrap it started; and it dies
	// with this process, however that ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return 0, "", fmt.Errorf("start the RIE: %w", err)
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	fail := func(err error) (float64, string, error) {
		return 0, "", fmt.Errorf("%w\nRIE output:\n%s", err, strings.Join(out.all(), "\n"))
	}

	if err := waitListening(ctx, emulator, 10*time.Second); err != nil {
		return fail(err)
	}
	invokeCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(invokeCtx, http.MethodPost,
		"http://"+emulator+"/2015-03-31/functions/function/invocations", strings.NewReader(event))
	if err != nil {
		return fail(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fail(fmt.Errorf("invoke: %w", err))
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return fail(fmt.Errorf("invoke: read the answer: %w", err))
	}
	// The RIE prints REPORT just after it answers.
	if !out.waitFor("REPORT RequestId", 5*time.Second) {
		return fail(errors.New("no REPORT line from the RIE within 5 s of the answer"))
	}
	ms, err := parseInit(out.all())
	if err != nil {
		return fail(err)
	}
	return ms, describeAnswer(resp.StatusCode, body), nil
}

// describeAnswer sums up an invocation's answer: the run summary's counts, or the error.
func describeAnswer(code int, body []byte) string {
	var answer struct {
		Checked      *int   `json:"checked"`
		Complete     bool   `json:"complete"`
		Sent         int    `json:"notificationsSent"`
		ErrorMessage string `json:"errorMessage"`
		Errors       []any  `json:"errors"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || (answer.Checked == nil && answer.ErrorMessage == "") {
		return fmt.Sprintf("HTTP %d: %.120s", code, bytes.TrimSpace(body))
	}
	if answer.ErrorMessage != "" {
		return fmt.Sprintf("error: %.60s", answer.ErrorMessage)
	}
	return fmt.Sprintf("ok: checked %d, %d notifications sent, %d errors, complete %t",
		*answer.Checked, answer.Sent, len(answer.Errors), answer.Complete)
}

// lineLog collects a process's output as lines, safe for its stdout and stderr at once.
type lineLog struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.lines = append(l.lines, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
}

func (l *lineLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

// waitFor reports whether a line containing s arrived within timeout.
func (l *lineLog) waitFor(s string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if slices.ContainsFunc(l.all(), func(line string) bool { return strings.Contains(line, s) }) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
