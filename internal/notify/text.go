package notify

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/phonewatch/phonewatch/internal/status"
)

// Text is the plain-text message for people (the SNS `default` and `email` keys): what happened
// to which number, Connect's own words, the retry deadline with the time left and how far it can
// be trusted, and what to do next. Every value from Connect goes through visible, so the text is
// one message however hostile its input. Time left is measured from the check (ObservedAt), which
// keeps rendering pure and the wording true whenever it is read.
func Text(n status.Notification) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	num := visible(displayNumber(n.Number))
	if num == "" {
		num = "(unknown number)"
	}

	w("%s\n\n", headline(n, num))

	w("Phone number:      %s\n", orNone(visible(n.Number.E164)))
	w("Description:       %s\n", orNone(visible(n.Number.Description)))
	w("Phone number ID:   %s\n", orNone(visible(n.Number.ID)))
	w("Phone number ARN:  %s\n", orNone(visible(n.Number.ARN)))
	w("Target:            %s\n", orNone(visible(n.Number.TargetARN)))
	w("Instance ID:       %s\n", orNone(visible(n.Number.InstanceID)))
	w("Country and type:  %s %s\n", orNone(visible(n.Number.CountryCode)), orNone(visible(n.Number.Type)))
	w("Status:            %s%s\n", visible(string(n.Status)), statusNote(n.Status))
	w("Connect's message: %s\n", orNone(visible(n.StatusMessage)))
	w("Checked at:        %s\n", n.ObservedAt.UTC().Format(textTime))

	switch n.Event {
	case status.EventFailed, status.EventReminder, status.EventExpired:
		b.WriteString("\n")
		if n.Event == status.EventReminder {
			w("Reminder:          the one due %s before the deadline (see REMINDERS)\n", human(n.Reminder))
		}
		w("Retry deadline:    %s (%s at the check)\n", n.RetryDeadline.UTC().Format(textTime), timeLeft(n.TimeLeft()))
		w("FAILED since:      %s (the first check that saw it FAILED)\n", n.FailedSince.UTC().Format(textTime))
		w("Deadline basis:    %s\n", visible(string(n.Basis)))
		w("\n%s\n", wrap(basisExplained(n), 94))
	case status.EventRecovered:
		b.WriteString("\n")
		w("FAILED since:      %s\n", n.FailedSince.UTC().Format(textTime))
		w("Retry deadline:    %s (no longer matters)\n", n.RetryDeadline.UTC().Format(textTime))
	case status.EventStuck:
		b.WriteString("\n")
		w("IN_PROGRESS since: %s (the first check that saw it IN_PROGRESS; it may have started earlier)\n",
			n.InProgressSince.UTC().Format(textTime))
		w("Age:               %s at the check\n", human(n.ObservedAt.Sub(n.InProgressSince)))
	}

	w("\nWhat to do next:\n")
	for i, step := range nextSteps(n) {
		w("%s\n", indentStep(i+1, step.say))
		if step.cmd != "" {
			w("       %s\n", step.cmd)
		}
	}

	w("\n-- \nSent by phonewatch, which polls the claim status of Amazon Connect phone numbers.\n")
	w("Times are UTC. Time left is counted from the check at %s, not from when you read this.\n",
		n.ObservedAt.UTC().Format(textTime))
	return b.String()
}

// headline is the first sentence of the text: the event in words.
func headline(n status.Notification, num string) string {
	deadline := n.RetryDeadline.UTC().Format(textTime)
	switch n.Event {
	case status.EventFailed:
		if n.TimeLeft() <= 0 {
			return fmt.Sprintf("The claim of Amazon Connect phone number %s FAILED, and its retry deadline "+
				"(%s) is already behind: Connect may release the number at any moment. Retry now.", num, deadline)
		}
		return fmt.Sprintf("The claim of Amazon Connect phone number %s FAILED. Retry it before %s, "+
			"or Connect may release the number back to inventory.", num, deadline)
	case status.EventReminder:
		if n.TimeLeft() <= 0 {
			return fmt.Sprintf("Reminder: Amazon Connect phone number %s is still FAILED, and its retry "+
				"deadline (%s) is behind. Retry now.", num, deadline)
		}
		return fmt.Sprintf("Reminder: Amazon Connect phone number %s is still FAILED. %s left to retry "+
			"(before %s).", num, human(n.TimeLeft()), deadline)
	case status.EventExpired:
		if n.Status == status.NotFound {
			return fmt.Sprintf("Amazon Connect phone number %s is gone: after its claim FAILED, Connect no "+
				"longer knows it (ResourceNotFoundException). It was presumably released back to inventory.", num)
		}
		return fmt.Sprintf("The retry window of Amazon Connect phone number %s is over: it was still FAILED "+
			"at the deadline, and Connect has presumably released it or may do so at any moment.", num)
	case status.EventRecovered:
		return fmt.Sprintf("Amazon Connect phone number %s is CLAIMED again after its claim FAILED. "+
			"Nothing to do.", num)
	case status.EventStuck:
		return fmt.Sprintf("Amazon Connect phone number %s has been IN_PROGRESS for %s.",
			num, human(n.ObservedAt.Sub(n.InProgressSince)))
	default:
		return fmt.Sprintf("Amazon Connect phone number %s: %s (%s).", num,
			visible(string(n.Event)), visible(string(n.Status)))
	}
}

// statusNote explains the status that is not Connect's own.
func statusNote(s status.Status) string {
	if s == status.NotFound {
		return " (DescribePhoneNumber answered ResourceNotFoundException: the number is not in the account)"
	}
	return ""
}

// basisExplained says honestly how far the deadline can be trusted (see status.Basis).
func basisExplained(n status.Notification) string {
	failed := n.FailedSince.UTC().Format(textTime)
	switch n.Basis {
	case status.BasisTransition:
		after := "an earlier check"
		if !n.FailedAfter.IsZero() {
			after = n.FailedAfter.UTC().Format(textTime)
		}
		return fmt.Sprintf("Connect reports no failure time. phonewatch saw this number not FAILED at %s "+
			"and FAILED at %s, so the claim failed in between. The deadline is that earlier check plus "+
			"the retry window: the earliest Connect may release it. The real one is never "+
			"earlier, and later by at most one check interval.", after, failed)
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

// nextSteps is what a person should do about n, with AWS CLI commands filled in from the number.
func nextSteps(n status.Notification) []step {
	id := shellArg(phoneRef(n.Number), "<phone-number-id>")
	target := shellArg(n.Number.TargetARN, "<instance-or-traffic-distribution-group-arn>")
	region := ""
	if r := arnRegion(n.Number.ARN); r != "" {
		region = " --region " + shellArg(r, "")
	}
	retry := step{
		"Retry the claim before the deadline, in the Amazon Connect admin website (Channels > Phone " +
			"numbers) or with the AWS CLI, using credentials for the number's account:",
		"aws connect update-phone-number --phone-number-id " + id + " --target-arn " + target + region,
	}
	describe := "aws connect describe-phone-number --phone-number-id " + id + region
	search := step{
		"If it is gone, look for it (or another number) among the available ones, claim one with " +
			"aws connect claim-phone-number, then update whatever used the old number:",
		"aws connect search-available-phone-numbers --target-arn " + target +
			" --phone-number-country-code " + shellArg(n.Number.CountryCode, "<country-code>") +
			" --phone-number-type " + shellArg(n.Number.Type, "<number-type>") +
			" --phone-number-prefix " + shellArg(n.Number.E164, "<+prefix>") + region,
	}
	switch n.Event {
	case status.EventFailed, status.EventReminder:
		return []step{
			{"Find out why the claim failed: Connect's message above, and the number in the Amazon " +
				"Connect admin website.", ""},
			retry,
			{"phonewatch keeps checking: it reminds you before the deadline, and tells you when the " +
				"number is claimed again or when the window is over.", ""},
		}
	case status.EventExpired:
		if n.Status == status.NotFound {
			return []step{
				{"Confirm that the number is gone (ResourceNotFoundException means it is no longer in " +
					"the account):", describe},
				search,
			}
		}
		return []step{
			{"Check whether the number is still in the account:", describe},
			{"If Connect still answers FAILED, it has not released the number yet: retry the claim at once:",
				retry.cmd},
			search,
		}
	case status.EventRecovered:
		return []step{{"Nothing: the number is claimed again. This ends the FAILED episode that began at " +
			n.FailedSince.UTC().Format(textTime) + ".", ""}}
	case status.EventStuck:
		return []step{
			{"A claim or update normally completes within minutes. Check the number in the Amazon " +
				"Connect admin website, or with:", describe},
			{"If it ends FAILED, phonewatch tells you with the retry deadline. If it stays IN_PROGRESS, " +
				"open a case with AWS Support quoting the phone number ID.", ""},
		}
	default:
		return []step{{"Check the number in the Amazon Connect admin website:", describe}}
	}
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
