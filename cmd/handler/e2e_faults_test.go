package main

// End-to-end tests of faults seen from outside (issues 13 and 18): a faultproxy between the
// function and moto's SNS loses answers after SNS has accepted the request.

import (
	"strings"
	"testing"

	"github.com/phonewatch/phonewatch/internal/faultproxy"
	"github.com/phonewatch/phonewatch/internal/monitor"
)

// SNS takes each PublishBatch but the connection drops before its answer, in two runs in a
// row: each run's summary says the publish was not confirmed (and counts it), and each next run
// sends the FAILED again, until a run's publish is confirmed; then no run sends it. The
// subscriber gets it once per unanswered attempt plus the confirmed one, all with one
// notificationId. Before issue 18 a second unconfirmed attempt was marked sent whatever SNS
// answered, so a FAILED SNS never took was lost.
func TestE2EUnansweredPublishSentAgain(t *testing.T) {
	s := newStack(t)
	proxy := faultproxy.New(t, s.moto)
	proxy.Inject("PublishBatch", 2, faultproxy.Fault{AfterForward: true, Reset: true})
	s.snsEndpoint = proxy.URL
	fn := startFunction(t, buildBootstrap(t, "build"), s.env())

	for run := range 2 {
		sum := fn.mustInvoke(t, scheduled)
		if sum.NotificationsSent != 0 || sum.Unconfirmed != 1 ||
			!hasError(sum.Errors, sampleFailed, "unconfirmed", "the next run sends it again") {
			t.Errorf("run %d summary = %+v, want the FAILED reported unconfirmed, to be sent again", run+1, sum)
		}
	}
	if sum := fn.mustInvoke(t, scheduled); sum.NotificationsSent != 1 || sum.Unconfirmed != 0 {
		t.Errorf("third run summary = %+v, want the FAILED sent and confirmed", sum)
	}
	if sum := fn.mustInvoke(t, scheduled); sum.NotificationsSent != 0 || len(sum.Errors) != 0 {
		t.Errorf("later run summary = %+v, want nothing sent and no errors", sum)
	}
	if n := proxy.Calls("PublishBatch"); n != 3 {
		t.Errorf("%d PublishBatch requests, want 3 (one a run until confirmed, no SDK retry)", n)
	}

	got := s.drain(t)
	if len(got) != 3 || count(got, "FAILED", sampleFailed) != 3 {
		t.Fatalf("delivered %+v, want the FAILED three times (two unanswered attempts, then the confirmed one)", got)
	}
	id := got[0].Machine.NotificationID
	for _, d := range got {
		if id == "" || d.Attributes["notificationId"] != id || d.Machine.NotificationID != id {
			t.Errorf("notificationId: attribute %q, machine %q, want both %q", d.Attributes["notificationId"], d.Machine.NotificationID, id)
		}
	}
}

// hasError reports whether errs has an entry for id whose message contains every one of want.
func hasError(errs []monitor.NumberError, id string, want ...string) bool {
	for _, e := range errs {
		if e.PhoneNumberID != id {
			continue
		}
		all := true
		for _, w := range want {
			all = all && strings.Contains(e.Error, w)
		}
		if all {
			return true
		}
	}
	return false
}
