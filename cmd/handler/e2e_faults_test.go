package main

// End-to-end tests of faults seen from outside (issue 13): a faultproxy between the function and
// moto's SNS loses answers after SNS has accepted the request.

import (
	"strings"
	"testing"

	"github.com/phonewatch/phonewatch/internal/faultproxy"
	"github.com/phonewatch/phonewatch/internal/monitor"
)

// SNS accepts each PublishBatch but its answer is lost (a 500 after forwarding), three times
// in a row: the FAILED reaches the subscriber at most twice (the first send and its one
// repeat), both with the same notificationId, and each run's summary says the publish was not
// confirmed. Before issue 13 the SDK's retry doubled every entry and each run sent again.
func TestE2EUnconfirmedPublishRepeatsOnce(t *testing.T) {
	s := newStack(t)
	proxy := faultproxy.New(t, s.moto)
	lost := faultproxy.SNSInternal
	lost.AfterForward = true
	proxy.Inject("PublishBatch", 3, lost)
	s.snsEndpoint = proxy.URL
	fn := startFunction(t, buildBootstrap(t, "build"), s.env())

	sum := fn.mustInvoke(t, scheduled)
	if sum.NotificationsSent != 0 || !hasError(sum.Errors, sampleFailed, "unconfirmed", "the next run repeats it once") {
		t.Errorf("first run summary = %+v, want the FAILED reported unconfirmed, to be repeated once", sum)
	}
	sum = fn.mustInvoke(t, scheduled)
	if !hasError(sum.Errors, sampleFailed, "(a repeat) unconfirmed", "not repeated again") {
		t.Errorf("second run summary = %+v, want the repeat reported unconfirmed and not to be repeated", sum)
	}
	for range 2 {
		if sum := fn.mustInvoke(t, scheduled); sum.NotificationsSent != 0 || len(sum.Errors) != 0 {
			t.Errorf("later run summary = %+v, want nothing sent and no errors", sum)
		}
	}
	if n := proxy.Calls("PublishBatch"); n != 2 {
		t.Errorf("%d PublishBatch requests, want 2 (one send, one repeat, no SDK retry)", n)
	}

	got := s.drain(t)
	if len(got) != 2 || count(got, "FAILED", sampleFailed) != 2 {
		t.Fatalf("delivered %+v, want the FAILED twice (SNS accepted both, neither answer arrived)", got)
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
