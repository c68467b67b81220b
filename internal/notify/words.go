package notify

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/phonewatch/phonewatch/internal/status"
)

// Renderer words notifications for people with times in UTC and, when Location is set (the
// DISPLAY_TIMEZONE), the local time beside it: "2026-11-27 05:35:00 UTC (06:35 CET)". Subjects
// and the machine JSON stay UTC only. The package-level Subject, Text, Chatbot, Machine and
// Message are the zero Renderer: UTC only.
type Renderer struct {
	Location *time.Location
	// Printed words the text for a local run that prints it instead of sending it (`phonewatch
	// check` without --publish): its footer must not claim it was sent.
	Printed bool
}

// atNote is t for people with a note in the same parentheses as the local time, never two
// pairs: "2026-11-27 05:35:00 UTC (06:35 CET; 22h 25m left at the check)".
func (r Renderer) atNote(t time.Time, note string) string {
	s := r.at(t)
	if note == "" {
		return s
	}
	if strings.HasSuffix(s, ")") {
		return s[:len(s)-1] + "; " + note + ")"
	}
	return s + " (" + note + ")"
}

// at is t for people: UTC to the second, the local wall clock beside it when a display zone is
// set (with the date when it differs from UTC's).
func (r Renderer) at(t time.Time) string { return r.Time(t, textTime) }

// Time is t in UTC in the given layout, the local wall clock beside it when a display zone is
// set (with the date when it differs from UTC's), e.g. "2026-11-27 05:35:00 UTC (06:35 CET)".
func (r Renderer) Time(t time.Time, utcLayout string) string {
	utc := t.UTC().Format(utcLayout)
	if r.Location == nil || r.Location == time.UTC {
		return utc
	}
	local := t.In(r.Location)
	layout := "15:04 MST"
	if local.Format(time.DateOnly) != t.UTC().Format(time.DateOnly) {
		layout = "2006-01-02 15:04 MST"
	}
	return utc + " (" + local.Format(layout) + ")"
}

// failed is what failed, in words: "update failed", "claim failed", or "claim or update
// failed" when phonewatch cannot tell (first sight of FAILED, no operation known).
func failed(n status.Notification) string {
	switch n.Failure {
	case status.FailureClaim:
		return "claim failed"
	case status.FailureUpdate:
		return "update failed"
	default:
		return "claim or update failed"
	}
}

// operationWord is the kind of operation in a sentence: "claim", "update" or "claim or update".
func operationWord(n status.Notification) string {
	switch n.Failure {
	case status.FailureClaim:
		return "claim"
	case status.FailureUpdate:
		return "update"
	default:
		return "claim or update"
	}
}

// restarted says what restarted a failed chain's deadline and what it was before, "" when
// nothing did: "A new UpdatePhoneNumber at ... restarted the deadline; the previous deadline was
// ...". Values from CloudTrail go through visible.
func (r Renderer) restarted(n status.Notification) string {
	if n.PreviousDeadline.IsZero() {
		return ""
	}
	return "A new " + r.restartCall(n) + " restarted the deadline; the previous deadline was " +
		r.at(n.PreviousDeadline) + "."
}

// restartCall is the call that restarted the deadline in words: "UpdatePhoneNumber at ..."
// (with its time), or "claim or update call" when the notification does not carry it.
func (r Renderer) restartCall(n status.Notification) string {
	if op := n.Operation; op != nil {
		return visible(op.Name) + " at " + r.at(op.At)
	}
	return operationWord(n) + " call"
}

// retriesWords says how many retries of this chain failed too, "" for the first failure.
func retriesWords(n status.Notification) string {
	switch {
	case n.Retries <= 0:
		return ""
	case n.Retries == 1:
		return "The retry failed too (1 failed retry since the first failure)."
	default:
		return fmt.Sprintf("The retry failed too (%d failed retries since the first failure).", n.Retries)
	}
}

// caller is a caller ARN made readable beside itself: the role and session of an assumed role,
// the name of an IAM user, the account root; "" when the ARN says nothing more than itself.
func caller(arn string) string {
	f := strings.SplitN(arn, ":", 6)
	if len(f) != 6 || f[0] != "arn" {
		return ""
	}
	res := f[5]
	switch {
	case strings.HasPrefix(res, "assumed-role/"):
		parts := strings.SplitN(strings.TrimPrefix(res, "assumed-role/"), "/", 2)
		if len(parts) == 2 {
			return "role " + parts[0] + ", session " + parts[1]
		}
		return "role " + parts[0]
	case strings.HasPrefix(res, "user/"):
		return "IAM user " + res[strings.LastIndex(res, "/")+1:]
	case res == "root":
		return "the root user of account " + f[4]
	default:
		return ""
	}
}

// callerShort is who ran an operation in a few words: the session (or user) name when the ARN
// has one, the ARN otherwise, "an unknown caller" without one.
func callerShort(arn string) string {
	if arn == "" {
		return "an unknown caller"
	}
	f := strings.SplitN(arn, ":", 6)
	if len(f) == 6 && (strings.HasPrefix(f[5], "assumed-role/") || strings.HasPrefix(f[5], "user/")) {
		return f[5][strings.LastIndex(f[5], "/")+1:]
	}
	return arn
}

// callerLong is the caller ARN with its readable form beside it.
func callerLong(arn string) string {
	if arn == "" {
		return "(not recorded)"
	}
	if c := caller(arn); c != "" {
		return arn + " (" + c + ")"
	}
	return arn
}

// accountRegion are the account and Region of the number, from its ARN
// (arn:<partition>:connect:<region>:<account>:...), else from its target's; "" when neither
// is an ARN.
func accountRegion(num status.Number) (account, region string) {
	for _, arn := range []string{num.ARN, num.TargetARN} {
		f := strings.SplitN(arn, ":", 6)
		if len(f) == 6 && f[0] == "arn" && f[4] != "" {
			return f[4], f[3]
		}
	}
	return "", ""
}

// TestNotification is the notification `phonewatch test` publishes to topicARN at at: event
// TEST, a notificationId of its own, and the topic as its target (its account and Region are
// the ones the text and the JSON name). It proves the delivery path and nothing else.
func TestNotification(topicARN string, at time.Time) status.Notification {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it panics if the system cannot give randomness)
	return status.Notification{
		Event:      status.EventTest,
		Number:     status.Number{ID: "phonewatch-test", TargetARN: topicARN},
		ObservedAt: at,
		ID:         "test-" + at.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b),
	}
}
