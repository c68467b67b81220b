package notify

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/budget"
	"github.com/phonewatch/phonewatch/internal/status"
)

// budgetCase is a BUDGET at threshold th with used of limit, its ledger complete since since
// (zero: still back-filling).
func budgetCase(th, used, limit int, since time.Time) status.Notification {
	now := at("2026-11-26T10:00:00Z")
	var es []budget.Entry
	callers := []string{
		"arn:aws:sts::123456789012:assumed-role/Terraform/ci-run-4411",
		"arn:aws:iam::123456789012:user/bulk-claims",
		"arn:aws:sts::123456789012:assumed-role/ConnectAdmin/alice",
	}
	for i := range used {
		name := budget.OpClaim
		if i%2 == 1 {
			name = budget.OpRelease
		}
		es = append(es, budget.Entry{EventID: "ev" + string(rune('a'+i)), Name: name,
			At: at("2026-09-01T08:00:00Z").Add(time.Duration(i) * 24 * time.Hour), By: callers[min(i%4, 2)]})
	}
	rep := budget.Count(es, limit/2, since, now)
	return status.Notification{
		Event: status.EventBudget, ObservedAt: now,
		ID: budget.NotificationID("123456789012", th, now),
		Budget: &budget.Notice{Account: "123456789012", Region: "us-east-1", Threshold: th, Report: rep,
			QuotaSource: "Service Quotas connect/L-8F812903 (Phone numbers per instance)"},
	}
}

var budgetGolden = []struct {
	name string
	n    status.Notification
}{
	{"budget-75-lower-bound", budgetCase(75, 8, 10, time.Time{})},
	{"budget-100", budgetCase(100, 10, 10, at("2026-05-01T00:00:00Z"))},
}

func TestBudgetGolden(t *testing.T) {
	for _, c := range budgetGolden {
		t.Run(c.name, func(t *testing.T) {
			machine, err := Machine(c.n)
			if err != nil {
				t.Fatal(err)
			}
			chat, err := Renderer{}.Chatbot(c.n)
			if err != nil {
				t.Fatal(err)
			}
			for name, b := range map[string][]byte{"machine": machine, "chatbot": chat} {
				if !json.Valid(b) || bytes.ContainsRune(b, '\n') {
					t.Errorf("%s JSON is not compact valid JSON: %s", name, b)
				}
			}
			var got strings.Builder
			got.WriteString("==== subject ====\n" + Subject(c.n) + "\n")
			got.WriteString("==== text (SNS keys default, email) ====\n" + Text(c.n))
			got.WriteString("==== machine JSON (keys sqs, lambda, email-json, firehose; sent compact) ====\n" + indent(t, machine))
			got.WriteString("==== chatbot JSON (key https; sent compact) ====\n" + indent(t, chat))
			path := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestBudgetGolden -update to create it)", err)
			}
			if got.String() != string(want) {
				t.Errorf("rendering differs from %s:\n%s", path, got.String())
			}
		})
	}
}

// The contract's fields are there, no phone-number field is, and the subject and attributes
// are what filter policies and mail clients need.
func TestBudgetContract(t *testing.T) {
	n := budgetCase(75, 8, 10, time.Time{})
	machine, err := Machine(n)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(machine, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"account", "region", "claimReleaseUsed", "claimReleaseLimit", "threshold", "windowDays",
		"oldestCountedAt", "topCallers", "notificationId", "schemaVersion"} {
		if _, ok := m[k]; !ok {
			t.Errorf("machine JSON lacks %s: %s", k, machine)
		}
	}
	for k := range m {
		if strings.HasPrefix(k, "phoneNumber") && k != "phoneNumberQuota" || k == "countryCode" || k == "numberType" {
			t.Errorf("machine JSON has the phone-number field %s", k)
		}
	}
	if m["claimReleaseUsed"] != 8.0 || m["claimReleaseLimit"] != 10.0 || m["threshold"] != 75.0 || m["windowDays"] != 180.0 {
		t.Errorf("machine JSON numbers: %s", machine)
	}
	if _, ok := m["ledgerSince"]; ok {
		t.Errorf("a ledger still back-filling has no ledgerSince: %s", machine)
	}
	s := Subject(n)
	if len(s) > MaxSubjectLen || subjectASCII(s) != s || !strings.HasPrefix(s, "[BUDGET] 123456789012") {
		t.Errorf("subject %q", s)
	}
	long := n
	nb := *n.Budget
	nb.Account = strings.Repeat("9", 200)
	long.Budget = &nb
	if s := Subject(long); len(s) > MaxSubjectLen {
		t.Errorf("subject of %d characters", len(s))
	}
	a := Attributes(n)
	if a["event"] != "BUDGET" || a["notificationId"] != n.ID {
		t.Errorf("attributes %v", a)
	}
	msg, err := Message(n)
	if err != nil || !strings.Contains(msg, `\"event\":\"BUDGET\"`) {
		t.Errorf("message %s %v", msg, err)
	}
}
