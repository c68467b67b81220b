package notify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/phonewatch/phonewatch/internal/status"
)

// TestGrouped holds the documented grouping rule (number.go) on numbers of every calling-code
// length, and leaves anything that is not E.164 as it is.
func TestFormatNumber(t *testing.T) {
	for in, want := range map[string]string{
		"+18005550100":      "+1 800 555 0100",
		"+442071838750":     "+44 20 7183 8750",
		"+493012345678":     "+49 30 1234 5678",
		"+33123456789":      "+33 1 2345 6789",
		"+79161234567":      "+7 91 6123 4567",
		"+35312345678":      "+353 1234 5678",
		"+886912345678901":  "+886 9123 4567 8901",
		"+12345":            "+12345",            // too short for E.164
		"+1800555010":       "+1 8 0055 5010",    // +1 but not NANP: the generic rule
		"0800 555 0100":     "0800 555 0100",     // not E.164
		"+4420718387501234": "+4420718387501234", // too long
		"":                  "",
	} {
		if got := FormatNumber(in); got != want {
			t.Errorf("FormatNumber(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCaller(t *testing.T) {
	for arn, want := range map[string][2]string{
		"arn:aws:sts::123456789012:assumed-role/ConnectAdmin/alice": {"role ConnectAdmin, session alice", "alice"},
		"arn:aws:iam::123456789012:user/ops/deploy-bot":             {"IAM user deploy-bot", "deploy-bot"},
		"arn:aws:iam::123456789012:root":                            {"the root user of account 123456789012", "arn:aws:iam::123456789012:root"},
		"not-an-arn":                                                {"", "not-an-arn"},
		"":                                                          {"", "an unknown caller"},
	} {
		if got := caller(arn); got != want[0] {
			t.Errorf("caller(%q) = %q, want %q", arn, got, want[0])
		}
		if got := callerShort(arn); got != want[1] {
			t.Errorf("callerShort(%q) = %q, want %q", arn, got, want[1])
		}
	}
}

// TestTextOrder: read at 3 a.m., the text gives the deadline, then what to do, before the
// block of identifiers.
func TestTextOrder(t *testing.T) {
	for _, name := range []string{"failed-transition", "failed-operation", "reminder", "expired-still-failed", "expired-gone"} {
		text := Text(golden(name))
		order := []string{"Retry deadline", "What to do next:", "Details:", "Phone number ID:"}
		last := -1
		for _, s := range order {
			i := strings.Index(text, s)
			if i <= last {
				t.Errorf("%s: %q at %d, want it after %d (order %v):\n%s", name, s, i, last, order, text)
			}
			last = i
		}
	}
}

// TestRendererLocation: a display zone adds local time beside UTC (with the date when it
// differs); the zero Renderer and the package functions stay UTC only.
func TestRendererLocation(t *testing.T) {
	n := golden("failed-transition")
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		loc  *time.Location
		want string
	}{
		{paris, "Retry deadline:    2026-11-27 05:35:00 UTC (06:35 CET; 23h 55m left at the check)"},
		{la, "Retry deadline:    2026-11-27 05:35:00 UTC (2026-11-26 21:35 PST; 23h 55m left at the check)"},
		{nil, "Retry deadline:    2026-11-27 05:35:00 UTC (23h 55m left at the check)"},
		{time.UTC, "Retry deadline:    2026-11-27 05:35:00 UTC (23h 55m left at the check)"},
	} {
		if got := (Renderer{Location: c.loc}).Text(n); !strings.Contains(got, c.want+"\n") {
			t.Errorf("zone %v: text lacks %q:\n%s", c.loc, c.want, got)
		}
	}
	if Text(n) != (Renderer{}).Text(n) || strings.Contains(Text(n), "CET") {
		t.Error("the package-level Text is not the UTC-only Renderer")
	}
	chat, err := Renderer{Location: paris}.Chatbot(n)
	if err != nil || !strings.Contains(string(chat), "2026-11-27 05:35:00 UTC (06:35 CET; *23h 55m left* at the check)") {
		t.Errorf("chat lacks the local time (%v): %s", err, chat)
	}
	if Subject(n) != "[FAILED] +1 800 555 0100 update failed - retry before 2026-11-27 05:35 UTC" {
		t.Errorf("subject %q", Subject(n))
	}
}

// TestMachineAdditive holds the additive fields of schema "1": each present exactly where it
// applies, with its value, for every golden case.
func TestMachineAdditive(t *testing.T) {
	for _, c := range goldenCases {
		b, err := Machine(c.n)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		n := c.n
		episode := episodeEvent(n.Event)
		gone := n.Event == status.EventExpired && n.Status == status.NotFound
		want := map[string]bool{
			"notificationId":   true,
			"account":          true,
			"region":           true,
			"failure":          episode,
			"failedAfter":      episode && n.Basis == status.BasisTransition && !n.FailedAfter.IsZero(),
			"latestRelease":    episode && !n.LatestRelease.IsZero(),
			"reminderOffset":   n.Event == status.EventReminder,
			"retries":          episode && n.Retries > 0,
			"operation":        (episode || n.Event == status.EventStuck) && n.Operation != nil,
			"topicArn":         n.Event == status.EventTest,
			"previousDeadline": episode && !n.PreviousDeadline.IsZero(),
			"lastFailedAt":     gone,
			"release":          gone && n.Release != nil,
		}
		for k, present := range want {
			if _, ok := m[k]; ok != present {
				t.Errorf("%s: %s present=%v, want %v: %s", c.name, k, ok, present, b)
			}
		}
		if m["notificationId"] != n.ID {
			t.Errorf("%s: notificationId %v, want %q", c.name, m["notificationId"], n.ID)
		}
		if n.Event == status.EventReminder && m["reminderOffset"] != "1h" {
			t.Errorf("%s: reminderOffset %v, want 1h", c.name, m["reminderOffset"])
		}
		if !n.PreviousDeadline.IsZero() && m["previousDeadline"] != rfc3339(n.PreviousDeadline) {
			t.Errorf("%s: previousDeadline %v, want %s", c.name, m["previousDeadline"], rfc3339(n.PreviousDeadline))
		}
		if op, ok := m["operation"].(map[string]any); ok {
			if op["name"] != n.Operation.Name || op["at"] != rfc3339(n.Operation.At) || op["by"] != n.Operation.By ||
				op["targetArn"] != n.Operation.TargetARN || op["eventId"] != n.Operation.EventID {
				t.Errorf("%s: operation %v, want %+v", c.name, op, n.Operation)
			}
		}
		if n.Event == status.EventTest && (m["account"] != "123456789012" || m["region"] != "eu-central-1") {
			t.Errorf("test: account/region %v/%v, want the topic's", m["account"], m["region"])
		}
	}
}

// TestTestNotification: every call gives a notification of its own; it says that nothing is
// wrong, in every form, and is filterable as event TEST.
func TestTestNotification(t *testing.T) {
	const topic = "arn:aws:sns:eu-central-1:123456789012:phonewatch"
	now := at("2026-11-26T10:00:00Z")
	a, b := TestNotification(topic, now), TestNotification(topic, now)
	if a.ID == b.ID || !strings.HasPrefix(a.ID, "test-20261126T100000Z-") {
		t.Errorf("IDs %q and %q: want unique, stamped with the time", a.ID, b.ID)
	}
	if got := Attributes(a); got["event"] != "TEST" || got["notificationId"] != a.ID {
		t.Errorf("attributes %v", got)
	}
	text := Text(a)
	for _, s := range []string{"Nothing is wrong with any phone number", "Topic:             " + topic,
		"Account, Region:   123456789012, eu-central-1", "Notification ID:   " + a.ID} {
		if !strings.Contains(text, s) {
			t.Errorf("text lacks %q:\n%s", s, text)
		}
	}
	body, err := Message(a)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]string
	if err := json.Unmarshal([]byte(body), &keys); err != nil {
		t.Fatal(err)
	}
	var m MachineMessage
	if err := json.Unmarshal([]byte(keys["sqs"]), &m); err != nil || m.Event != "TEST" || m.NotificationID != a.ID {
		t.Errorf("machine JSON %s (%v), want event TEST and the notificationId", keys["sqs"], err)
	}
	if !strings.Contains(keys["https"], "nothing is wrong with any phone number") {
		t.Errorf("chat %s lacks what it proves", keys["https"])
	}
}

// TestHostileOperation: what CloudTrail records (caller, target, names) is as untrusted as
// Connect's words: one ASCII line in the subject, escaped in chat and in the text.
func TestHostileOperation(t *testing.T) {
	n := golden("failed-operation")
	op := *n.Operation
	op.By = "arn:aws:sts::123456789012:assumed-role/R/<!channel>*x*\n"
	op.Name = "Update`PhoneNumber`"
	n.Operation = &op
	n.Event, n.Status, n.Release = status.EventExpired, status.NotFound, &op
	checkSubject(t, Subject(n))
	checkText(t, Text(n))
	d := description(t, n)
	if !strings.Contains(d, `&lt;!channel&gt;∗x∗\u000A`) || strings.Contains(d, "<!channel>") || strings.Contains(d, "`PhoneNumber") {
		t.Errorf("caller not escaped in chat: %s", d)
	}
	if !strings.Contains(Text(n), `<!channel>*x*\u000A`) {
		t.Errorf("caller not shown visibly in the text:\n%s", Text(n))
	}
}

// A time and a note share one pair of parentheses with the local time, never two pairs in a
// row; and a printed (not sent) notification does not say it was sent.
func TestOneParenthesisAndPrintedFooter(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range goldenCases {
		if c.n.Event == status.EventTest {
			continue // only ever published, by phonewatch test
		}
		for _, r := range []Renderer{{}, {Location: paris}} {
			text := r.Text(c.n)
			if strings.Contains(text, ") (") {
				t.Errorf("%s (zone %v): two parentheses in a row:\n%s", c.name, r.Location, text)
			}
			if !strings.Contains(text, "Sent by phonewatch") || strings.Contains(text, "Printed by") {
				t.Errorf("%s: the published text must say it was sent", c.name)
			}
			r.Printed = true
			if text := r.Text(c.n); strings.Contains(text, "Sent by") || !strings.Contains(text, "Printed by phonewatch check, a local run: not sent to anyone.") {
				t.Errorf("%s: the printed text:\n%s", c.name, text)
			}
		}
	}
}
