package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/connect/connecttest"
	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/status"
	"github.com/phonewatch/phonewatch/internal/store"
)

// emfLine is the part of the EMF line the tests read.
type emfLine struct {
	AWS struct {
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	} `json:"_aws"`
	FunctionName  string
	ScheduledRuns *int
}

// TestScheduledRunsMetric runs the handler over the sample numbers (file store, printing
// publisher) with each kind of payload and reads the EMF line it writes: ScheduledRuns is 1
// only for a successful run that EventBridge or EventBridge Scheduler started, so that the
// heartbeat alarm cannot be kept quiet by `{}`, manual runs or check requests.
func TestScheduledRunsMetric(t *testing.T) {
	testCases := []struct {
		name  string
		event string // a file of events/, or the payload itself
		want  int
	}{
		{"EventBridge Scheduler", "scheduler-event.json", 1},
		{"EventBridge rule", "scheduled-event.json", 1},
		{"empty object (a manual run)", "empty.json", 0},
		{"empty payload (a manual run)", "", 0},
		{"check request", `{"phoneNumberIds":["7c1e5a0b-3f64-4d2a-9e87-1b0c6d4f2a95"]}`, 0},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			payload := []byte(tc.event)
			if filepath.Ext(tc.event) == ".json" {
				var err error
				if payload, err = os.ReadFile(filepath.Join("..", "..", "events", tc.event)); err != nil {
					t.Fatal(err)
				}
			}
			line := runForMetrics(t, payload, nil)
			if line.ScheduledRuns == nil {
				t.Fatalf("the EMF line has no ScheduledRuns value")
			}
			if *line.ScheduledRuns != tc.want {
				t.Errorf("ScheduledRuns = %d, want %d", *line.ScheduledRuns, tc.want)
			}
			declared := line.AWS.CloudWatchMetrics
			if len(declared) != 1 || declared[0].Namespace != "PhoneWatch" ||
				!slices.ContainsFunc(declared[0].Metrics, func(m struct{ Name, Unit string }) bool {
					return m.Name == "ScheduledRuns" && m.Unit == "Count"
				}) {
				t.Errorf("ScheduledRuns is not declared as a PhoneWatch Count metric: %+v", declared)
			}
		})
	}
}

// TestScheduledRunsMetricFailedRun: a scheduled run that fails (not one number could be
// checked) is no heartbeat.
func TestScheduledRunsMetricFailedRun(t *testing.T) {
	payload, err := os.ReadFile(filepath.Join("..", "..", "events", "scheduler-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	line := runForMetrics(t, payload, failingSource{})
	if line.ScheduledRuns == nil || *line.ScheduledRuns != 0 {
		t.Errorf("ScheduledRuns = %v after a failed scheduled run, want 0", line.ScheduledRuns)
	}
}

// failingSource is a Connect that answers nothing: every list and describe fails.
type failingSource struct{}

func (failingSource) List(context.Context, []string) ([]status.Number, error) {
	return nil, context.DeadlineExceeded
}

func (failingSource) Describe(context.Context, string) (*status.Summary, error) {
	return nil, context.DeadlineExceeded
}

// oneNumber is a Connect holding the sample's FAILED number.
type oneNumber struct{}

const sampleID = "7c1e5a0b-3f64-4d2a-9e87-1b0c6d4f2a95"

func (oneNumber) List(context.Context, []string) ([]status.Number, error) {
	return []status.Number{{ID: sampleID}}, nil
}

func (oneNumber) Describe(context.Context, string) (*status.Summary, error) {
	s := connecttest.NewSummary(sampleID, "+18005550100", "", "FAILED", "claim failed")
	return &s, nil
}

// discard accepts every notification and sends nothing.
type discard struct{}

func (discard) Publish(_ context.Context, ns []status.Notification) []error {
	return make([]error, len(ns))
}

// runForMetrics invokes a Handler wired on one FAILED number (a file store in a temporary
// folder), with src, if set, in place of it, and returns its EMF line.
func runForMetrics(t *testing.T, payload []byte, src monitor.Source) emfLine {
	t.Helper()
	out := emitted(t, payload, src)
	var line emfLine
	if err := json.Unmarshal(out, &line); err != nil {
		t.Fatalf("the handler wrote no EMF line (%v):\n%s", err, out)
	}
	return line
}

// emitted is the EMF line of one invocation, as written.
func emitted(t *testing.T, payload []byte, src monitor.Source) []byte {
	t.Helper()
	now := func() time.Time { return time.Date(2026, 11, 26, 5, 40, 0, 0, time.UTC) }
	log := slog.New(slog.DiscardHandler)
	mon := &monitor.Monitor{
		Source:    oneNumber{},
		Store:     store.NewFile(filepath.Join(t.TempDir(), "state.json")),
		Publisher: discard{},
		Policy:    status.DefaultPolicy(),
		Now:       now,
		InFlight:  1,
		Log:       log,
	}
	if src != nil {
		mon.Source = src
		mon.PhoneNumberIDs = []string{sampleID}
	}
	var out bytes.Buffer
	h := &Handler{Monitor: mon, Log: log, Metrics: &out, Now: now}
	_, _ = h.Run(context.Background(), payload)
	return out.Bytes()
}

// TestEveryDeclaredMetricHasAValue: CloudWatch drops a declared metric without a value, and a
// value without a declaration is no metric; the dashboard graphs these names.
func TestEveryDeclaredMetricHasAValue(t *testing.T) {
	payload, err := os.ReadFile(filepath.Join("..", "..", "events", "scheduler-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := emitted(t, payload, nil)
	var line emfLine
	var raw map[string]any
	if err := errors.Join(json.Unmarshal(out, &line), json.Unmarshal(out, &raw)); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range line.AWS.CloudWatchMetrics[0].Metrics {
		names = append(names, m.Name)
		if _, ok := raw[m.Name]; !ok {
			t.Errorf("metric %s is declared but has no value", m.Name)
		}
	}
	for _, want := range []string{"Checked", "Unchanged", "SweepPending", "CloudTrailOperations", "CloudTrailFailed",
		"InvalidRecords", "UnconfirmedPublishes", "ScheduledRuns", "HoursToNearestDeadline"} {
		if !slices.Contains(names, want) {
			t.Errorf("metric %s is not declared (declared: %v)", want, names)
		}
	}
}
