package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/budget"
	"github.com/phonewatch/phonewatch/internal/store"
)

// A state whose ledger holds 8 claims and releases against a quota of 5 (limit 10): status
// shows the budget line under the table, and --budget --json the object.
func TestStatusBudget(t *testing.T) {
	at := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	state := filepath.Join(t.TempDir(), "state.json")
	st := store.NewFile(state)
	ctx := context.Background()
	var es []budget.Entry
	for i := range 8 {
		es = append(es, budget.Entry{EventID: fmt.Sprint("ev", i), Name: budget.OpClaim, At: at.Add(-time.Duration(8-i) * time.Hour),
			By: "arn:aws:sts::123456789012:assumed-role/Bulk/script"})
	}
	if err := st.AddLedger(ctx, es); err != nil {
		t.Fatal(err)
	}
	acct := budget.Account{Coverage: budget.Coverage{Since: at.Add(-budget.Retention), To: at},
		State: budget.State{Announced: 75}, Quota: 5, QuotaSource: "Service Quotas connect/L-8F812903"}
	if _, err := st.SaveBudgetAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}

	out, errOut, code := phonewatch(t, "status", "--state", state, "--at", "2026-11-26T06:00:00Z")
	if code != exitOK || errOut != "" || !strings.Contains(out, "Claim/release budget: at least 8 of 10 in the last 180 days (80%") ||
		!strings.Contains(out, "BUDGET 75% sent") {
		t.Errorf("status: exit %d, stderr %q, output:\n%s", code, errOut, out)
	}
	out, _, code = phonewatch(t, "status", "--state", state, "--at", "2026-11-26T06:00:00Z", "--budget", "--json")
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil || code != exitOK {
		t.Fatalf("status --budget --json: exit %d, %v:\n%s", code, err, out)
	}
	if v["used"] != 8.0 || v["limit"] != 10.0 || v["threshold"] != 75.0 || v["windowDays"] != 180.0 || v["lowerBound"] != true ||
		v["oldestCountedAt"] != "2026-11-25T22:00:00Z" {
		t.Errorf("budget object %s", out)
	}
	// PHONE_NUMBER_QUOTA overrides what the last run used.
	t.Setenv("PHONE_NUMBER_QUOTA", "99")
	out, _, _ = phonewatch(t, "status", "--state", state, "--at", "2026-11-26T06:00:00Z", "--budget")
	if !strings.Contains(out, "8 of 198") {
		t.Errorf("with PHONE_NUMBER_QUOTA=99: %s", out)
	}
}

// A local run without AWS (the README's first command): the budget is off with a plain reason,
// no error about Service Quotas or a Region, and the run has no errors.
func TestLocalRunBudgetOffPlainly(t *testing.T) {
	isolate(t)
	t.Setenv("AWS_REGION", "")
	t.Setenv("PHONE_NUMBER_QUOTA", "")
	state := filepath.Join(t.TempDir(), "state.json")
	out, errOut, code := checkSample(t, state, "--at", "2026-11-26T06:00:00Z",
		"--cloudtrail", filepath.Join(repoRoot, "testdata/sample-cloudtrail.json"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	i := strings.Index(out, "Run summary: ")
	if i < 0 {
		t.Fatalf("no run summary in:\n%s", out)
	}
	var sum struct {
		Errors []any `json:"errors"`
		Budget map[string]any
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out[i+len("Run summary: "):])), &sum); err != nil {
		t.Fatalf("summary: %v\n%s", err, out[i:])
	}
	off, _ := sum.Budget["off"].(string)
	if len(sum.Errors) != 0 || sum.Budget["error"] != nil || !strings.Contains(off, "set PHONE_NUMBER_QUOTA") ||
		strings.Contains(off, "Region:") || strings.Contains(off, "GetServiceQuota") {
		t.Errorf("budget %v, errors %v: want it off with a plain reason and no error", sum.Budget, sum.Errors)
	}
}
