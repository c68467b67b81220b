package notify

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/phonewatch/phonewatch/internal/status"
)

// Text is the plain-text message for people (the SNS `default` and `email` keys), in UTC.
func Text(n status.Notification) string { return Renderer{}.Text(n) }

// Text is the plain-text message for people: what happened to which number, then what a person
// woken at 3 a.m. needs first (the deadline, the time left, what to do), then the details
// (Connect's own words, the IDs, the operation behind the failure) and how far the deadline can
// be trusted. Every value from Connect or CloudTrail goes through visible, so the text is one
// message however hostile its input. Time left is measured from the check (ObservedAt), which
// keeps rendering pure and the wording true whenever it is read.
func (r Renderer) Text(n status.Notification) string {
	switch n.Event {
	case status.EventTest:
		return r.testText(n)
	case status.EventBudget:
		return r.budgetText(n)
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	num := visible(displayNumber(n.Number))
	if num == "" {
		num = "(unknown number)"
	}

	w("%s\n\n", wrap(r.headline(n, num), 94))
	if r.deadlineLines(&b, n) {
		b.WriteString("\n")
	}

	w("What to do next:\n")
	for i, step := range r.nextSteps(n) {
		w("%s\n", indentStep(i+1, step.say))
		if step.cmd != "" {
			w("       %s\n", step.cmd)
		}
	}

	w("\nDetails:\n")
	r.details(&b, n)
	if about := r.aboutDeadline(n); about != "" {
		w("\nAbout the deadline:\n%s\n", wrap(about, 94))
	}

	if r.Printed {
		w("\n-- \nPrinted by phonewatch check, a local run: not sent to anyone.\n")
	} else {
		w("\n-- \nSent by phonewatch, which polls the claim status of Amazon Connect phone numbers.\n")
	}
	if hasTimeLeft(n) {
		w("Time left is counted from the check at %s, not from when you read this.\n", r.at(n.ObservedAt))
	}
	if n.ID != "" {
		w("Notification ID: %s (the same on a repeat of this message)\n", visible(n.ID))
	}
	return b.String()
}

// deadlineLines writes what matters first about the deadline, per event; it reports whether
// it wrote anything.
func (r Renderer) deadlineLines(b *strings.Builder, n status.Notification) bool {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	switch {
	case n.Event == status.EventDeadline:
		r.deadlineMovedLines(b, n)
	case gone(n):
		if !n.LastFailedAt.IsZero() {
			w("Last seen FAILED:  %s\n", r.at(n.LastFailedAt))
		}
		if n.Release != nil {
			w("Released:          %s by %s\n", r.at(n.Release.At), visible(callerLong(n.Release.By)))
		}
		w("Retry deadline was %s\n", r.atNote(n.RetryDeadline, "basis "+visible(string(n.Basis))))
	case n.Event == status.EventFailed || n.Event == status.EventReminder || n.Event == status.EventExpired:
		left := timeLeft(n.TimeLeft())
		if n.Basis == status.BasisFirstObservation && n.TimeLeft() > 0 {
			left = "at most " + left
		}
		// One deadline only up here: the latest possible release is explained under About the
		// deadline, where it cannot be read as a second deadline to work to.
		w("Retry deadline:    %s\n", r.atNote(n.RetryDeadline, left+" at the check"))
		if !n.PreviousDeadline.IsZero() {
			w("Previous deadline: %s\n", r.atNote(n.PreviousDeadline, "replaced: the new "+r.restartCall(n)+" restarted it"))
		}
		w("Deadline basis:    %s (see About the deadline)\n", visible(string(n.Basis)))
		if n.Event == status.EventReminder {
			w("Reminder:          the one due %s before the deadline (REMINDERS)\n", status.FormatOffset(n.Reminder))
		}
	case n.Event == status.EventRecovered:
		w("Retry deadline:    %s\n", r.atNote(n.RetryDeadline, "no longer matters"))
	case n.Event == status.EventStuck:
		if op := stuckOperation(n); op != nil {
			w("IN_PROGRESS since: %s\n", r.atNote(op.At, visible(op.Name)+" by "+visible(callerShort(op.By))+", from CloudTrail"))
			w("First seen:        %s\n", r.atNote(n.InProgressSince, "the first check that saw it IN_PROGRESS"))
		} else {
			w("IN_PROGRESS since: %s\n", r.atNote(n.InProgressSince,
				"the first check that saw it IN_PROGRESS; it may have started earlier: CloudTrail showed no call"))
		}
		w("Age:               %s at the check\n", human(stuckAge(n)))
	default:
		return false
	}
	return true
}

// details is the metadata block: the number, where it belongs, Connect's words, the operation.
func (r Renderer) details(b *strings.Builder, n status.Notification) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	account, region := accountRegion(n.Number)
	w("Phone number:      %s\n", orNone(visible(numberBeside(n.Number))))
	w("Description:       %s\n", orNone(visible(n.Number.Description)))
	w("Phone number ID:   %s\n", orNone(visible(n.Number.ID)))
	w("Phone number ARN:  %s\n", orNone(visible(n.Number.ARN)))
	w("Target:            %s\n", orNone(visible(n.Number.TargetARN)))
	w("Instance ID:       %s\n", orNone(visible(n.Number.InstanceID)))
	w("Account, Region:   %s, %s\n", orNone(visible(account)), orNone(visible(region)))
	w("Country and type:  %s %s\n", orNone(visible(n.Number.CountryCode)), orNone(visible(n.Number.Type)))
	w("Status:            %s%s\n", visible(string(n.Status)), statusNote(n.Status))
	w("Connect's message: %s\n", orNone(visible(n.StatusMessage)))
	w("Checked at:        %s\n", r.at(n.ObservedAt))
	if episodeEvent(n.Event) {
		w("FAILED since:      %s\n", r.atNote(n.FailedSince, "the first check that saw it FAILED"))
		if !n.FailedAfter.IsZero() {
			w("Not FAILED at:     %s\n", r.atNote(n.FailedAfter, "the last check before that"))
		}
		if s := retriesWords(n); s != "" {
			w("Failed retries:    %d\n", n.Retries)
		}
	}
	if op := n.Operation; op != nil {
		// Not "the failed call": a change made in the admin website after it leaves no trace.
		label := "CloudTrail shows:"
		if n.Event == status.EventStuck {
			label = "Operation:       "
		}
		w("%s  %s at %s\n", label, visible(op.Name), r.atNote(op.At, "CloudTrail event "+orNone(visible(op.EventID))))
		w("  run by:          %s\n", visible(callerLong(op.By)))
		w("  to target:       %s\n", orNone(visible(op.TargetARN)))
	}
}

// stuckOperation is the call that put a STUCK number IN_PROGRESS, when CloudTrail showed one
// no later than the first check that saw it so; nil otherwise.
func stuckOperation(n status.Notification) *status.Operation {
	if op := n.Operation; n.Event == status.EventStuck && op != nil && !op.At.After(n.InProgressSince) {
		return op
	}
	return nil
}

// stuckAge is how long a STUCK number has been IN_PROGRESS at the check: from the call that
// started it when known, else from the first check that saw it.
func stuckAge(n status.Notification) time.Duration {
	if op := stuckOperation(n); op != nil {
		return n.ObservedAt.Sub(op.At)
	}
	return n.ObservedAt.Sub(n.InProgressSince)
}

// cond is s when ok, else "".
func cond(ok bool, s string) string {
	if ok {
		return s
	}
	return ""
}

// gone reports whether n is the EXPIRED of a number Connect no longer knows.
func gone(n status.Notification) bool {
	return n.Event == status.EventExpired && n.Status == status.NotFound
}

// hasTimeLeft reports whether n states a time left to retry.
func hasTimeLeft(n status.Notification) bool {
	switch n.Event {
	case status.EventFailed, status.EventReminder, status.EventDeadline:
		return true
	case status.EventExpired:
		return !gone(n)
	}
	return false
}

// episodeEvent reports whether ev is about a FAILED episode.
func episodeEvent(ev status.Event) bool {
	switch ev {
	case status.EventFailed, status.EventReminder, status.EventExpired, status.EventRecovered, status.EventDeadline:
		return true
	}
	return false
}

// headline is the first sentence of the text: the event in words.
func (r Renderer) headline(n status.Notification, num string) string {
	deadline := r.at(n.RetryDeadline)
	op := operationWord(n)
	switch n.Event {
	case status.EventFailed:
		return strings.Join(strings.Fields(r.failedHeadline(n, num, op, deadline)+" "+retriesWords(n)+" "+r.restarted(n)), " ")
	case status.EventReminder:
		if n.TimeLeft() <= 0 {
			return fmt.Sprintf("Reminder: Amazon Connect phone number %s is still FAILED, and its retry "+
				"deadline (%s) is behind. Retry now.", num, deadline)
		}
		if n.Basis == status.BasisFirstObservation {
			return fmt.Sprintf("Reminder: Amazon Connect phone number %s is still FAILED. At most %s left to "+
				"retry (by %s; it may be earlier).", num, human(n.TimeLeft()), deadline)
		}
		return fmt.Sprintf("Reminder: Amazon Connect phone number %s is still FAILED. %s left to retry "+
			"(before %s).", num, human(n.TimeLeft()), deadline)
	case status.EventExpired:
		return r.expiredHeadline(n, num, op)
	case status.EventDeadline:
		return r.deadlineHeadline(n, num)
	case status.EventRecovered:
		return fmt.Sprintf("Amazon Connect phone number %s is CLAIMED again after its %s FAILED. "+
			"Nothing to do.", num, op)
	case status.EventStuck:
		return fmt.Sprintf("Amazon Connect phone number %s has been IN_PROGRESS for %s%s.",
			num, cond(stuckOperation(n) == nil, "at least "), human(stuckAge(n)))
	default:
		return fmt.Sprintf("Amazon Connect phone number %s: %s (%s).", num,
			visible(string(n.Event)), visible(string(n.Status)))
	}
}

func (r Renderer) failedHeadline(n status.Notification, num, op, deadline string) string {
	switch {
	case n.TimeLeft() <= 0:
		return fmt.Sprintf("The %s of Amazon Connect phone number %s FAILED, and its retry deadline "+
			"(%s) is already behind: Connect may release the number at any moment. Retry now.", op, num, deadline)
	case n.Basis == status.BasisFirstObservation:
		return fmt.Sprintf("The %s of Amazon Connect phone number %s FAILED. Retry it by %s at the latest "+
			"(the real deadline may be earlier), or Connect may release the number back to inventory.",
			op, num, deadline)
	default:
		return fmt.Sprintf("The %s of Amazon Connect phone number %s FAILED. Retry it before %s, "+
			"or Connect may release the number back to inventory.", op, num, deadline)
	}
}

func (r Renderer) expiredHeadline(n status.Notification, num, op string) string {
	if n.Status != status.NotFound {
		// Connect answered FAILED: not released yet, whatever the deadline says.
		return fmt.Sprintf("The retry deadline of Amazon Connect phone number %s (%s) has passed, and Connect "+
			"still shows the %s FAILED: the number is not released yet, but may be at any moment. If you still "+
			"need it, retry now.", num, r.at(n.RetryDeadline), op)
	}
	if n.Release != nil {
		return fmt.Sprintf("Amazon Connect phone number %s is gone: it was released by %s at %s "+
			"after its %s FAILED.",
			num, visible(callerShort(n.Release.By)), r.atNote(n.Release.At, "ReleasePhoneNumber, seen in CloudTrail"), op)
	}
	return fmt.Sprintf("Amazon Connect phone number %s is gone: after its %s FAILED, Connect no "+
		"longer knows it (ResourceNotFoundException). It was presumably released back to inventory.", num, op)
}

// statusNote explains the status that is not Connect's own.
func statusNote(s status.Status) string {
	if s == status.NotFound {
		return " (DescribePhoneNumber answered ResourceNotFoundException: the number is not in the account)"
	}
	return ""
}

// aboutDeadline says honestly how far the deadline can be trusted (see status.Basis), and what
// is known of the window for the kind of failure.
func (r Renderer) aboutDeadline(n status.Notification) string {
	if !episodeEvent(n.Event) || n.Event == status.EventRecovered || gone(n) {
		return "" // nothing left to retry before: how far to trust the deadline no longer matters
	}
	s := r.basisExplained(n)
	switch n.Failure {
	case status.FailureUpdate:
		s += " Connect documents the one-day release for a failed claim; for a failed update it documents " +
			"none. phonewatch assumes the same window, the safe assumption"
		if n.TimeLeft() > 0 {
			s += ": retry before this deadline"
		}
		s += "."
	case status.FailureClaim:
	default:
		s += " A number seen CLAIMED before it failed had an update fail; Connect documents the one-day " +
			"release for a failed claim, and phonewatch assumes the same window for either."
	}
	return s
}

// basisExplained words the deadline's basis.
func (r Renderer) basisExplained(n status.Notification) string {
	failed := r.at(n.FailedSince)
	latest := "."
	if !n.LatestRelease.IsZero() {
		latest = ": " + r.at(n.LatestRelease) + ". Do not count on that later time: retry before the deadline."
	}
	switch n.Basis {
	case status.BasisTransition:
		if n.FailedAfter.IsZero() {
			return fmt.Sprintf("Connect reports no failure time. phonewatch saw this number not FAILED at an "+
				"earlier check and FAILED at %s, so the failure came in between. The deadline is that earlier "+
				"check plus the retry window: the earliest Connect may release it. The latest it may release it "+
				"is first FAILED sight plus the window%s", failed, latest)
		}
		gap := n.FailedSince.Sub(n.FailedAfter)
		return fmt.Sprintf("Connect reports no failure time. phonewatch saw this number not FAILED at %s and "+
			"FAILED at %s: the failure came in these %s. The deadline is the earlier check plus the retry "+
			"window, the earliest Connect may release it; the real deadline is at most %s later%s",
			r.at(n.FailedAfter), failed, human(gap), human(gap), latest)
	case status.BasisOperation:
		what, when, by := "a call before the failure", "(unknown time)", "an unknown caller"
		if op := n.Operation; op != nil {
			what, when, by = visible(op.Name), r.at(op.At), visible(callerShort(op.By))
		}
		return fmt.Sprintf("CloudTrail shows %s at %s, run by %s; the failure came after it, so the deadline "+
			"is that call plus the retry window, never later than the real one. (A change made in the Connect "+
			"admin website is not in CloudTrail: if one came after this call, that change is what failed.) "+
			"The latest Connect may release the number is first FAILED sight plus the window%s", what, when, by, latest)
	case status.BasisFirstObservation:
		return fmt.Sprintf("Connect reports no failure time. phonewatch first saw it FAILED at %s; it may "+
			"have failed earlier, so the real deadline may be EARLIER than this upper bound (first "+
			"sight plus the retry window). Do not wait for it.", failed)
	default:
		return fmt.Sprintf("The deadline basis %q is unknown to this version of phonewatch; treat the "+
			"deadline as approximate.", visible(string(n.Basis)))
	}
}

// step is one thing to do: what, and the command that does it, if there is one.
type step struct{ say, cmd string }

// commands are the AWS CLI commands for one number, its arguments made shell-safe.
type commands struct{ update, claim, describe, search string }

func newCommands(n status.Notification) commands {
	id := shellArg(phoneRef(n.Number), "<phone-number-id>")
	targetARN := n.Number.TargetARN
	if n.Operation != nil && n.Operation.TargetARN != "" {
		targetARN = n.Operation.TargetARN // where the call CloudTrail shows was taking it
	}
	target := shellArg(targetARN, "<instance-or-traffic-distribution-group-arn>")
	number := shellArg(n.Number.E164, "<+E.164-number>")
	description := ""
	if n.Number.Description != "" {
		description = " --phone-number-description " + shellArg(n.Number.Description, "")
	}
	region := ""
	if r := arnRegion(n.Number.ARN); r != "" {
		region = " --region " + shellArg(r, "")
	}
	return commands{
		update:   "aws connect update-phone-number --phone-number-id " + id + " --target-arn " + target + region,
		claim:    "aws connect claim-phone-number --target-arn " + target + " --phone-number " + number + description + region,
		describe: "aws connect describe-phone-number --phone-number-id " + id + region,
		search: "aws connect search-available-phone-numbers --target-arn " + target +
			" --phone-number-country-code " + shellArg(n.Number.CountryCode, "<country-code>") +
			" --phone-number-type " + shellArg(n.Number.Type, "<number-type>") +
			" --phone-number-prefix " + number + region,
	}
}

// retrySteps are the retry of what failed: the update, the claim, or both when unknown; "now"
// once the deadline has passed (the number may not be released yet), else before it.
func retrySteps(n status.Notification, c commands) []step {
	const withCLI = "with the AWS CLI, using credentials for the number's account"
	when := "before the deadline"
	if n.TimeLeft() <= 0 {
		when = "now" // the deadline is behind: "before the deadline" would be no advice
	}
	claim := c.claim
	keep := " The command keeps the number's description; phonewatch does not know its tags: add --tags if it had any."
	if n.Number.Description == "" {
		keep = " phonewatch does not know the number's tags: add --tags if it had any."
	}
	switch n.Failure {
	case status.FailureUpdate:
		return []step{{"Retry the update " + when + ", in the Amazon Connect admin website (Channels > " +
			"Phone numbers) or " + withCLI + ":", c.update}}
	case status.FailureClaim:
		return []step{{"Retry the claim " + when + " " + withCLI + "." + keep, claim}}
	default:
		return []step{
			{"Retry " + when + " " + withCLI + ". If the number was claimed before (an update failed):", c.update},
			{"If it was never claimed (a claim failed)." + keep, claim},
		}
	}
}

// nextSteps is what a person should do about n, with AWS CLI commands filled in from the number.
func (r Renderer) nextSteps(n status.Notification) []step {
	c := newCommands(n)
	why := "Find out why the " + operationWord(n) + " failed. Connect says: \"" + visible(n.StatusMessage) +
		"\" See also the number in the Amazon Connect admin website."
	if n.StatusMessage == "" {
		why = "Find out why the " + operationWord(n) + " failed (Connect gave no message): see the number " +
			"in the Amazon Connect admin website."
	}
	if op := n.Operation; op != nil {
		why += " CloudTrail shows " + visible(op.Name) + " by " + visible(callerShort(op.By)) + " at " +
			r.at(op.At) + ", before the failure."
	}
	switch n.Event {
	case status.EventFailed, status.EventReminder, status.EventDeadline:
		steps := []step{{why, ""}}
		steps = append(steps, retrySteps(n, c)...)
		return append(steps, step{"phonewatch keeps checking: it reminds you before the deadline, and tells " +
			"you when the number is claimed again or when the window is over.", ""})
	case status.EventExpired:
		if n.Status == status.NotFound {
			return goneSteps(n, c)
		}
		steps := []step{{"Check whether the number is still in the account:", c.describe}}
		retry := retrySteps(n, c)
		retry[0].say = "If Connect still answers FAILED, it has not released the number yet. " + retry[0].say
		steps = append(steps, retry...)
		return append(steps, step{"If it is gone, claim it again if it is still available (or another " +
			"number), then update whatever used it:", c.search})
	case status.EventRecovered:
		return []step{{"Nothing: the number is claimed again. This ends the FAILED episode that began at " +
			r.at(n.FailedSince) + ".", ""}}
	case status.EventStuck:
		return []step{
			{"A claim or update normally completes within minutes. Check the number in the Amazon " +
				"Connect admin website, or with:", c.describe},
			{"If it ends FAILED, phonewatch tells you with the retry deadline. If it stays IN_PROGRESS, " +
				"open a case with AWS Support quoting the phone number ID.", ""},
		}
	default:
		return []step{{"Check the number in the Amazon Connect admin website:", c.describe}}
	}
}

// goneSteps is what to do about a number that is gone: claim it again while it is available.
func goneSteps(n status.Notification, c commands) []step {
	var steps []step
	if n.Release == nil {
		steps = append(steps, step{"Confirm that the number is gone (ResourceNotFoundException means it is " +
			"no longer in the account):", c.describe})
	}
	return append(steps,
		step{"If you still need it, look for it among the available numbers now (released numbers can be " +
			"claimed by anyone):", c.search},
		step{"If it is listed, claim it again:", c.claim},
		step{"Otherwise claim another number, and update whatever used the old one (contact flows, " +
			"routing, published numbers).", ""},
	)
}

// phoneRef is how a command names the number: its ID, or its ARN for a number of a traffic
// distribution group (from the group's other Region Connect finds it only by ARN) or when the ID
// is missing.
func phoneRef(num status.Number) string {
	if num.ARN != "" && (num.ID == "" || strings.Contains(num.TargetARN, ":traffic-distribution-group/")) {
		return num.ARN
	}
	return num.ID
}

// arnRegion is the Region field of an ARN (arn:partition:service:region:account:resource), or ""
// when s is not one.
func arnRegion(s string) string {
	f := strings.SplitN(s, ":", 6)
	if len(f) != 6 || f[0] != "arn" {
		return ""
	}
	return f[3]
}

// shellSafe is what a shell passes through unquoted.
var shellSafe = regexp.MustCompile(`^[A-Za-z0-9@%+=:,./_-]+$`)

// shellArg makes s one copy-pasteable shell word: as is when safe, single-quoted otherwise, or
// placeholder when s is empty. Non-printable characters are shown escaped (see visible).
func shellArg(s, placeholder string) string {
	if s == "" {
		return placeholder
	}
	s = visible(s)
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// indentStep numbers a step and wraps it under its number.
func indentStep(i int, s string) string {
	lines := strings.Split(wrap(s, 88), "\n")
	for j := range lines {
		if j == 0 {
			lines[j] = fmt.Sprintf("  %d. %s", i, lines[j])
		} else {
			lines[j] = "     " + lines[j]
		}
	}
	return strings.Join(lines, "\n")
}

// wrap breaks s between words so that lines stay near width characters (a word longer than
// width gets a line of its own). s holds no line breaks of its own: its values went through
// visible.
func wrap(s string, width int) string {
	var b strings.Builder
	line := 0
	for _, word := range strings.Fields(s) {
		n := len([]rune(word))
		if line > 0 && line+1+n > width {
			b.WriteByte('\n')
			line = 0
		} else if line > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(word)
		line += n
	}
	return b.String()
}
