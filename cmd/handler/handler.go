package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"time"

	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/trigger"
)

// Handler serves one invocation: parse the event, run the monitor, report.
type Handler struct {
	Monitor *monitor.Monitor
	Log     *slog.Logger
	// Metrics receives one CloudWatch Embedded Metric Format line per run (stdout in Lambda).
	Metrics io.Writer
	Now     func() time.Time
}

// Invoke implements lambda.Handler: it takes the raw payload, so that an empty payload and
// trailing data reach the event parser as sent rather than as the runtime's JSON decoder
// would pass them on, and returns the run summary as JSON.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	sum, err := h.Run(ctx, payload)
	if err != nil {
		return nil, err
	}
	return json.Marshal(sum)
}

// Run handles one event. A bad event is rejected before anything is read or written.
func (h *Handler) Run(ctx context.Context, payload []byte) (monitor.Summary, error) {
	req, err := trigger.Parse(payload)
	if err != nil {
		err = fmt.Errorf("rejected event: %w", err)
		h.Log.ErrorContext(ctx, "rejected event", "error", err)
		return monitor.Summary{}, err
	}
	sum, err := h.Monitor.Run(ctx, monitor.Scope{
		Scheduled:      req.Scheduled,
		PhoneNumberIDs: req.PhoneNumberIDs,
		TargetARNs:     req.TargetARNs,
	})
	h.emitMetrics(sum, scheduledRuns(req, err))
	if err != nil {
		h.Log.ErrorContext(ctx, "run failed", "error", err, "summary", sum)
		return sum, err
	}
	h.Log.InfoContext(ctx, "run summary", "summary", sum)
	return sum, nil
}

// scheduledRuns is the ScheduledRuns metric of one run: 1 for a successful run that
// EventBridge or EventBridge Scheduler started, else 0. The heartbeat alarm counts these, so a
// schedule that stopped firing is noticed even while people run checks by hand.
func scheduledRuns(req trigger.Request, runErr error) int {
	if req.Source != "" && runErr == nil {
		return 1
	}
	return 0
}

// emitMetrics writes the run's metrics in CloudWatch Embedded Metric Format: CloudWatch
// extracts them from the log line, with no API call and no extra permission.
func (h *Handler) emitMetrics(sum monitor.Summary, scheduled int) {
	if h.Metrics == nil {
		return
	}
	now := h.Now()
	cloudTrailFailed := 0
	if sum.OperationsFailed {
		cloudTrailFailed = 1
	}
	counts := []struct {
		name  string
		value int
	}{
		{"Checked", sum.Checked},
		{"Failed", sum.Statuses["FAILED"]},
		{"InProgress", sum.Statuses["IN_PROGRESS"]},
		{"NotificationsSent", sum.NotificationsSent},
		{"Errors", len(sum.Errors)},
		{"ScheduledRuns", scheduled},
		// Numbers not described because they cannot have changed, and those due for the
		// sweep that this run did not reach (a backlog that grows means SWEEP_EVERY or
		// CONNECT_RPS is too tight for the watch list).
		{"Unchanged", sum.Unchanged},
		{"SweepPending", sum.SweepPending},
		// CloudTrail: operations read, and 1 when the lookup failed (the run went on without).
		{"CloudTrailOperations", sum.Operations},
		{"CloudTrailFailed", cloudTrailFailed},
		{"InvalidRecords", sum.InvalidRecords},
		{"UnconfirmedPublishes", sum.Unconfirmed},
	}
	values := make(map[string]any, len(counts)+1)
	metrics := make([]map[string]string, 0, len(counts)+1)
	for _, c := range counts {
		values[c.name] = c.value
		metrics = append(metrics, map[string]string{"Name": c.name, "Unit": "Count"})
	}
	// The claim/release budget's percentage (ClaimReleaseBudgetAlarm), when there is a budget.
	if pct := sum.BudgetPercent(); !math.IsNaN(pct) {
		values["ClaimReleaseBudgetPercent"] = math.Round(pct*10) / 10
		metrics = append(metrics, map[string]string{"Name": "ClaimReleaseBudgetPercent", "Unit": "Percent"})
	}
	if hrs := sum.HoursToNearestDeadline(now); !math.IsNaN(hrs) {
		values["HoursToNearestDeadline"] = math.Round(hrs*100) / 100
		metrics = append(metrics, map[string]string{"Name": "HoursToNearestDeadline", "Unit": "None"})
	}
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": now.UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  "PhoneWatch",
				"Dimensions": [][]string{{"FunctionName"}},
				"Metrics":    metrics,
			}},
		},
		"FunctionName": functionName(),
	}
	for k, v := range values {
		line[k] = v
	}
	b, err := json.Marshal(line)
	if err != nil {
		return
	}
	_, _ = fmt.Fprintf(h.Metrics, "%s\n", b)
}

func functionName() string {
	if n := os.Getenv("AWS_LAMBDA_FUNCTION_NAME"); n != "" {
		return n
	}
	return "phonewatch-local"
}
