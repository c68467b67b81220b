package notify

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/phonewatch/phonewatch/internal/status"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current rendering")

// at parses an RFC 3339 time for fixtures.
func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// tollFree is a US toll-free number attached to an instance, as Connect describes it.
var tollFree = status.Number{
	ID:          "7f1b2c3d-4e5f-4a6b-8c9d-0e1f2a3b4c5d",
	ARN:         "arn:aws:connect:us-east-1:123456789012:phone-number/7f1b2c3d-4e5f-4a6b-8c9d-0e1f2a3b4c5d",
	E164:        "+18005550100",
	CountryCode: "US",
	Type:        "TOLL_FREE",
	Description: "Support line (EN)",
	TargetARN:   "arn:aws:connect:us-east-1:123456789012:instance/11111111-2222-3333-4444-555555555555",
	InstanceID:  "11111111-2222-3333-4444-555555555555",
}

// london is a GB number whose description and message carry what must be escaped.
var london = status.Number{
	ID:          "0a9b8c7d-6e5f-4d3c-2b1a-00ff00ff00ff",
	ARN:         "arn:aws:connect:eu-west-2:123456789012:phone-number/0a9b8c7d-6e5f-4d3c-2b1a-00ff00ff00ff",
	E164:        "+442071838750",
	CountryCode: "GB",
	Type:        "DID",
	Description: "Büro London\t*main* line\a",
	TargetARN:   "arn:aws:connect:eu-west-2:123456789012:traffic-distribution-group/22222222-3333-4444-5555-666666666666",
}

// updateOp is an UpdatePhoneNumber call that CloudTrail recorded, run by an assumed role.
var updateOp = &status.Operation{
	Name: status.OpUpdate, At: at("2026-11-26T05:37:12Z"),
	By:        "arn:aws:sts::123456789012:assumed-role/ConnectAdmin/alice@example.com",
	TargetARN: "arn:aws:connect:us-east-1:123456789012:instance/99999999-8888-7777-6666-555555555555",
	EventID:   "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
}

// retryOp is a later UpdatePhoneNumber of the same number by the same caller: a retry.
var retryOp = &status.Operation{
	Name: status.OpUpdate, At: at("2026-11-26T09:00:00Z"),
	By:        updateOp.By,
	TargetARN: updateOp.TargetARN,
	EventID:   "3c4d5e6f-0000-4000-8000-000000000003",
}

// claimOp is a ClaimPhoneNumber call run by an IAM user.
var claimOp = &status.Operation{
	Name: status.OpClaim, At: at("2026-11-26T07:02:00Z"),
	By:        "arn:aws:iam::123456789012:user/deploy-bot",
	TargetARN: tollFree.TargetARN,
	EventID:   "1a2b3c4d-0000-4000-8000-000000000001",
}

// lateClaimOp is a ClaimPhoneNumber whose CloudTrail event came after the FAILED it caused
// was announced (DEADLINE).
var lateClaimOp = &status.Operation{
	Name: status.OpClaim, At: at("2026-11-25T06:10:00Z"),
	By:        "arn:aws:sts::123456789012:assumed-role/ConnectAdmin/bob@example.com",
	TargetARN: tollFree.TargetARN,
	EventID:   "3c4d5e6f-0000-4000-8000-000000000003",
}

// releaseOp is the ReleasePhoneNumber call behind a number that is gone.
var releaseOp = &status.Operation{
	Name: status.OpRelease, At: at("2026-11-27T06:10:00Z"),
	By:      "arn:aws:sts::123456789012:assumed-role/ConnectAdmin/bob",
	EventID: "2b3c4d5e-0000-4000-8000-000000000002",
}

// paris is the display zone of the golden case rendered with local time.
var paris = func() *time.Location {
	l, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return l
}()

// goldenCases are the examples a reviewer reads in testdata: one per event, deadline basis and
// kind of failure. loc, when set, is the display zone (Renderer.Location).
var goldenCases = []struct {
	name string
	n    status.Notification
	loc  *time.Location
}{
	{"failed-transition", status.Notification{
		Event: status.EventFailed, Number: tollFree, Status: status.Failed,
		StatusMessage: "The phone number could not be claimed. Retry the request.",
		ObservedAt:    at("2026-11-26T05:40:00Z"),
		FailedSince:   at("2026-11-26T05:40:00Z"), RetryDeadline: at("2026-11-27T05:35:00Z"),
		Basis: status.BasisTransition, FailedAfter: at("2026-11-26T05:35:00Z"),
		LatestRelease: at("2026-11-27T05:40:00Z"), Failure: status.FailureUpdate,
		ID: "n-7f1b2c3d-failed-1",
	}, nil},
	{"failed-first-observation", status.Notification{
		Event: status.EventFailed, Number: london, Status: status.Failed,
		StatusMessage: "Claim failed: number *unavailable* in [eu-west-2] <!channel>\nsee `docs` & retry",
		ObservedAt:    at("2026-11-26T05:40:00Z"),
		FailedSince:   at("2026-11-26T05:40:00Z"), RetryDeadline: at("2026-11-27T05:40:00Z"),
		Basis: status.BasisFirstObservation, Failure: status.FailureUnknown,
		ID: "n-0a9b8c7d-failed-1",
	}, nil},
	{"failed-operation", status.Notification{
		Event: status.EventFailed, Number: tollFree, Status: status.Failed,
		StatusMessage: "The phone number could not be updated: the target has reached its limit.",
		ObservedAt:    at("2026-11-26T05:40:00Z"),
		FailedSince:   at("2026-11-26T05:40:00Z"), RetryDeadline: at("2026-11-27T05:37:12Z"),
		Basis: status.BasisOperation, Operation: updateOp, Failure: status.FailureUpdate,
		LatestRelease: at("2026-11-27T05:40:00Z"), ID: "n-7f1b2c3d-failed-op",
	}, nil},
	{"failed-claim-retry-local-time", status.Notification{
		Event: status.EventFailed, Number: tollFree, Status: status.Failed,
		StatusMessage: "The phone number could not be claimed. Retry the request.",
		ObservedAt:    at("2026-11-26T07:10:00Z"),
		FailedSince:   at("2026-11-26T05:40:00Z"), RetryDeadline: at("2026-11-27T05:35:00Z"),
		Basis: status.BasisTransition, FailedAfter: at("2026-11-26T05:35:00Z"),
		LatestRelease: at("2026-11-27T05:40:00Z"), Failure: status.FailureClaim, Retries: 2,
		Operation: claimOp, ID: "n-7f1b2c3d-failed-3",
	}, paris},
	// A retry after the failure above: a new UpdatePhoneNumber at 09:00, FAILED again at 09:05.
	// CloudTrail proves the new call, so the deadline restarts from it and the text says which
	// deadline it replaced.
	{"failed-restarted", status.Notification{
		Event: status.EventFailed, Number: tollFree, Status: status.Failed,
		StatusMessage: "The phone number could not be updated: the target has reached its limit.",
		ObservedAt:    at("2026-11-26T09:05:00Z"),
		FailedSince:   at("2026-11-26T09:05:00Z"), RetryDeadline: at("2026-11-27T09:00:00Z"),
		Basis: status.BasisOperation, Operation: retryOp, Failure: status.FailureUpdate, Retries: 1,
		LatestRelease: at("2026-11-27T09:05:00Z"), PreviousDeadline: at("2026-11-27T05:37:12Z"),
		ID: "n-7f1b2c3d-failed-restarted",
	}, paris},
	{"reminder", status.Notification{
		Event: status.EventReminder, Number: tollFree, Status: status.Failed,
		StatusMessage: "The phone number could not be claimed. Retry the request.",
		ObservedAt:    at("2026-11-27T04:35:00Z"),
		FailedSince:   at("2026-11-26T05:40:00Z"), RetryDeadline: at("2026-11-27T05:35:00Z"),
		Basis: status.BasisTransition, FailedAfter: at("2026-11-26T03:05:00Z"), Reminder: time.Hour,
		LatestRelease: at("2026-11-27T05:40:00Z"), Failure: status.FailureUpdate, ID: "n-7f1b2c3d-reminder-1h",
	}, nil},
	{"expired-still-failed", status.Notification{
		Event: status.EventExpired, Number: tollFree, Status: status.Failed,
		StatusMessage: "The phone number could not be claimed. Retry the request.",
		ObservedAt:    at("2026-11-27T05:40:00Z"),
		FailedSince:   at("2026-11-26T05:40:00Z"), RetryDeadline: at("2026-11-27T05:35:00Z"),
		Basis: status.BasisTransition, FailedAfter: at("2026-11-26T05:35:00Z"),
		Failure: status.FailureClaim, ID: "n-7f1b2c3d-expired",
	}, nil},
	{"expired-gone", status.Notification{
		Event: status.EventExpired, Number: tollFree, Status: status.NotFound,
		ObservedAt:  at("2026-11-27T08:35:00Z"),
		FailedSince: at("2026-11-26T05:40:00Z"), RetryDeadline: at("2026-11-27T05:35:00Z"),
		Basis: status.BasisTransition, LastFailedAt: at("2026-11-27T05:30:00Z"),
		Failure: status.FailureUpdate, ID: "n-7f1b2c3d-expired-gone",
	}, nil},
	{"expired-released", status.Notification{
		Event: status.EventExpired, Number: tollFree, Status: status.NotFound,
		ObservedAt:  at("2026-11-27T06:20:00Z"),
		FailedSince: at("2026-11-26T05:40:00Z"), RetryDeadline: at("2026-11-27T05:35:00Z"),
		Basis: status.BasisTransition, LastFailedAt: at("2026-11-27T06:00:00Z"),
		Failure: status.FailureUpdate, Release: releaseOp, ID: "n-7f1b2c3d-expired-released",
	}, nil},
	// Issue 17 (1): FAILED said "24h at most" at first sight; CloudTrail then delivered the
	// failing claim, 23h30m older: the deadline people were told is replaced.
	{"deadline-moved", status.Notification{
		Event: status.EventDeadline, Number: tollFree, Status: status.Failed,
		StatusMessage: "The phone number could not be claimed. Retry the request.",
		ObservedAt:    at("2026-11-26T05:45:00Z"),
		FailedSince:   at("2026-11-26T05:40:00Z"), RetryDeadline: at("2026-11-26T06:10:00Z"),
		Basis: status.BasisOperation, Operation: lateClaimOp, Failure: status.FailureClaim,
		LatestRelease: at("2026-11-27T05:40:00Z"), PreviousDeadline: at("2026-11-27T05:40:00Z"),
		Reason: status.ReasonOperation, ID: "n-7f1b2c3d-deadline-1",
	}, nil},
	{"recovered", status.Notification{
		Event: status.EventRecovered, Number: tollFree, Status: status.Claimed,
		ObservedAt:  at("2026-11-26T09:10:00Z"),
		FailedSince: at("2026-11-26T05:40:00Z"), RetryDeadline: at("2026-11-27T05:35:00Z"),
		Basis: status.BasisTransition, Failure: status.FailureUpdate, ID: "n-7f1b2c3d-recovered",
	}, nil},
	{"stuck", status.Notification{
		Event: status.EventStuck, Number: tollFree, Status: status.InProgress,
		ObservedAt: at("2026-11-26T05:45:00Z"), InProgressSince: at("2026-11-26T05:00:00Z"),
		ID: "n-7f1b2c3d-stuck",
	}, nil},
	// The case: phonewatch holds bob's ClaimPhoneNumber from before the first
	// IN_PROGRESS sight, so it says since when and by whom, not "it may have started earlier".
	{"stuck-operation", status.Notification{
		Event: status.EventStuck, Number: tollFree, Status: status.InProgress,
		ObservedAt: at("2026-11-26T07:00:00Z"), InProgressSince: at("2026-11-26T06:00:00Z"),
		Operation: &status.Operation{Name: "ClaimPhoneNumber", At: at("2026-11-26T05:55:00Z"),
			By: "arn:aws:sts::123456789012:assumed-role/ConnectAdmin/bob", EventID: "5e6f7a8b-0000-4000-8000-000000000001",
			TargetARN: "arn:aws:connect:us-east-1:123456789012:instance/11111111-2222-3333-4444-555555555555"},
		ID: "n-7f1b2c3d-stuck-op",
	}, paris},
	{"test", func() status.Notification {
		n := TestNotification("arn:aws:sns:eu-central-1:123456789012:phonewatch", at("2026-11-26T10:00:00Z"))
		n.ID = "test-20261126T100000Z-0123456789abcdef" // fixed for the golden file
		return n
	}(), nil},
}

// golden returns the golden case called name.
func golden(name string) status.Notification {
	for _, c := range goldenCases {
		if c.name == name {
			return c.n
		}
	}
	panic("no golden case " + name)
}

// TestGolden renders every golden case in every form and compares with testdata/<case>.golden
// (go test -run TestGolden -update rewrites them). JSON is shown indented there; the test also
// checks that what is sent is compact, valid JSON.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			r := Renderer{Location: c.loc}
			machine, err := Machine(c.n)
			if err != nil {
				t.Fatal(err)
			}
			chat, err := r.Chatbot(c.n)
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
			got.WriteString("==== text (SNS keys default, email) ====\n" + r.Text(c.n))
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
				t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
			}
			if got.String() != string(want) {
				t.Errorf("rendering differs from %s (go test -run TestGolden -update rewrites it):\n%s", path, got.String())
			}
		})
	}
}

func indent(t *testing.T, b []byte) string {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return out.String() + "\n"
}

// TestMessageEnvelope checks the MessageStructure=json body: the seven protocol keys, people's
// keys hold the plain text, programs' keys the machine JSON, https the chat notification.
func TestMessageEnvelope(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			r := Renderer{Location: c.loc}
			body, err := r.Message(c.n)
			if err != nil {
				t.Fatal(err)
			}
			var keys map[string]string
			if err := json.Unmarshal([]byte(body), &keys); err != nil {
				t.Fatalf("message is not a JSON object of strings: %v", err)
			}
			machine, _ := Machine(c.n)
			chat, _ := r.Chatbot(c.n)
			want := map[string]string{
				"default": r.Text(c.n), "email": r.Text(c.n),
				"sqs": string(machine), "lambda": string(machine), "email-json": string(machine), "firehose": string(machine),
				"https": string(chat),
			}
			if len(keys) != len(want) {
				t.Errorf("keys %v, want exactly %d", keys, len(want))
			}
			for k, v := range want {
				if keys[k] != v {
					t.Errorf("key %q = %.80q..., want %.80q...", k, keys[k], v)
				}
			}
			if json.Valid([]byte(keys["default"])) {
				t.Error("the default (plain text) key holds JSON")
			}
		})
	}
}

// TestMachineFields holds the machine JSON contract: the episode fields exactly for FAILED,
// REMINDER, EXPIRED and RECOVERED, inProgressSince exactly for STUCK, the identity strings
// always present (empty when unknown), times RFC 3339 in UTC whatever the input's zone.
func TestMachineFields(t *testing.T) {
	nyc := time.FixedZone("EST", -5*3600)
	for _, c := range []struct {
		event           status.Event
		st              status.Status
		episode, inProg bool
	}{
		{status.EventFailed, status.Failed, true, false},
		{status.EventReminder, status.Failed, true, false},
		{status.EventExpired, status.Failed, true, false},
		{status.EventExpired, status.NotFound, true, false},
		{status.EventRecovered, status.Claimed, true, false},
		{status.EventStuck, status.InProgress, false, true},
	} {
		t.Run(string(c.event)+"-"+string(c.st), func(t *testing.T) {
			n := status.Notification{
				Event: c.event, Status: c.st,
				Number:      status.Number{ID: "id-1", E164: "+18005550100"}, // no ARN, target, ...
				ObservedAt:  at("2026-11-26T05:40:00Z").In(nyc),
				FailedSince: at("2026-11-26T05:40:00Z").In(nyc), RetryDeadline: at("2026-11-27T05:35:00Z").In(nyc),
				Basis: status.BasisTransition, InProgressSince: at("2026-11-26T05:00:00Z").In(nyc),
			}
			b, err := Machine(n)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"schemaVersion", "event", "phoneNumberId", "phoneNumberArn", "phoneNumber",
				"countryCode", "numberType", "targetArn", "instanceId", "status", "statusMessage", "description", "observedAt"} {
				if _, ok := m[k]; !ok {
					t.Errorf("%s missing", k)
				}
			}
			for _, k := range []string{"failedSince", "retryDeadline", "deadlineBasis"} {
				if _, ok := m[k]; ok != c.episode {
					t.Errorf("%s present=%v, want %v", k, ok, c.episode)
				}
			}
			if _, ok := m["inProgressSince"]; ok != c.inProg {
				t.Errorf("inProgressSince present=%v, want %v", ok, c.inProg)
			}
			if len(m) != 13+3*btoi(c.episode)+btoi(c.inProg) {
				t.Errorf("unexpected fields: %v", m)
			}
			if m["status"] != string(c.st) || m["schemaVersion"] != "1" || m["phoneNumberArn"] != "" {
				t.Errorf("status/schemaVersion/phoneNumberArn = %v/%v/%q", m["status"], m["schemaVersion"], m["phoneNumberArn"])
			}
			if m["observedAt"] != "2026-11-26T05:40:00Z" {
				t.Errorf("observedAt = %v, want UTC RFC 3339", m["observedAt"])
			}
			if c.episode && m["retryDeadline"] != "2026-11-27T05:35:00Z" {
				t.Errorf("retryDeadline = %v", m["retryDeadline"])
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestSubject pins the subject wording and its rules against ordinary and hostile numbers.
func TestSubject(t *testing.T) {
	base := status.Notification{
		Event: status.EventFailed, Status: status.Failed, Number: tollFree,
		ObservedAt:    at("2026-11-26T05:40:00Z"),
		FailedSince:   at("2026-11-26T05:40:00Z"),
		RetryDeadline: at("2026-11-27T05:35:00Z"), Basis: status.BasisTransition, Failure: status.FailureClaim,
	}
	with := func(f func(*status.Notification)) status.Notification { n := base; f(&n); return n }
	long := strings.Repeat("ü\n\x00*", 5000)
	for _, c := range []struct {
		name string
		n    status.Notification
		want string // exact subject, or "" to check only the rules and wantHas
		has  []string
	}{
		{"failed NANP", base, "[FAILED] +1 800 555 0100 claim failed - retry before 2026-11-27 05:35 UTC", nil},
		{"failed other country", with(func(n *status.Notification) { n.Number.E164 = "+442071838750" }),
			"[FAILED] +44 20 7183 8750 claim failed - retry before 2026-11-27 05:35 UTC", nil},
		{"update failed", with(func(n *status.Notification) { n.Failure = status.FailureUpdate }),
			"[FAILED] +1 800 555 0100 update failed - retry before 2026-11-27 05:35 UTC", nil},
		{"first observation: claim or update, at most", with(func(n *status.Notification) {
			n.Failure, n.Basis, n.RetryDeadline = status.FailureUnknown, status.BasisFirstObservation, at("2026-11-27T05:40:00Z")
		}), "[FAILED] +1 800 555 0100 claim or update failed - retry by 2026-11-27 05:40 UTC at most", nil},
		{"empty failure is claim or update", with(func(n *status.Notification) { n.Failure = "" }),
			"[FAILED] +1 800 555 0100 claim or update failed - retry before 2026-11-27 05:35 UTC", nil},
		{"a failed retry", with(func(n *status.Notification) { n.Failure, n.Retries = status.FailureUpdate, 1 }),
			"[FAILED] +1 800 555 0100 update failed again - retry before 2026-11-27 05:35 UTC", nil},
		{"reminder first observation", with(func(n *status.Notification) {
			n.Event, n.ObservedAt, n.Basis = status.EventReminder, at("2026-11-26T23:35:00Z"), status.BasisFirstObservation
		}), "[REMINDER] +1 800 555 0100 still FAILED - 6h left at most (by 2026-11-27 05:35 UTC)", nil},
		{"released", with(func(n *status.Notification) {
			n.Event, n.Status, n.Release = status.EventExpired, status.NotFound, releaseOp
		}), "[EXPIRED] +1 800 555 0100 released by bob at 2026-11-27 06:10 UTC", nil},
		{"test", TestNotification("arn:aws:sns:eu-central-1:123456789012:phonewatch", at("2026-11-26T10:00:00Z")),
			"[TEST] phonewatch test notification from 123456789012 eu-central-1", nil},
		{"longest real subject fits", with(func(n *status.Notification) {
			n.Number.E164, n.Failure, n.Retries, n.Basis = "+886912345678901", status.FailureUnknown, 3, status.BasisFirstObservation
		}), "[FAILED] +886 9123 4567 8901 claim or update failed again - retry by 2026-11-27 05:35 UTC at most", nil},
		{"failed past deadline", with(func(n *status.Notification) { n.ObservedAt = at("2026-11-28T00:00:00Z") }),
			"[FAILED] +1 800 555 0100 claim failed - retry deadline 2026-11-27 05:35 UTC may be past", nil},
		{"no E.164 uses the ID", with(func(n *status.Notification) { n.Number.E164 = "" }),
			"[FAILED] 7f1b2c3d-4e5f-4a6b-8c9d-0e1f2a3b4c5d claim failed - retry before 2026-11-27 05:35 UTC", nil},
		{"reminder", with(func(n *status.Notification) {
			n.Event, n.ObservedAt, n.Reminder = status.EventReminder, at("2026-11-27T04:35:00Z"), time.Hour
		}), "[REMINDER] +1 800 555 0100 still FAILED - 1h left to retry (before 2026-11-27 05:35 UTC)", nil},
		{"reminder compressed time", with(func(n *status.Notification) {
			n.Event, n.ObservedAt, n.RetryDeadline = status.EventReminder, at("2026-11-27T05:34:15Z"), at("2026-11-27T05:35:00Z")
		}), "[REMINDER] +1 800 555 0100 still FAILED - 45s left to retry (before 2026-11-27 05:35 UTC)", nil},
		{"expired", with(func(n *status.Notification) { n.Event = status.EventExpired }),
			"[EXPIRED] +1 800 555 0100 retry deadline passed - still FAILED, may be released any moment", nil},
		{"expired gone", with(func(n *status.Notification) { n.Event, n.Status = status.EventExpired, status.NotFound }),
			"[EXPIRED] +1 800 555 0100 gone from Connect - number presumably released", nil},
		{"recovered", with(func(n *status.Notification) { n.Event, n.Status = status.EventRecovered, status.Claimed }),
			"[RECOVERED] +1 800 555 0100 claimed again", nil},
		{"stuck", with(func(n *status.Notification) {
			n.Event, n.Status, n.InProgressSince = status.EventStuck, status.InProgress, at("2026-11-26T04:55:00Z")
		}), "[STUCK] +1 800 555 0100 IN_PROGRESS for 45m", nil},
		{"description and message never in subject", with(func(n *status.Notification) {
			n.Number.Description, n.StatusMessage = long, long
		}), "[FAILED] +1 800 555 0100 claim failed - retry before 2026-11-27 05:35 UTC", nil},
		{"control characters in the number", with(func(n *status.Notification) { n.Number.E164 = "+1800\r\n555\x000100" }),
			"", []string{"[FAILED] +1800 555?0100 claim failed"}},
		{"unicode number and event", with(func(n *status.Notification) {
			n.Number.E164, n.Event = "+४४२०७१", "FÄILED\n"
		}), "", []string{"[F?ILED] +?????? "}},
		{"huge ID, no E.164", with(func(n *status.Notification) { n.Number.E164, n.Number.ID = "", strings.Repeat("x", 500) }),
			"", []string{"[FAILED] " + strings.Repeat("x", 57) + "..."}},
		{"long rest is cut after the number, never in it", with(func(n *status.Notification) {
			n.Event, n.Status = "CUSTOM", status.Status(strings.Repeat("word ", 40))
		}), "", []string{"[CUSTOM] +1 800 555 0100 word word", "..."}},
		{"empty event", with(func(n *status.Notification) { n.Event = "" }), "", []string{"[NOTICE] +1 800 555 0100"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Subject(c.n)
			checkSubject(t, got)
			if c.want != "" && got != c.want {
				t.Errorf("Subject = %q\n          want %q", got, c.want)
			}
			for _, h := range c.has {
				if !strings.Contains(got, h) {
					t.Errorf("Subject = %q, want it to contain %q", got, h)
				}
			}
		})
	}
}

// checkSubject asserts the subject invariants: printable ASCII, at most 99 characters, one line,
// not empty.
func checkSubject(t *testing.T, s string) {
	t.Helper()
	if s == "" || len(s) > MaxSubjectLen {
		t.Errorf("subject has %d characters, want 1..%d: %q", len(s), MaxSubjectLen, s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			t.Errorf("subject byte %d is %#x, not printable ASCII: %q", i, s[i], s)
			return
		}
	}
}

func TestHuman(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {999 * time.Millisecond, "0s"}, {45 * time.Second, "45s"},
		{90 * time.Second, "1m 30s"}, {45 * time.Minute, "45m"}, {45*time.Minute + 10*time.Second, "45m"},
		{time.Hour, "1h"}, {5*time.Hour + 40*time.Minute, "5h 40m"},
		{23*time.Hour + 59*time.Minute + 59*time.Second, "23h 59m"}, {49 * time.Hour, "49h"},
		{-3 * time.Hour, "3h"},
	} {
		if got := human(c.d); got != c.want {
			t.Errorf("human(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

// TestTextWording checks what the text must say in each situation, beyond the golden examples.
func TestTextWording(t *testing.T) {
	failed := goldenCases[0].n
	with := func(f func(*status.Notification)) status.Notification { n := failed; f(&n); return n }
	for _, c := range []struct {
		name    string
		n       status.Notification
		has     []string
		hasNot  []string
		oneLine string // a line that must appear whole
	}{
		{"time left from the observation", failed,
			[]string{"23h 55m left at the check", "earliest Connect may release it",
				"aws connect update-phone-number --phone-number-id 7f1b2c3d-4e5f-4a6b-8c9d-0e1f2a3b4c5d --target-arn arn:aws:connect:us-east-1:123456789012:instance/11111111-2222-3333-4444-555555555555 --region us-east-1"},
			nil, ""},
		{"past deadline is passed, not negative", with(func(n *status.Notification) {
			n.Event, n.ObservedAt = status.EventExpired, at("2026-11-27T08:35:00Z")
		}), []string{"passed 3h ago at the check", "search-available-phone-numbers", "--phone-number-prefix +18005550100"},
			[]string{"-3h", "left at the check"}, ""},
		{"first observation is an upper bound", with(func(n *status.Notification) { n.Basis = status.BasisFirstObservation }),
			[]string{"first saw it FAILED at 2026-11-26 05:40:00 UTC", "may be EARLIER than this upper bound"},
			[]string{"earliest Connect may release it"}, ""},
		{"compressed time", with(func(n *status.Notification) { n.RetryDeadline = n.ObservedAt.Add(45 * time.Second) }),
			[]string{"45s left at the check"}, nil, ""},
		{"message word for word, controls escaped", with(func(n *status.Notification) {
			n.StatusMessage = "Line one\r\nLine two\a \u202Eevil\u2028 *kept* <kept> \\kept"
		}), []string{`Line one\u000D\u000ALine two\u0007 \u202Eevil\u2028 *kept* <kept> \kept`}, []string{"\r", "\a", "\u202E"},
			`Connect's message: Line one\u000D\u000ALine two\u0007 \u202Eevil\u2028 *kept* <kept> \kept`},
		{"invalid UTF-8 is shown, not dropped", with(func(n *status.Notification) { n.Number.Description = "ok\xff" }),
			[]string{`Description:       ok\xFF`}, nil, ""},
		{"unsafe ID is quoted for the shell", with(func(n *status.Notification) { n.Number.ID = "id; rm -rf ~ 'x'" }),
			[]string{`--phone-number-id 'id; rm -rf ~ '\''x'\'''`}, nil, ""},
		{"traffic distribution group number is named by ARN", golden("failed-first-observation"),
			[]string{"--phone-number-id arn:aws:connect:eu-west-2:123456789012:phone-number/0a9b8c7d-6e5f-4d3c-2b1a-00ff00ff00ff --target-arn arn:aws:connect:eu-west-2:123456789012:traffic-distribution-group/22222222-3333-4444-5555-666666666666 --region eu-west-2"},
			nil, ""},
		{"missing target has a placeholder", with(func(n *status.Notification) { n.Number.TargetARN = "" }),
			[]string{"--target-arn <instance-or-traffic-distribution-group-arn>", "Target:            (none)"}, nil, ""},
		{"reminder names its offset", golden("reminder"), []string{"due 1h before the deadline", "1h left to retry"}, nil, ""},
		{"stuck gives since and age", golden("stuck"),
			[]string{"IN_PROGRESS since: 2026-11-26 05:00:00 UTC (the first check that saw it IN_PROGRESS; it may have started earlier",
				"Age:               45m at the check", "for at least 45m"}, nil, ""},
		{"recovered needs nothing", golden("recovered"), []string{"Nothing to do", "CLAIMED again"}, []string{"update-phone-number"}, ""},
		{"gone says why and what to do now, with no time left", golden("expired-gone"),
			[]string{"NOT_FOUND", "ResourceNotFoundException", "describe-phone-number", "Last seen FAILED:  2026-11-27 05:30:00 UTC",
				"presumably released", "search-available-phone-numbers", "aws connect claim-phone-number --target-arn"},
			[]string{"update-phone-number", "left at the check", "passed"}, ""},
		{"released names who and when", golden("expired-released"),
			[]string{"released by bob at 2026-11-27 06:10:00 UTC", "arn:aws:sts::123456789012:assumed-role/ConnectAdmin/bob (role ConnectAdmin, session bob)"},
			[]string{"presumably", "left at the check", "describe-phone-number"}, ""},
		{"update failed: update retry, and honest about the window", golden("failed-transition"),
			[]string{"The update of Amazon Connect phone number", "aws connect update-phone-number --phone-number-id",
				"documents the one-day release for a failed claim; for a failed update it documents none"},
			[]string{"claim-phone-number", "claim failed"}, ""},
		{"transition states the actual interval, never one check interval", with(func(n *status.Notification) {
			n.FailedAfter = at("2026-11-26T02:10:00Z")
		}), []string{"not FAILED at 2026-11-26 02:10:00 UTC and FAILED at 2026-11-26 05:40:00 UTC: the failure came in these 3h 30m",
			"the real deadline is at most 3h 30m later"}, []string{"check interval"}, ""},
		{"claim failed: claim retry with the E.164 number", with(func(n *status.Notification) { n.Failure = status.FailureClaim }),
			[]string{"The claim of Amazon Connect", "aws connect claim-phone-number --target-arn arn:aws:connect:us-east-1:123456789012:instance/11111111-2222-3333-4444-555555555555 --phone-number +18005550100 --phone-number-description 'Support line (EN)' --region us-east-1",
				"The command keeps the number's description; phonewatch does not know its tags: add --tags if it had any."},
			[]string{"update-phone-number", "documents none"}, ""},
		{"unknown failure: both commands", golden("failed-first-observation"),
			[]string{"claim or update", "update-phone-number --phone-number-id", "claim-phone-number --target-arn", "--phone-number +442071838750"}, nil, ""},
		{"operation: which, who, when, where, and the latest release", golden("failed-operation"),
			[]string{"CloudTrail shows:  UpdatePhoneNumber at 2026-11-26 05:37:12 UTC (CloudTrail event 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0)",
				"arn:aws:sts::123456789012:assumed-role/ConnectAdmin/alice@example.com (role ConnectAdmin, session alice@example.com)",
				"to target:       arn:aws:connect:us-east-1:123456789012:instance/99999999-8888-7777-6666-555555555555",
				"The latest Connect may release the number is first FAILED sight plus the window: 2026-11-27 05:40:00 UTC. Do not count on that later time: retry before the deadline.",
				"--target-arn arn:aws:connect:us-east-1:123456789012:instance/99999999-8888-7777-6666-555555555555"},
			// One deadline up top: the latest release is no second deadline to work to.
			[]string{"Latest release:"}, ""},
		{"Connect's reason is in step 1", failed,
			[]string{`1. Find out why the update failed. Connect says: "The phone number could not be claimed. Retry the request."`}, nil, ""},
		{"expired: retry now, not before a deadline that has passed", with(func(n *status.Notification) {
			n.Event, n.ObservedAt = status.EventExpired, at("2026-11-27T06:22:00Z")
		}), []string{"passed 47m ago at the check", "Retry the update now,"},
			[]string{"Retry the update before the deadline", "retry at once"}, ""},
		{"stuck with the call that started it: since then, by whom", with(func(n *status.Notification) {
			n.Event, n.Status, n.InProgressSince, n.ObservedAt = status.EventStuck, status.InProgress, at("2026-11-26T06:00:00Z"), at("2026-11-26T07:00:00Z")
			n.Operation = &status.Operation{Name: "ClaimPhoneNumber", At: at("2026-11-26T05:55:00Z"),
				By: "arn:aws:sts::123456789012:assumed-role/Ops/bob", EventID: "e-1"}
		}), []string{"has been IN_PROGRESS for 1h 5m.", "IN_PROGRESS since: 2026-11-26 05:55:00 UTC (ClaimPhoneNumber by bob, from CloudTrail)",
			"First seen:        2026-11-26 06:00:00 UTC", "Age:               1h 5m at the check"},
			[]string{"may have started earlier", "at least", "Failed operation", "CloudTrail shows:"}, ""},
		{"failed retries are counted", golden("failed-claim-retry-local-time"),
			[]string{"The retry failed too (2 failed retries since the first failure).", "Failed retries:    2", "IAM user deploy-bot"}, nil, ""},
		{"account and Region", failed, []string{"Account, Region:   123456789012, us-east-1"}, nil, ""},
		{"number grouped, E.164 beside it", golden("failed-first-observation"),
			[]string{"phone number +44 20 7183 8750 FAILED", "Phone number:      +44 20 7183 8750 (E.164 +442071838750)"}, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			text := Text(c.n)
			flat := strings.Join(strings.Fields(text), " ") // phrases may be wrapped across lines
			for _, h := range c.has {
				if !strings.Contains(text, h) && !strings.Contains(flat, h) {
					t.Errorf("text lacks %q:\n%s", h, text)
				}
			}
			for _, h := range c.hasNot {
				if strings.Contains(text, h) || strings.Contains(flat, h) {
					t.Errorf("text contains %q:\n%s", h, text)
				}
			}
			if c.oneLine != "" && !strings.Contains("\n"+text+"\n", "\n"+c.oneLine+"\n") {
				t.Errorf("text lacks the whole line %q:\n%s", c.oneLine, text)
			}
			checkText(t, text)
		})
	}
}

// checkText asserts the plain-text invariants: valid UTF-8, no JSON, and no character that could
// split or disguise it other than its own line breaks.
func checkText(t *testing.T, text string) {
	t.Helper()
	if !utf8.ValidString(text) || json.Valid([]byte(text)) {
		t.Errorf("text is invalid UTF-8 or JSON: %q", text)
	}
	for _, r := range text {
		if r != '\n' && r != ' ' && !unicode.IsPrint(r) {
			t.Errorf("text holds raw %U", r)
			return
		}
	}
}

// TestChatbotEscapes feeds markdown and Slack syntax through the description and the message:
// it must arrive escaped, never formatting, mentioning or dropped.
func TestChatbotEscapes(t *testing.T) {
	n := goldenCases[0].n
	for _, c := range []struct{ in, want string }{
		{"*bold* _it_ ~strike~ `code`", "∗bold∗ ˍitˍ ∼strike∼ ˋcodeˋ"},
		{"<!channel> <@U123> <https://evil.example|click>", "&lt;!channel&gt; &lt;@U123&gt; &lt;https://evil.example|click&gt;"},
		// Not syntax in mrkdwn: kept as written, no backslash added (Slack would show it).
		{"[link](https://evil.example) a|b #1", "[link](https://evil.example) a|b #1"},
		{"TOLL_FREE IN_PROGRESS a*b x~y snake_case_name", "TOLL_FREE IN_PROGRESS a*b x~y snake_case_name"},
		{"a & b > c", "a &amp; b &gt; c"},
		{"back\\slash", `back\slash`},
		{"line\nbreak\ttab\u2028", `line\u000Abreak\u0009tab\u2028`},
		{"déjà vu 🙂", "déjà vu 🙂"},
	} {
		t.Run(c.in, func(t *testing.T) {
			for _, field := range []string{"description", "message"} {
				m := n
				if field == "description" {
					m.Number.Description = c.in
				} else {
					m.StatusMessage = c.in
				}
				var got chatbotMessage
				b, err := Chatbot(m)
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(b, &got); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(got.Content.Description, c.want) {
					t.Errorf("%s %q: description lacks %q:\n%s", field, c.in, c.want, got.Content.Description)
				}
			}
		})
	}
}

// slackFormats returns the spans of s that Slack's mrkdwn would format as bold, italic, strike
// or code: a marker at a word's edge, text that neither starts nor ends with a space, the same
// marker at the next word's edge. It is the model md is tested against.
func slackFormats(s string) []string {
	var out []string
	for _, m := range []string{`\*`, `_`, `~`, "`"} {
		re := regexp.MustCompile(`(?:^|[^\p{L}\p{N}])(` + m + `[^\s` + m + `](?:[^` + m + `\n]*[^\s` + m + `])?` + m + `)(?:$|[^\p{L}\p{N}])`)
		for _, g := range re.FindAllStringSubmatch(s, -1) {
			out = append(out, g[1])
		}
	}
	return out
}

// TestChatbotMrkdwnRules holds the chat rendering to Slack's mrkdwn rules (see md): every value,
// however hostile, formats nothing and mentions no one; nothing is backslash-escaped anywhere
// (mrkdwn has no escape: the reader would see the backslash); &, < and > only as entities; and
// the same word is written the same way in our labels and in values (IN_PROGRESS, TOLL_FREE).
func TestChatbotMrkdwnRules(t *testing.T) {
	hostile := "*urgent* _now_ ~gone~ `rm -rf` <!channel> <@U1> a&b TOLL_FREE IN_PROGRESS [TEST] \\*x*"
	if got := slackFormats("*bold* and _it_ but TOLL_FREE a*b*c"); len(got) != 2 {
		t.Fatalf("the model finds %q, want *bold* and _it_", got)
	}
	type namedCase struct {
		name string
		n    status.Notification
	}
	var cases []namedCase
	for _, c := range goldenCases {
		cases = append(cases, namedCase{c.name, c.n})
	}
	h := goldenCases[0].n
	h.StatusMessage, h.Number.Description = hostile, hostile
	cases = append(cases, namedCase{"hostile", h})
	for _, c := range cases {
		b, err := Chatbot(c.n)
		if err != nil {
			t.Fatal(err)
		}
		var m chatbotMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		all := append([]string{m.Content.Title, m.Content.Description}, append(m.Content.NextSteps, m.Content.Keywords...)...)
		for _, s := range all {
			if regexp.MustCompile("\\\\[*_~`\\[\\]|\\\\]").MatchString(s) {
				t.Errorf("%s: a backslash escape, which Slack shows as written: %q", c.name, s)
			}
			if strings.ContainsAny(s, "<>") || regexp.MustCompile(`&(?:[^agl]|a[^m]|g[^t]|l[^t])`).MatchString(s) {
				t.Errorf("%s: <, > or & not as an entity: %q", c.name, s)
			}
			if strings.Contains(s, `IN\_PROGRESS`) || strings.Contains(s, `TOLL\_FREE`) {
				t.Errorf("%s: a status or type escaped unlike our own labels: %q", c.name, s)
			}
		}
		if c.name != "hostile" {
			continue
		}
		for _, line := range strings.Split(m.Content.Description, "\n") {
			_, value, ok := strings.Cut(line, "Connect says: ")
			if !ok {
				_, value, ok = strings.Cut(line, " — ")
			}
			if f := slackFormats(value); ok && len(f) > 0 {
				t.Errorf("a value formats in Slack: %q in %q", f, line)
			}
		}
	}
}

// TestChatbotShape checks the fixed parts of the custom notification schema.
func TestChatbotShape(t *testing.T) {
	for _, c := range goldenCases {
		b, err := Chatbot(c.n)
		if err != nil {
			t.Fatal(err)
		}
		var m chatbotMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m.Version != "1.0" || m.Source != "custom" || m.Content.TextType != "client-markdown" {
			t.Errorf("%s: version/source/textType = %q/%q/%q", c.name, m.Version, m.Source, m.Content.TextType)
		}
		if m.Metadata.ThreadID != c.n.Number.ID || m.Metadata.EventType != string(c.n.Event) {
			t.Errorf("%s: threadId/eventType = %q/%q", c.name, m.Metadata.ThreadID, m.Metadata.EventType)
		}
		if len(m.Content.NextSteps) == 0 || m.Content.Title == "" {
			t.Errorf("%s: no title or next steps", c.name)
		}
	}
}

// TestMdBudget: md never exceeds its budget and never cuts an escape in two.
func TestMdBudget(t *testing.T) {
	for _, c := range []struct {
		in     string
		budget int
		want   string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"a*b", 4, "a*b"},
		{"*b", 2, "∗b"},
		{"a*", 2, "a∗"},
		{"ab*", 3, "ab∗"},
		{"ab*c", 3, "ab…"},
		{"<<", 8, "&lt;&lt;"},
		{"<<", 7, "&lt;…"},
		{"\a\a", 11, `\u0007…`},
		{"", 5, ""},
	} {
		got := md(c.in, c.budget)
		if got != c.want {
			t.Errorf("md(%q, %d) = %q, want %q", c.in, c.budget, got, c.want)
		}
		if utf8.RuneCountInString(got) > c.budget {
			t.Errorf("md(%q, %d) = %q exceeds the budget", c.in, c.budget, got)
		}
	}
}

// TestAttributes: the four filter attributes and notificationId, empty ones left out (SNS
// rejects them).
func TestAttributes(t *testing.T) {
	n := goldenCases[0].n
	got := Attributes(n)
	want := map[string]string{"event": "FAILED", "status": "FAILED", "countryCode": "US", "numberType": "TOLL_FREE",
		"notificationId": "n-7f1b2c3d-failed-1"}
	if len(got) != len(want) {
		t.Errorf("Attributes = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Attributes[%s] = %q, want %q", k, got[k], v)
		}
	}
	n.Number.CountryCode, n.Number.Type = "", " \t"
	got = Attributes(n)
	if _, ok := got["countryCode"]; ok {
		t.Errorf("empty countryCode kept: %v", got)
	}
	if v, ok := got["numberType"]; ok {
		t.Errorf("blank numberType kept as %q", v)
	}
}

// fuzzNotification builds a notification from fuzz input.
func fuzzNotification(event, id, e164, desc, msg string, leftSeconds int64) status.Notification {
	obs := at("2026-11-26T05:40:00Z")
	return status.Notification{
		Event:  status.Event(event),
		Status: status.Failed,
		Number: status.Number{ID: id, E164: e164, Description: desc, CountryCode: "US", Type: "DID",
			ARN: "arn:aws:connect:us-east-1:123456789012:phone-number/" + id, TargetARN: id},
		StatusMessage:   msg,
		ObservedAt:      obs,
		FailedSince:     obs,
		RetryDeadline:   obs.Add(time.Duration(leftSeconds) * time.Second),
		InProgressSince: obs.Add(-time.Duration(leftSeconds) * time.Second),
		Basis:           status.BasisFirstObservation,
		Reminder:        time.Hour,
	}
}

// FuzzSubject: whatever the notification holds, the subject is printable ASCII, 1 to 99
// characters, one line, and keeps the number when it is a real E.164 one.
func FuzzSubject(f *testing.F) {
	f.Fuzz(func(t *testing.T, event, id, e164, desc, msg string, leftSeconds int64) {
		n := fuzzNotification(event, id, e164, desc, msg, leftSeconds)
		s := Subject(n)
		checkSubject(t, s)
		if e164 != "" && len(e164) <= 16 && strings.Trim(e164, "+0123456789") == "" && !strings.Contains(s, subjectNumber(n)) {
			t.Errorf("subject %q lost the number %q", s, e164)
		}
	})
}

// FuzzChatbot: whatever the notification holds, the chat and machine JSON and the SNS message
// are valid JSON, the chat title and description stay within the documented limits, and text
// from Connect reaches the description only escaped.
func FuzzChatbot(f *testing.F) {
	f.Fuzz(func(t *testing.T, event, id, e164, desc, msg string, leftSeconds int64) {
		n := fuzzNotification(event, id, e164, desc, msg, leftSeconds)
		chat, err := Chatbot(n)
		if err != nil || !json.Valid(chat) {
			t.Fatalf("chatbot JSON invalid (%v): %s", err, chat)
		}
		machine, err := Machine(n)
		if err != nil || !json.Valid(machine) {
			t.Fatalf("machine JSON invalid (%v): %s", err, machine)
		}
		body, err := Message(n)
		if err != nil || !json.Valid([]byte(body)) {
			t.Fatalf("SNS message invalid (%v): %s", err, body)
		}
		checkText(t, Text(n))
		var m chatbotMessage
		if err := json.Unmarshal(chat, &m); err != nil {
			t.Fatal(err)
		}
		if c := utf8.RuneCountInString(m.Content.Title); c > maxTitle {
			t.Errorf("title has %d characters", c)
		}
		if c := utf8.RuneCountInString(m.Content.Description); c > maxDescription {
			t.Errorf("description has %d characters", c)
		}
		// Each field from Connect: render it once with the fuzz value and once with a plain
		// placeholder; whatever stands where the placeholder stood must be fully escaped.
		for _, field := range []string{"description", "message"} {
			value := map[string]string{"description": desc, "message": msg}[field]
			if value == "" {
				continue
			}
			got := description(t, n)
			p := n
			const placeholder = "QZXPLACEHOLDERQZX"
			if field == "description" {
				p.Number.Description = placeholder
			} else {
				p.StatusMessage = placeholder
			}
			for _, seg := range inserted(t, got, description(t, p), placeholder) {
				if i, bad := unescaped(seg); bad {
					t.Errorf("%s %q reaches the description with byte %d unescaped: %q", field, value, i, seg)
				}
			}
		}
	})
}

func description(t *testing.T, n status.Notification) string {
	t.Helper()
	b, err := Chatbot(n)
	if err != nil {
		t.Fatal(err)
	}
	var m chatbotMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m.Content.Description
}

// inserted returns what stands in got where template has placeholder: got must be template with
// each placeholder replaced by one same segment.
func inserted(t *testing.T, got, template, placeholder string) []string {
	t.Helper()
	parts := strings.Split(template, placeholder)
	k := len(parts) - 1
	fixed := len(template) - k*len(placeholder)
	if k == 0 || (len(got)-fixed)%k != 0 || len(got) < fixed {
		t.Fatalf("description does not follow its template:\n got %q\ntmpl %q", got, template)
	}
	seg := got[len(parts[0]) : len(parts[0])+(len(got)-fixed)/k]
	if strings.Join(parts, seg) != got {
		t.Fatalf("description does not follow its template:\n got %q\ntmpl %q", got, template)
	}
	return []string{seg}
}

// unescaped scans s, independently of md, for a character Slack's mrkdwn would read as syntax:
// & not starting an entity, < or >, a formatting marker at a word's edge, a control character.
// It returns the offset of the first one.
func unescaped(s string) (int, bool) {
	prev := ' ' // a value's edges are words' edges
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		next := ' '
		if i+size < len(s) {
			next, _ = utf8.DecodeRuneInString(s[i+size:])
		}
		switch {
		case r == '&':
			ok := false
			for _, e := range []string{"&amp;", "&lt;", "&gt;"} {
				if strings.HasPrefix(s[i:], e) {
					ok = true
				}
			}
			if !ok {
				return i, true
			}
		case r == '<' || r == '>':
			return i, true
		case strings.ContainsRune("*_~`", r) && (!wordRune(prev) || !wordRune(next)):
			return i, true // a marker at a word's edge may format
		case r == utf8.RuneError || (r != ' ' && !unicode.IsPrint(r)):
			return i, true
		}
		prev = r
		i += size
	}
	return 0, false
}
