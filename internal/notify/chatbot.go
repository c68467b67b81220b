package notify

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/phonewatch/phonewatch/internal/status"
)

// The Amazon Q Developer in chat applications (formerly AWS Chatbot) custom notification, the
// SNS `https` key. What its documentation ("Custom notifications using Amazon Q Developer in chat
// applications", event schema and parameter details) says, as found for this code:
//   - required: version "1.0" and source "custom"; everything else is optional;
//   - content: textType (only "client-markdown" is supported: rendered in the chat platform's
//     own markdown, Slack's mrkdwn for Slack), title and description (both markdown, emojis
//     allowed), nextSteps and keywords (lists of strings);
//   - metadata: threadId (notifications with the same threadId are grouped in one thread when
//     the channel allows it), summary, eventType, relatedResources (list), additionalContext
//     (string map, usable by custom actions).
//
// The stored excerpts of that page did not include its table of length limits; public users of
// the schema cut the title at 250 and the description at 8,000 characters, and we stay within
// those (maxTitle, maxDescription) by construction, with a handful of short nextSteps and
// keywords.
const (
	maxTitle       = 250
	maxDescription = 8000
	maxKeyword     = 30
)

// chatbotMessage is the custom notification's event schema (the part phonewatch uses).
type chatbotMessage struct {
	Version  string          `json:"version"`
	Source   string          `json:"source"`
	Content  chatbotContent  `json:"content"`
	Metadata chatbotMetadata `json:"metadata"`
}

type chatbotContent struct {
	TextType    string   `json:"textType"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	NextSteps   []string `json:"nextSteps,omitempty"`
	Keywords    []string `json:"keywords,omitempty"`
}

type chatbotMetadata struct {
	ThreadID          string            `json:"threadId"`
	Summary           string            `json:"summary"`
	EventType         string            `json:"eventType"`
	RelatedResources  []string          `json:"relatedResources,omitempty"`
	AdditionalContext map[string]string `json:"additionalContext,omitempty"`
}

// Chatbot is n as an Amazon Q Developer custom notification for Slack (or Teams): an emoji and
// the subject as title, the facts and the deadline as description, the commands as nextSteps.
// Every value that comes from Connect is markdown-escaped (see md), so that a message or a
// description full of *, _, `, <!channel> or line breaks shows as written and cannot format,
// mention or break the rest of the notification. Threads group all notifications of one number.
func Chatbot(n status.Notification) ([]byte, error) { return Renderer{}.Chatbot(n) }

// Chatbot is n as an Amazon Q Developer custom notification (see the package-level Chatbot),
// its times worded by r.
func (r Renderer) Chatbot(n status.Notification) ([]byte, error) {
	if n.Event == status.EventBudget {
		return r.budgetChatbot(n)
	}
	tag, num, rest := subjectParts(n)
	// The emoji is ours and stays unescaped; the rest is printable ASCII, escaped all the same.
	title := emoji(n.Event) + " *" + md(tag, 40) + "* " + md(strings.TrimSpace(num+" "+rest), maxTitle-100)
	description := r.chatbotDescription(n)
	if n.Event == status.EventTest {
		title = emoji(n.Event) + " " + md(Subject(n), maxTitle-100)
		description = r.testDescription(n)
	}

	msg := chatbotMessage{
		Version: "1.0",
		Source:  "custom",
		Content: chatbotContent{
			TextType:    "client-markdown",
			Title:       title,
			Description: description,
			Keywords:    keywords(n),
		},
		Metadata: chatbotMetadata{
			ThreadID:          threadID(n.Number),
			Summary:           Subject(n),
			EventType:         string(n.Event),
			RelatedResources:  nonEmpty(n.Number.ARN, n.Number.TargetARN),
			AdditionalContext: additionalContext(n),
		},
	}
	steps := r.nextSteps(n)
	if n.Event == status.EventTest {
		steps = []step{{"Nothing to do. If a member of this channel should get phonewatch's alerts, this is where they arrive.", ""}}
	}
	for _, s := range steps {
		step := md(s.say, 600)
		if s.cmd != "" {
			step += " " + code(s.cmd, 1200)
		}
		msg.Content.NextSteps = append(msg.Content.NextSteps, step)
	}
	b, err := marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("render chat notification for %s %s: %w", n.Event, n.Number.ID, err)
	}
	return b, nil
}

// chatbotDescription is the body: the deadline and how far to trust it first, then the number,
// its status in Connect's words, the operation, the IDs. Its parts are budgeted so that it never
// exceeds maxDescription.
func (r Renderer) chatbotDescription(n status.Notification) string {
	var lines []string
	add := func(label, value string) { lines = append(lines, "*"+label+":* "+value) }

	r.chatbotDeadline(add, n)

	number := md(displayNumber(n.Number), 100)
	if g := displayNumber(n.Number); g != n.Number.E164 && n.Number.E164 != "" {
		number += " (" + md(n.Number.E164, 40) + ")"
	}
	if n.Number.Description != "" {
		number += " — " + md(n.Number.Description, 1500)
	}
	add("Number", number)
	st := md(string(n.Status), 60)
	if n.StatusMessage != "" {
		st += " — Connect says: " + md(n.StatusMessage, 2000)
	}
	add("Status", st)
	if op := n.Operation; op != nil {
		by := md(callerShort(op.By), 200)
		label := "CloudTrail shows"
		if n.Event == status.EventStuck {
			label = "Operation"
		}
		add(label, md(op.Name, 60)+" by "+by+" at "+r.at(op.At)+" → "+code(op.TargetARN, 600))
		if op.By != "" {
			add("Caller", code(op.By, 600))
		}
	}
	if n.Retries > 0 {
		add("Failed retries", fmt.Sprintf("%d (the retry failed too)", n.Retries))
	}
	add("Phone number ID", code(n.Number.ID, 300))
	if n.Number.TargetARN != "" {
		add("Target", code(n.Number.TargetARN, 600))
	}
	if account, region := accountRegion(n.Number); account != "" {
		add("Account", md(account, 40)+" *Region:* "+md(region, 40))
	}
	add("Checked at", r.at(n.ObservedAt))
	return strings.Join(lines, "\n")
}

// chatbotDeadline adds the deadline lines of n, per event.
func (r Renderer) chatbotDeadline(add func(label, value string), n status.Notification) {
	deadline := r.at(n.RetryDeadline)
	switch n.Event {
	case status.EventDeadline:
		r.chatbotDeadlineMoved(add, n)
	case status.EventExpired:
		if n.Status == status.NotFound {
			if n.Release != nil {
				add("Released", "by "+md(callerShort(n.Release.By), 200)+" at "+r.at(n.Release.At))
			}
			if !n.LastFailedAt.IsZero() {
				add("Last seen FAILED", r.at(n.LastFailedAt))
			}
			add("Retry deadline was", deadline)
			return
		}
		fallthrough
	case status.EventFailed, status.EventReminder:
		left := timeLeft(n.TimeLeft())
		if n.Basis == status.BasisFirstObservation && n.TimeLeft() > 0 {
			left = "at most " + left
		}
		add("Retry deadline", r.atNote(n.RetryDeadline, "*"+left+"* at the check"))
		if n.Event == status.EventReminder {
			add("Reminder", "due "+status.FormatOffset(n.Reminder)+" before the deadline")
		}
		if !n.PreviousDeadline.IsZero() {
			call := operationWord(n) + " call"
			if op := n.Operation; op != nil {
				call = md(op.Name, 60) + " at " + r.at(op.At)
			}
			add("Previous deadline", r.atNote(n.PreviousDeadline, "replaced: the new "+call+" restarted it"))
		}
		add("Deadline basis", md(string(n.Basis), 60)+" — "+r.basisShort(n))
	case status.EventRecovered:
		add("Was FAILED since", r.atNote(n.FailedSince, "deadline was "+deadline))
	case status.EventStuck:
		if op := stuckOperation(n); op != nil {
			add("IN_PROGRESS since", r.atNote(op.At, md(op.Name, 60)+" by "+md(callerShort(op.By), 200)+
				", from CloudTrail; "+human(stuckAge(n))+" at the check"))
			add("First seen IN_PROGRESS", r.at(n.InProgressSince))
		} else {
			add("IN_PROGRESS since", r.atNote(n.InProgressSince, "first seen; "+human(stuckAge(n))+
				" at the check; it may have started earlier: CloudTrail showed no call"))
		}
	}
}

// basisShort is basisExplained in one line, for chat.
func (r Renderer) basisShort(n status.Notification) string {
	failed := r.at(n.FailedSince)
	latest := ""
	if !n.LatestRelease.IsZero() {
		latest = " Connect may keep the number until " + r.at(n.LatestRelease) + " at most: do not count on it."
	}
	switch n.Basis {
	case status.BasisTransition:
		if n.FailedAfter.IsZero() {
			return "seen not FAILED at an earlier check and FAILED at " + failed +
				": this is the earliest Connect may release it." + latest
		}
		gap := human(n.FailedSince.Sub(n.FailedAfter))
		return "not FAILED at " + r.at(n.FailedAfter) + ", FAILED at " + failed + ": the failure came in these " +
			gap + "; this is the earliest Connect may release it, the real deadline at most " + gap + " later." + latest
	case status.BasisOperation:
		return "the time of the call CloudTrail shows before the failure, plus the retry window: never later " +
			"than the real one." + latest
	case status.BasisFirstObservation:
		return "first seen FAILED at " + failed +
			"; it may have failed earlier, so the real deadline may be *earlier* than this upper bound."
	default:
		return "unknown basis: treat the deadline as approximate."
	}
}

func emoji(e status.Event) string {
	switch e {
	case status.EventFailed:
		return ":rotating_light:"
	case status.EventReminder:
		return ":alarm_clock:"
	case status.EventDeadline:
		return ":warning:"
	case status.EventExpired:
		return ":x:"
	case status.EventRecovered:
		return ":white_check_mark:"
	case status.EventStuck:
		return ":hourglass_flowing_sand:"
	case status.EventTest:
		return ":wave:"
	default:
		return ":information_source:"
	}
}

func keywords(n status.Notification) []string {
	k := []string{"phonewatch"}
	for _, v := range []string{string(n.Event), string(n.Status), n.Number.CountryCode, n.Number.Type} {
		if v = md(v, maxKeyword); v != "" && !slices.Contains(k, v) {
			k = append(k, v)
		}
	}
	return k
}

// threadID groups a number's notifications in one chat thread: its phone number ID, or its
// E.164 number when the ID is missing (it should not be).
func threadID(num status.Number) string {
	if num.ID != "" {
		return num.ID
	}
	return num.E164
}

// additionalContext carries the identifiers for custom actions (e.g. a button that runs the
// describe command), as plain values: they are not rendered as markdown.
func additionalContext(n status.Notification) map[string]string {
	c := map[string]string{}
	account, region := accountRegion(n.Number)
	for k, v := range map[string]string{
		"notificationId": n.ID,
		"account":        account,
		"region":         region,
		"phoneNumberId":  n.Number.ID,
		"phoneNumber":    n.Number.E164,
		"phoneNumberArn": n.Number.ARN,
		"status":         string(n.Status),
	} {
		if v != "" {
			c[k] = v
		}
	}
	if !n.RetryDeadline.IsZero() {
		c["retryDeadline"] = rfc3339(n.RetryDeadline)
	}
	return c
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Slack's mrkdwn, which Amazon Q Developer's client-markdown renders in (its custom
// notification guide: "rendered using the chat platform's markdown"), has no escape character:
// a backslash shows as a backslash. What it formats, and so what md defuses in a value:
//   - & < > must be written &amp; &lt; &gt; (Slack's own escaping rule); this also defuses
//     <!channel>, <@user> and <url|text>;
//   - *bold*, _italic_ and ~strike~ need their marker at a word's edge (after a space or
//     punctuation, or before one): a marker inside a word (TOLL_FREE, IN_PROGRESS, a*b) is plain
//     text and is kept as it is; a marker at a word's edge becomes its lookalike (∗ ˍ ∼), which
//     nothing formats; a backtick (`code`) always becomes ˋ, wherever it stands;
//   - nothing else ([text](url), |, #, \) is syntax in mrkdwn, and is kept as written.
// Labels and titles are phonewatch's own markdown (*Retry deadline:*), never a value's.

// mdLookalike is what a formatting marker at a word's edge becomes.
var mdLookalike = map[rune]string{'*': "∗", '_': "ˍ", '~': "∼", '`': "ˋ"}

// md returns s as mrkdwn that shows s as written and formats nothing (see above), control
// characters and invalid UTF-8 escaped visibly (as visible does). The result is at most budget
// characters: when s does not fit, it is cut between characters (never inside an entity) and
// ends with "…".
func md(s string, budget int) string {
	var b strings.Builder
	used := 0
	prev := ' ' // the string's start is a word's edge
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		next, _ := utf8.DecodeRuneInString(s[i+size:])
		if i+size >= len(s) {
			next = ' ' // and so is its end
		}
		var piece string
		switch {
		case r == utf8.RuneError && size == 1:
			piece = fmt.Sprintf(`\x%02X`, s[i])
		case r == '&':
			piece = "&amp;"
		case r == '<':
			piece = "&lt;"
		case r == '>':
			piece = "&gt;"
		case r == '`' || (mdLookalike[r] != "" && (!wordRune(prev) || !wordRune(next))):
			piece = mdLookalike[r]
		case r != ' ' && !unicode.IsPrint(r):
			var e strings.Builder
			writeRuneEscape(&e, r)
			piece = e.String()
		default:
			piece = string(r)
		}
		i += size
		prev = r
		n := utf8.RuneCountInString(piece)
		// Keep one character for the ellipsis unless this piece ends s.
		if used+n > budget || (i < len(s) && used+n > budget-1) {
			b.WriteString("…")
			break
		}
		b.WriteString(piece)
		used += n
	}
	return b.String()
}

// wordRune reports whether r is inside a word for mrkdwn: a letter or a digit.
func wordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// code shows s as an inline code span when it can be one safely (no backtick, no character that
// Slack treats specially even in code, nothing non-printable), and escaped as md otherwise.
func code(s string, budget int) string {
	if s == "" {
		return "(none)"
	}
	safe := utf8.RuneCountInString(s)+2 <= budget && !strings.ContainsAny(s, "`<>&")
	for _, r := range s {
		if r == utf8.RuneError || (r != ' ' && !unicode.IsPrint(r)) {
			safe = false
		}
	}
	if safe {
		return "`" + s + "`"
	}
	return md(s, budget)
}
