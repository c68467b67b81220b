// Package notify is where a notification is worded and where it is sent: pure rendering of a
// status.Notification into the forms of DESIGN.md's notification contract (subject, plain text,
// machine JSON, Amazon Q Developer custom notification, the SNS MessageStructure=json envelope)
// and the SNS publisher that delivers them.
package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/phonewatch/phonewatch/internal/status"
)

// MaxSubjectLen is the longest Subject renders: SNS accepts fewer than 100 characters.
const MaxSubjectLen = 99

// maxSubjectNumber bounds the number part of a subject, so that even a pathological phone
// number ID leaves room for the event tag; a real E.164 number (16 characters) or Connect ID
// (36) is never shortened.
const maxSubjectNumber = 60

const (
	subjectTime = "2006-01-02 15:04 UTC"
	textTime    = "2006-01-02 15:04:05 UTC"
)

// Subject is the SNS Subject (and email subject line): the event and the number, then what
// matters most about it. It is only printable ASCII, at most MaxSubjectLen characters, one line,
// whatever the notification holds; when too long, only the part after the number is shortened.
func Subject(n status.Notification) string {
	switch n.Event {
	case status.EventTest:
		return testSubject(n)
	case status.EventBudget:
		return budgetSubject(n)
	}
	tag, num, rest := subjectParts(n)
	head := "[" + tag + "] " + num
	if rest == "" {
		return head
	}
	if len(head)+1+len(rest) <= MaxSubjectLen {
		return head + " " + rest
	}
	room := MaxSubjectLen - len(head) - 1 - len("...")
	if room < 8 {
		return head
	}
	cut := rest[:room]
	if i := strings.LastIndexByte(cut, ' '); i >= room/2 {
		cut = cut[:i] // end on a word boundary when one is near
	}
	return head + " " + strings.TrimRight(cut, " -") + "..."
}

// subjectParts are the pieces of a subject, each printable ASCII: the event tag (at most 20
// characters), the number (see subjectNumber) and the rest, not yet shortened.
func subjectParts(n status.Notification) (tag, num, rest string) {
	tag = subjectASCII(string(n.Event))
	if tag == "" {
		tag = "NOTICE"
	}
	if len(tag) > 20 {
		tag = tag[:20]
	}
	return tag, subjectNumber(n), subjectASCII(subjectRest(n))
}

// subjectNumber is the number as people read it: NANP numbers grouped as +1 800 555 0100,
// others as their E.164 string, the phone number ID when there is no E.164 (it should not
// happen), all reduced to printable ASCII and at most maxSubjectNumber characters.
func subjectNumber(n status.Notification) string {
	num := displayNumber(n.Number)
	if num == "" {
		num = "(unknown number)"
	}
	num = subjectASCII(num)
	if len(num) > maxSubjectNumber {
		num = num[:maxSubjectNumber-3] + "..."
	}
	return num
}

// subjectRest is what the subject says after the number, per event: what failed, and the
// deadline ("by ... at most" when it is an upper bound: first sight of FAILED).
func subjectRest(n status.Notification) string {
	deadline := n.RetryDeadline.UTC().Format(subjectTime)
	left := n.TimeLeft()
	upper := n.Basis == status.BasisFirstObservation
	switch n.Event {
	case status.EventFailed:
		what := failed(n)
		if n.Retries > 0 {
			what += " again"
		}
		switch {
		case left <= 0:
			return what + " - retry deadline " + deadline + " may be past"
		case upper:
			return what + " - retry by " + deadline + " at most"
		default:
			return what + " - retry before " + deadline
		}
	case status.EventReminder:
		switch {
		case left <= 0:
			return "still FAILED - retry deadline " + deadline + " passed"
		case upper:
			return fmt.Sprintf("still FAILED - %s left at most (by %s)", human(left), deadline)
		default:
			return fmt.Sprintf("still FAILED - %s left to retry (before %s)", human(left), deadline)
		}
	case status.EventExpired:
		if n.Status == status.NotFound {
			if n.Release != nil {
				return "released by " + callerShort(n.Release.By) + " at " + n.Release.At.UTC().Format(subjectTime)
			}
			return "gone from Connect - number presumably released"
		}
		return "retry deadline passed - still FAILED, may be released any moment"
	case status.EventDeadline:
		return deadlineSubjectRest(n)
	case status.EventRecovered:
		return "claimed again"
	case status.EventStuck:
		return fmt.Sprintf("IN_PROGRESS for %s", human(stuckAge(n)))
	default:
		return string(n.Status)
	}
}

// subjectASCII reduces s to one line of printable ASCII: whitespace of any kind becomes a
// space (runs collapsed), every other non-printable or non-ASCII character becomes '?'.
func subjectASCII(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case r == ' ' || unicode.IsSpace(r):
			space = true
			continue
		case r < 0x20 || r > 0x7E:
			r = '?'
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// human writes a duration the way people say it: "23h 59m", "5h", "45m", "1m 30s", "45s".
// Hours and minutes are truncated, never rounded up, so a time left is never overstated.
func human(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	if d < time.Second {
		return "0s"
	}
	h, m, s := int64(d/time.Hour), int64(d%time.Hour/time.Minute), int64(d%time.Minute/time.Second)
	switch {
	case h > 0 && m > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	case h > 0:
		return fmt.Sprintf("%dh", h)
	case m > 0 && s > 0 && m < 10:
		return fmt.Sprintf("%dm %ds", m, s)
	case m > 0:
		return fmt.Sprintf("%dm", m)
	default:
		return fmt.Sprintf("%ds", s)
	}
}

// timeLeft words the time from the observation to the deadline: "5h 40m left", or "passed 3h
// ago" once it is behind, never a negative duration.
func timeLeft(d time.Duration) string {
	switch {
	case d >= time.Second:
		return human(d) + " left"
	case d > -time.Second:
		return "reached now"
	default:
		return "passed " + human(d) + " ago"
	}
}

// visible returns s with every character that could split or disguise a message shown as an
// escape: control and other non-printable characters (line breaks, tabs, bidi overrides,
// U+2028) as \uXXXX, invalid UTF-8 bytes as \xNN. Everything else, backslashes included, is
// kept as it is, so that Connect's words reach the reader unchanged.
func visible(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02X`, s[i])
		case r != ' ' && !unicode.IsPrint(r):
			writeRuneEscape(&b, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

func writeRuneEscape(b *strings.Builder, r rune) {
	if r > 0xFFFF {
		fmt.Fprintf(b, `\U%08X`, r)
		return
	}
	fmt.Fprintf(b, `\u%04X`, r)
}

// Attributes are the SNS message attributes (all of type String) that filter policies match:
// event, status, countryCode and numberType, plus notificationId, so that a consumer can drop
// a repeat without parsing the message. An attribute whose value is empty is left out, since
// SNS rejects an empty String value; values are reduced to printable characters.
func Attributes(n status.Notification) map[string]string {
	a := make(map[string]string, 5)
	for k, v := range map[string]string{
		"event":          string(n.Event),
		"status":         string(n.Status),
		"countryCode":    n.Number.CountryCode,
		"numberType":     n.Number.Type,
		"notificationId": n.ID,
	} {
		if v = attributeValue(v); v != "" {
			a[k] = v
		}
	}
	return a
}

// attributeValue keeps an attribute value to valid UTF-8 without control characters, trimmed.
func attributeValue(v string) string {
	v = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, v)
	return strings.TrimSpace(v)
}

// Message is the body of one SNS publish with MessageStructure "json": a JSON object whose keys
// are delivery protocols. People get plain text (default, email), programs the machine JSON
// (sqs, lambda, email-json, firehose), and Amazon Q Developer in chat applications, which
// subscribes over https, its custom notification.
func Message(n status.Notification) (string, error) { return Renderer{}.Message(n) }

// Message is the SNS message body of n (see the package-level Message), worded by r.
func (r Renderer) Message(n status.Notification) (string, error) {
	machine, err := Machine(n)
	if err != nil {
		return "", err
	}
	chat, err := r.Chatbot(n)
	if err != nil {
		return "", err
	}
	text := r.Text(n)
	body, err := marshal(map[string]string{
		"default":    text,
		"email":      text,
		"sqs":        string(machine),
		"lambda":     string(machine),
		"email-json": string(machine),
		"firehose":   string(machine),
		"https":      string(chat),
	})
	if err != nil {
		return "", fmt.Errorf("render SNS message for %s %s: %w", n.Event, n.Number.ID, err)
	}
	return string(body), nil
}

// marshal is json.Marshal without HTML escaping, so that <, > and & stay readable; the output
// is still valid JSON, and control characters are escaped as JSON requires.
func marshal(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}
