package notify

import (
	"fmt"
	"strings"

	"github.com/phonewatch/phonewatch/internal/status"
)

// The DEADLINE notification: the deadline of an announced, open FAILED episode moved earlier
// than the one people were told (CloudTrail delivered the failing call late, or RETRY_WINDOW
// was shortened). It says the new deadline first, then the one it replaces and why; the rest
// (what to do, the details, how far to trust the deadline) is FAILED's.

// deadlineSubjectRest is the subject after the number: the new deadline and the old one.
func deadlineSubjectRest(n status.Notification) string {
	s := "earlier deadline: retry before " + n.RetryDeadline.UTC().Format(subjectTime)
	if n.TimeLeft() <= 0 {
		s = "earlier deadline: " + n.RetryDeadline.UTC().Format(subjectTime) + " may be past"
	}
	if !n.PreviousDeadline.IsZero() {
		s += ", not " + n.PreviousDeadline.UTC().Format("Jan 2 15:04")
	}
	return s
}

// deadlineHeadline is the first sentence of the text.
func (r Renderer) deadlineHeadline(n status.Notification, num string) string {
	prev := "the one announced"
	if !n.PreviousDeadline.IsZero() {
		prev = r.at(n.PreviousDeadline)
	}
	if n.TimeLeft() <= 0 {
		return fmt.Sprintf("The retry deadline of Amazon Connect phone number %s is earlier than phonewatch told you: "+
			"%s, not %s, and it is already behind. Connect may release the number at any moment. Retry now.",
			num, r.at(n.RetryDeadline), prev)
	}
	return fmt.Sprintf("The retry deadline of Amazon Connect phone number %s is earlier than phonewatch told you: "+
		"retry before %s, not %s.", num, r.atNote(n.RetryDeadline, human(n.TimeLeft())+" left at the check"), prev)
}

// deadlineReason words why the deadline moved, "" when the notification does not say.
func (r Renderer) deadlineReason(n status.Notification) string {
	switch n.Reason {
	case status.ReasonOperation:
		call := "the " + operationWord(n) + " call that failed"
		if op := n.Operation; op != nil {
			call = visible(op.Name) + " by " + visible(callerShort(op.By)) + " at " + r.at(op.At)
		}
		return "CloudTrail now shows " + call + "; its event came late. The failure came after that call, so " +
			"the deadline is the call plus the retry window, earlier than the bound announced before."
	case status.ReasonRetryWindow:
		return "RETRY_WINDOW is shorter than when the deadline was announced; the deadline is bounded with the " +
			"new window."
	case "":
		return ""
	default:
		return "Reason: " + visible(string(n.Reason)) + "."
	}
}

// deadlineMovedLines writes the deadline block of the text: one deadline to work to (the latest
// release is explained under About the deadline, where it reads as no second deadline).
func (r Renderer) deadlineMovedLines(b *strings.Builder, n status.Notification) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("Retry deadline:    %s\n", r.atNote(n.RetryDeadline, timeLeft(n.TimeLeft())+" at the check"))
	if !n.PreviousDeadline.IsZero() {
		w("Previous deadline: %s\n", r.atNote(n.PreviousDeadline, "announced before: no longer valid"))
	}
	if why := r.deadlineReason(n); why != "" {
		w("Why it moved:      %s\n", strings.ReplaceAll(wrap(why, 74), "\n", "\n                   "))
	}
	w("Deadline basis:    %s (see About the deadline)\n", visible(string(n.Basis)))
}

// chatbotDeadlineMoved adds the deadline lines of a DEADLINE for chat.
func (r Renderer) chatbotDeadlineMoved(add func(label, value string), n status.Notification) {
	add("Retry deadline", r.atNote(n.RetryDeadline, "*"+timeLeft(n.TimeLeft())+"* at the check"))
	if !n.PreviousDeadline.IsZero() {
		add("Previous deadline", "~"+r.at(n.PreviousDeadline)+"~ (announced before: no longer valid)")
	}
	if why := r.deadlineReason(n); why != "" {
		add("Why it moved", md(why, 1200))
	}
	add("Deadline basis", md(string(n.Basis), 60)+" — "+r.basisShort(n))
}
