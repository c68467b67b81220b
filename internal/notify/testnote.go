package notify

import (
	"fmt"
	"strings"

	"github.com/phonewatch/phonewatch/internal/status"
)

// The TEST notification (`phonewatch test`): it says what it proves, the delivery path from the
// topic to this subscriber, and that nothing is wrong with any number.

// testFrom is where a test notification comes from: "<account> <region>" of its topic.
func testFrom(n status.Notification) string {
	account, region := accountRegion(n.Number)
	return strings.TrimSpace(account + " " + region)
}

func testSubject(n status.Notification) string {
	s := subjectASCII("[TEST] phonewatch test notification from " + testFrom(n))
	if len(s) > MaxSubjectLen {
		s = s[:MaxSubjectLen]
	}
	return strings.TrimSpace(s)
}

func (r Renderer) testText(n status.Notification) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	account, region := accountRegion(n.Number)
	w("%s\n\n", wrap("This is a test notification from phonewatch. Nothing is wrong with any phone number, "+
		"and there is nothing to do.", 94))
	w("%s\n\n", wrap("It proves that this subscription receives what phonewatch publishes: a FAILED, REMINDER "+
		"or EXPIRED notification about an Amazon Connect phone number would arrive here the same way. "+
		"If someone who should receive them did not get this one, check their subscription (and its "+
		"filter policy) on the topic below.", 94))
	w("Topic:             %s\n", orNone(visible(n.Number.TargetARN)))
	w("Account, Region:   %s, %s\n", orNone(visible(account)), orNone(visible(region)))
	w("Sent at:           %s\n", r.at(n.ObservedAt))
	w("Notification ID:   %s\n", orNone(visible(n.ID)))
	w("\n-- \nSent by `phonewatch test`.\n")
	return b.String()
}

func (r Renderer) testDescription(n status.Notification) string {
	account, region := accountRegion(n.Number)
	return strings.Join([]string{
		"This is a test notification from phonewatch: nothing is wrong with any phone number, nothing to do.",
		"It proves that this channel receives what phonewatch publishes.",
		"*Topic:* " + code(n.Number.TargetARN, 600),
		"*Account:* " + md(account, 40) + " *Region:* " + md(region, 40),
		"*Sent at:* " + r.at(n.ObservedAt),
		"*Notification ID:* " + code(n.ID, 200),
	}, "\n")
}
