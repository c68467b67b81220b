package monitor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/phonewatch/phonewatch/internal/cloudtrail"
	"github.com/phonewatch/phonewatch/internal/cloudtrail/cloudtrailtest"
	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/notify"
	"github.com/phonewatch/phonewatch/internal/status"
)

const bulk = "arn:aws:sts::123456789012:assumed-role/Bulk/claim-script"

// budgetEnv is env plus a CloudTrail test server that the budget reads through the real SDK.
type budgetEnv struct {
	*env
	trail *cloudtrailtest.Server
	n     int // calls added so far
}

func newBudgetEnv(t *testing.T) *budgetEnv {
	e := newEnv(t)
	srv := cloudtrailtest.NewServer()
	srv.SetRateLimit(0, 0)
	t.Cleanup(srv.Close)
	return &budgetEnv{env: e, trail: srv}
}

// calls adds n accepted calls ten seconds apart ending now (CloudTrail shows a call within
// minutes, inside a run's overlap), alternating release and claim, of
// numbers phonewatch does not watch.
func (b *budgetEnv) calls(n int) {
	now := b.clock.Now()
	for i := range n {
		at := now.Add(-time.Duration(n-i) * 10 * time.Second)
		id := fmt.Sprintf("99999999-0000-4000-8000-%012d", b.n)
		if b.n%2 == 0 {
			b.trail.Add(cloudtrailtest.Release(id, bulk, at))
		} else {
			b.trail.Add(cloudtrailtest.Claim(e164(id), cloudtrailtest.ARN("x"), id, bulk, at))
		}
		b.n++
	}
}

// monitor is env's monitor with the budget on quota and no other CloudTrail use, so that
// the budget is all these tests see.
func (b *budgetEnv) monitor(quota int, pub monitor.Publisher) *monitor.Monitor {
	m := b.env.monitor()
	cfg := awsConfig()
	cfg.BaseEndpoint = aws.String(b.trail.URL)
	if pub != nil {
		m.Publisher = pub
	}
	m.Budget = &monitor.Budget{
		Ledger: b.store(),
		Source: cloudtrail.New(cfg, func(o *cloudtrail.Options) { o.RPS = 0 }),
		Quota: func(context.Context) (int, string, error) {
			return quota, "PHONE_NUMBER_QUOTA", nil
		},
		Account: cloudtrailtest.Account, Region: cloudtrailtest.Region,
	}
	return m
}

// budgets drains the queue and returns the BUDGET messages.
func (b *budgetEnv) budgets() []notify.BudgetMessage {
	b.t.Helper()
	var out []notify.BudgetMessage
	for {
		r, err := b.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(b.queue), MaxNumberOfMessages: 10, VisibilityTimeout: 600,
		})
		if err != nil {
			b.t.Fatalf("receive: %v", err)
		}
		if len(r.Messages) == 0 {
			return out
		}
		for _, m := range r.Messages {
			var env struct{ Subject, Message string }
			var msg notify.BudgetMessage
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &env); err != nil {
				b.t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(env.Message), &msg); err != nil {
				b.t.Fatalf("not the machine JSON: %v\n%s", err, env.Message)
			}
			if msg.Event == string(status.EventBudget) {
				out = append(out, msg)
			}
			_, _ = b.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(b.queue), ReceiptHandle: m.ReceiptHandle})
		}
	}
}

// TestBudgetWarnsBeforeLockout is issue 21's case: an account that makes 8 claims and releases
// against a limit of 10 gets one BUDGET (75 %) before it is locked out, nothing on a quiet
// repeat, and another BUDGET when it reaches the limit.
func TestBudgetWarnsBeforeLockout(t *testing.T) {
	parallel(t)
	b := newBudgetEnv(t)
	m := b.monitor(5, nil)
	// A refused claim changes nothing and is not counted.
	b.trail.Add(cloudtrailtest.Claim("+18005550199", cloudtrailtest.ARN("x"), "", bulk, b.clock.Now().Add(-time.Minute)).
		Refused("ResourceConflictException", "taken"))

	b.calls(7)
	sum := b.run(m, 20*time.Second)
	if got := b.budgets(); len(got) != 0 || sum.Budget == nil || sum.Budget.Used != 7 || sum.Budget.Limit != 10 {
		t.Fatalf("7 of 10: %d BUDGETs, summary %+v; want none and 7 of 10", len(got), sum.Budget)
	}

	b.clock.Advance(5 * time.Minute)
	b.calls(1)
	sum = b.run(m, 20*time.Second)
	got := b.budgets()
	if len(got) != 1 || got[0].Threshold != 75 || got[0].ClaimReleaseUsed != 8 || got[0].ClaimReleaseLimit != 10 {
		t.Fatalf("8 of 10: got %+v, want one BUDGET at 75 %% naming 8 of 10", got)
	}
	if sum.NotificationsSent != 1 || len(got[0].TopCallers) != 1 || got[0].TopCallers[0].By != bulk || got[0].TopCallers[0].Count != 8 {
		t.Errorf("summary sent %d, top callers %+v", sum.NotificationsSent, got[0].TopCallers)
	}
	if got[0].WindowDays != 180 || got[0].OldestCountedAt == "" || !got[0].LowerBound {
		t.Errorf("window %d oldest %q lowerBound %v: a 90-day back-fill is a lower bound", got[0].WindowDays,
			got[0].OldestCountedAt, got[0].LowerBound)
	}

	b.clock.Advance(5 * time.Minute)
	b.trail.ResetCounters()
	if b.run(m, 20*time.Second); len(b.budgets()) != 0 {
		t.Fatal("a quiet repeat sent a BUDGET")
	}
	// Once back-filled, the ledger costs a run two lookups (one page each, releases and claims)
	// of CloudTrail's shared 2/s.
	if n := b.trail.Calls(); n != 2 {
		t.Errorf("a quiet run made %d LookupEvents calls for the ledger, want 2", n)
	}

	// Two more reach the limit in one run: the 90 % crossing is stale, only 100 % is sent.
	b.clock.Advance(5 * time.Minute)
	b.calls(2)
	b.run(m, 20*time.Second)
	got = b.budgets()
	if len(got) != 1 || got[0].Threshold != 100 || got[0].ClaimReleaseUsed != 10 {
		t.Fatalf("10 of 10: got %+v, want one BUDGET at 100 %%", got)
	}
	b.clock.Advance(5 * time.Minute)
	if sum = b.run(m, 20*time.Second); len(b.budgets()) != 0 || sum.Budget.Announced != 100 {
		t.Fatalf("repeat at the limit: summary %+v", sum.Budget)
	}
}

// refuseBudget fails every BUDGET without sending it, as SNS refusing it would.
type refuseBudget struct {
	monitor.Publisher
	ids *[]string
}

func (f refuseBudget) Publish(ctx context.Context, ns []status.Notification) []error {
	errs := make([]error, len(ns))
	for i, n := range ns {
		*f.ids = append(*f.ids, n.ID)
		errs[i] = fmt.Errorf("InternalError: injected")
	}
	return errs
}

// A BUDGET SNS did not accept is not marked sent: the next run sends it, with the same ID.
func TestBudgetRetriedWithItsID(t *testing.T) {
	parallel(t)
	b := newBudgetEnv(t)
	var tried []string
	b.calls(8)
	sum := b.run(b.monitor(5, refuseBudget{ids: &tried}), 20*time.Second)
	if len(tried) != 1 || sum.NotificationsSent != 0 || len(sum.Errors) == 0 {
		t.Fatalf("tried %v, summary %+v", tried, sum)
	}
	b.clock.Advance(5 * time.Minute)
	b.run(b.monitor(5, nil), 20*time.Second)
	got := b.budgets()
	if len(got) != 1 || got[0].NotificationID != tried[0] || got[0].Threshold != 75 {
		t.Fatalf("got %+v, want the refused BUDGET again with ID %s", got, tried[0])
	}
}

// A back-fill larger than a run may read goes on in the next run, and the ledger says it is
// complete from CloudTrail's 90 days once it is.
func TestBudgetBackfillAcrossRuns(t *testing.T) {
	parallel(t)
	b := newBudgetEnv(t)
	b.calls(160) // 80 releases and 80 claims: two pages each
	m := b.monitor(100, nil)
	m.Budget.PagesPerRead = 1
	sum := b.run(m, 20*time.Second)
	if sum.Budget.Used != 100 || sum.Budget.LedgerSince != "" || !sum.Budget.LowerBound {
		t.Fatalf("first run: %+v, want 100 read (one page of each), no ledgerSince yet", sum.Budget)
	}
	b.clock.Advance(5 * time.Minute)
	sum = b.run(m, 20*time.Second)
	if sum.Budget.Used != 160 || sum.Budget.LedgerSince == "" || !sum.Budget.LowerBound {
		t.Fatalf("second run: %+v, want all 160, complete since CloudTrail's 90 days, still a lower bound", sum.Budget)
	}
	if got := b.budgets(); len(got) != 1 || got[0].Threshold != 75 || got[0].LedgerSince != sum.Budget.LedgerSince {
		t.Fatalf("160 of 200 is 80 %%: got %+v, want one BUDGET at 75 %% with the ledger's start", got)
	}
}

// Without a quota the budget is off, and the summary says why in one field, with no counts.
func TestBudgetOffSaysWhy(t *testing.T) {
	parallel(t)
	b := newBudgetEnv(t)
	b.calls(8)
	m := b.monitor(0, nil)
	m.Budget.Quota = func(context.Context) (int, string, error) {
		return 0, "", fmt.Errorf("servicequotas:GetServiceQuota connect/L-8F812903: access denied")
	}
	sum := b.run(m, 20*time.Second)
	out, err := json.Marshal(sum)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"budget":{"off":"no phone-number quota: servicequotas:GetServiceQuota`) ||
		strings.Contains(string(out), `"used"`) || len(sum.Errors) != 0 || len(b.budgets()) != 0 {
		t.Fatalf("summary %s: want the budget off with its reason, no counts, no error, no BUDGET", out)
	}
	// The ledger was kept all the same: with a quota the next run counts what was read.
	b.clock.Advance(5 * time.Minute)
	if sum = b.run(b.monitor(5, nil), 20*time.Second); sum.Budget.Used != 8 {
		t.Fatalf("with a quota: %+v, want the 8 calls the off run read", sum.Budget)
	}
}
