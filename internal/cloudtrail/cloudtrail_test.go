package cloudtrail_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdkcloudtrail "github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/phonewatch/phonewatch/internal/cloudtrail"
	"github.com/phonewatch/phonewatch/internal/cloudtrail/cloudtrailtest"
	"github.com/phonewatch/phonewatch/internal/status"
)

const (
	instance = "arn:aws:connect:us-east-1:123456789012:instance/aaaaaaaa-0000-4000-8000-000000000000"
	alice    = "arn:aws:sts::123456789012:assumed-role/ConnectAdmin/alice"
)

// t0 is the start of every test's event history.
var t0 = time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)

// newServer is a server with no rate limit unless a test sets one.
func newServer(t *testing.T) *cloudtrailtest.Server {
	t.Helper()
	srv := cloudtrailtest.NewServer()
	srv.SetRateLimit(0, 0)
	t.Cleanup(srv.Close)
	return srv
}

// newReader is the Reader under test on the real SDK, unpaced unless opts say otherwise, with
// retries that back off for milliseconds.
func newReader(srv *cloudtrailtest.Server, opts ...func(*cloudtrail.Options)) *cloudtrail.Reader {
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(srv.URL),
	}
	all := append([]func(*cloudtrail.Options){func(o *cloudtrail.Options) {
		o.RPS = 0
		o.ClientOptions = append(o.ClientOptions, func(co *sdkcloudtrail.Options) {
			co.Retryer = retry.AddWithMaxBackoffDelay(co.Retryer, 5*time.Millisecond)
		})
	}}, opts...)
	return cloudtrail.New(cfg, all...)
}

func id(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// addUpdates adds n UpdatePhoneNumber calls, one a second from t0, of numbers id(0..n-1).
func addUpdates(srv *cloudtrailtest.Server, n int) {
	for i := range n {
		srv.Add(cloudtrailtest.Update(id(i), instance, alice, t0.Add(time.Duration(i)*time.Second)))
	}
}

func TestLookupPaginatesOldestFirst(t *testing.T) {
	srv := newServer(t)
	addUpdates(srv, 120)
	for i := range 30 { // other Connect calls, left out
		srv.Add(cloudtrailtest.Event{Name: "DescribePhoneNumber", ReadOnly: true, By: alice, Time: t0.Add(time.Duration(i) * time.Second)})
	}
	r := newReader(srv)
	ops, err := r.Lookup(context.Background(), t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 120 {
		t.Fatalf("got %d operations, want 120", len(ops))
	}
	for i, op := range ops {
		if op.PhoneNumberID != id(i) || !op.At.Equal(t0.Add(time.Duration(i)*time.Second)) {
			t.Fatalf("operation %d is %s at %s, want %s at %s (oldest first)", i, op.PhoneNumberID, op.At, id(i), t0.Add(time.Duration(i)*time.Second))
		}
	}
	if got := srv.Calls(); got != 3 {
		t.Errorf("%d lookups for 150 events, want 3 pages of 50", got)
	}
}

func TestLookupRangeIsHalfOpenAndDeduplicated(t *testing.T) {
	srv := newServer(t)
	addUpdates(srv, 10)
	dup := cloudtrailtest.Update(id(99), instance, alice, t0.Add(3*time.Second))
	dup.ID = "dddddddd-0000-4000-8000-000000000000"
	srv.Add(dup, dup) // the same event twice, as a page boundary moving under new events can give
	r := newReader(srv)

	first, err := r.Lookup(context.Background(), t0, t0.Add(6*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	// Overlapping the first: a caller re-reading for CloudTrail's delivery delay sees the
	// same calls under the same IDs.
	second, err := r.Lookup(context.Background(), t0.Add(4*time.Second), t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 7 || len(second) != 6 {
		t.Fatalf("got %d and %d operations, want 7 (6 + the duplicated one once) and 6", len(first), len(second))
	}
	if last := first[len(first)-1]; !last.At.Before(t0.Add(6 * time.Second)) {
		t.Errorf("an event at the range's end (%s) was returned: the range is [from, to)", last.At)
	}
	if first[5].EventID != second[0].EventID {
		t.Errorf("the overlap's first call has IDs %s and %s", first[5].EventID, second[0].EventID)
	}
}

func TestLookupReadsTheRecords(t *testing.T) {
	srv := newServer(t)
	at := t0.Add(time.Minute)
	claim := cloudtrailtest.Claim("+18005550100", instance, id(1), alice, at)
	update := cloudtrailtest.Update(cloudtrailtest.ARN(id(2)), instance, alice, at.Add(time.Second))
	update.Response = nil // an update named by ARN: the ID comes from the ARN
	release := cloudtrailtest.Release(id(3), alice, at.Add(2*time.Second))
	refused := cloudtrailtest.Update(id(4), instance, alice, at.Add(3*time.Second)).Refused("AccessDeniedException", "not authorized")
	// Another casing throughout, and no eventTime: the entry's EventTime stands in.
	shouty := cloudtrailtest.Event{
		ID: "eeeeeeee-0000-4000-8000-000000000005", Name: "UpdatePhoneNumber", Time: at.Add(4 * time.Second),
		Record: `{"EventName":"UpdatePhoneNumber","EVENTSOURCE":"connect.amazonaws.com","UserIdentity":{"ARN":"arn:aws:iam::123456789012:user/bob"},` +
			`"EventID":"eeeeeeee-0000-4000-8000-000000000005","RequestParameters":{"PhoneNumberID":"` + cloudtrailtest.ARN(id(5)) + `","TargetARN":"` + instance + `"}}`,
	}
	broken := cloudtrailtest.Event{Name: "ClaimPhoneNumber", Time: at.Add(5 * time.Second), Record: `{"eventName":`}
	noNumber := cloudtrailtest.Event{Name: "ReleasePhoneNumber", Time: at.Add(6 * time.Second), By: alice}
	srv.Add(claim, update, release, refused, shouty, broken, noNumber)
	r := newReader(srv)

	ops, err := r.Lookup(context.Background(), t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []status.Operation{
		{Name: status.OpClaim, At: at, By: alice, TargetARN: instance, PhoneNumberID: id(1), PhoneNumberARN: cloudtrailtest.ARN(id(1)), E164: "+18005550100"},
		{Name: status.OpUpdate, At: at.Add(time.Second), By: alice, TargetARN: instance, PhoneNumberID: id(2), PhoneNumberARN: cloudtrailtest.ARN(id(2))},
		{Name: status.OpRelease, At: at.Add(2 * time.Second), By: alice, PhoneNumberID: id(3)},
		{Name: status.OpUpdate, At: at.Add(4 * time.Second), By: "arn:aws:iam::123456789012:user/bob", TargetARN: instance,
			PhoneNumberID: id(5), PhoneNumberARN: cloudtrailtest.ARN(id(5)), EventID: shouty.ID},
	}
	if len(ops) != len(want) {
		t.Fatalf("got %d operations, want %d (refused and malformed ones left out): %+v", len(ops), len(want), ops)
	}
	for i, w := range want {
		got := ops[i]
		if got.EventID == "" {
			t.Errorf("operation %d has no EventID", i)
		}
		if w.EventID == "" {
			w.EventID = got.EventID
		}
		if got != w {
			t.Errorf("operation %d:\n got %+v\nwant %+v", i, got, w)
		}
	}
	if r.Malformed() != 2 {
		t.Errorf("Malformed() = %d, want 2 (the broken JSON and the release naming no number)", r.Malformed())
	}
}

func TestLookupAccessDenied(t *testing.T) {
	srv := newServer(t)
	addUpdates(srv, 3)
	srv.FailNext(400, "AccessDeniedException", 1)
	_, err := newReader(srv).Lookup(context.Background(), t0, t0.Add(time.Hour))
	if !errors.Is(err, cloudtrail.ErrAccessDenied) {
		t.Fatalf("err = %v, want ErrAccessDenied", err)
	}
	for _, s := range []string{"cloudtrail:LookupEvents", `Resource "*"`, "CLOUDTRAIL=false", "AccessDeniedException"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("the error does not say %q: %v", s, err)
		}
	}
	if srv.Calls() != 1 {
		t.Errorf("%d calls: access denied must not be retried", srv.Calls())
	}
}

func TestLookupRetriesThrottlingThenGivesUp(t *testing.T) {
	srv := newServer(t)
	addUpdates(srv, 3)
	srv.FailNext(400, "ThrottlingException", 2)
	r := newReader(srv)
	ops, err := r.Lookup(context.Background(), t0, t0.Add(time.Hour))
	if err != nil || len(ops) != 3 {
		t.Fatalf("got %d operations, %v: two throttles must be retried", len(ops), err)
	}
	if r.Lookups() != 3 || r.Throttled() != 2 {
		t.Errorf("Lookups() = %d, Throttled() = %d, want 3 and 2", r.Lookups(), r.Throttled())
	}

	srv.FailNext(400, "ThrottlingException", 10)
	_, err = r.Lookup(context.Background(), t0, t0.Add(time.Hour))
	if err == nil || !strings.Contains(err.Error(), "cloudtrail:LookupEvents") || !strings.Contains(err.Error(), "ThrottlingException") {
		t.Fatalf("err = %v, want a throttling error naming cloudtrail:LookupEvents", err)
	}
	if got := r.Lookups() - 3; got != 4 {
		t.Errorf("%d attempts before giving up, want 4", got)
	}
}

func TestLookupPageLimitReturnsWhatItRead(t *testing.T) {
	srv := newServer(t)
	addUpdates(srv, 120)
	r := newReader(srv, func(o *cloudtrail.Options) { o.MaxPages = 2 })
	ops, err := r.Lookup(context.Background(), t0, t0.Add(time.Hour))
	if !errors.Is(err, cloudtrail.ErrPageLimit) || !strings.Contains(err.Error(), "cloudtrail:LookupEvents") {
		t.Fatalf("err = %v, want ErrPageLimit naming cloudtrail:LookupEvents", err)
	}
	// Pages are newest first: what was read is the newest 100, returned oldest first.
	if len(ops) != 100 || ops[0].PhoneNumberID != id(20) || ops[99].PhoneNumberID != id(119) {
		t.Fatalf("got %d operations, want the newest 100 oldest first", len(ops))
	}
	if srv.Calls() != 2 {
		t.Errorf("%d lookups, want 2", srv.Calls())
	}
}

// At the default pace a Reader never meets CloudTrail's 2/s limit, however many pages.
func TestLookupDefaultPaceIsNeverThrottled(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 4 s of pacing")
	}
	srv := cloudtrailtest.NewServer() // CloudTrail's 2/s
	t.Cleanup(srv.Close)
	addUpdates(srv, 250)
	r := newReader(srv, func(o *cloudtrail.Options) { o.RPS, o.Burst = cloudtrail.DefaultRPS, cloudtrail.DefaultBurst })
	ops, err := r.Lookup(context.Background(), t0, t0.Add(time.Hour))
	if err != nil || len(ops) != 250 {
		t.Fatalf("got %d operations, %v", len(ops), err)
	}
	if srv.Throttled() != 0 || r.Throttled() != 0 || srv.Calls() != 5 {
		t.Errorf("server throttled %d, reader saw %d, %d calls: want 0, 0, 5", srv.Throttled(), r.Throttled(), srv.Calls())
	}

	// The same lookup unpaced is throttled: the server's limit is real.
	unpaced := newReader(srv)
	srv.SetRateLimit(0.1, 1)
	_, _ = unpaced.Lookup(context.Background(), t0, t0.Add(time.Hour))
	if srv.Throttled() == 0 || unpaced.Throttled() == 0 {
		t.Errorf("an unpaced reader was not throttled (server %d, reader %d)", srv.Throttled(), unpaced.Throttled())
	}
}

// A wait for the pace that would pass the deadline is not made: Lookup returns at once with
// the pages it read.
func TestLookupStopsAtTheDeadline(t *testing.T) {
	srv := newServer(t)
	addUpdates(srv, 200) // 4 pages, one a second: the 4th would be sent at 3 s
	r := newReader(srv, func(o *cloudtrail.Options) { o.RPS, o.Burst = 1, 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	ops, err := r.Lookup(ctx, t0, t0.Add(time.Hour))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "cloudtrail:LookupEvents") {
		t.Fatalf("err = %v, want a deadline error naming cloudtrail:LookupEvents", err)
	}
	if len(ops) == 0 || len(ops)%50 != 0 || len(ops) == 200 {
		t.Errorf("got %d operations, want the whole pages read before the deadline", len(ops))
	}
	if srv.Calls() > 3 {
		t.Errorf("%d lookups sent: the 4th would have passed the deadline", srv.Calls())
	}
}

// By EventName, other Connect calls (phonewatch's own DescribePhoneNumber among them) cost no
// pages; another service's UpdatePhoneNumber is left out.
func TestLookupByEventName(t *testing.T) {
	srv := newServer(t)
	for i := range 480 { // a 12 s run describing at 40/s
		srv.Add(cloudtrailtest.Event{Name: "DescribePhoneNumber", ReadOnly: true, By: alice, Time: t0.Add(time.Duration(i) * 25 * time.Millisecond)})
	}
	srv.Add(cloudtrailtest.Update(id(1), instance, alice, t0.Add(5*time.Second)))
	chime := cloudtrailtest.Update(id(2), instance, alice, t0.Add(6*time.Second))
	chime.Source = "chime.amazonaws.com"
	srv.Add(chime)

	for _, c := range []struct {
		byName bool
		calls  int
	}{{false, 10}, {true, 3}} {
		srv.ResetCounters()
		r := newReader(srv, func(o *cloudtrail.Options) { o.ByEventName = c.byName })
		ops, err := r.Lookup(context.Background(), t0, t0.Add(time.Hour))
		if err != nil || len(ops) != 1 || ops[0].PhoneNumberID != id(1) {
			t.Fatalf("ByEventName %v: got %+v, %v; want the one Connect update", c.byName, ops, err)
		}
		if srv.Calls() != c.calls {
			t.Errorf("ByEventName %v: %d lookups, want %d", c.byName, srv.Calls(), c.calls)
		}
	}
}

// TestBulkClaimDoesNotHideUpdates: a bulk claim larger than a lookup's page budget is cut
// (ErrPageLimit), but the updates and releases of the same window are still read, each lookup
// with its own budget.
func TestBulkClaimDoesNotHideUpdates(t *testing.T) {
	srv := newServer(t)
	for i := range 150 { // three pages of claims
		srv.Add(cloudtrailtest.Claim(fmt.Sprintf("+1800555%04d", i), instance, id(100+i), alice, t0.Add(time.Duration(i)*time.Second)))
	}
	srv.Add(cloudtrailtest.Update(id(1), instance, alice, t0.Add(10*time.Minute)))
	srv.Add(cloudtrailtest.Release(id(2), alice, t0.Add(11*time.Minute)))
	r := newReader(srv, func(o *cloudtrail.Options) { o.ByEventName, o.MaxPages = true, 2 })
	ops, err := r.Lookup(context.Background(), t0, t0.Add(time.Hour))
	if !errors.Is(err, cloudtrail.ErrPageLimit) {
		t.Fatalf("error %v, want the claims' page limit", err)
	}
	var names []string
	for _, op := range ops {
		if op.Name != status.OpClaim {
			names = append(names, op.Name+" "+op.PhoneNumberID)
		}
	}
	if !slices.Equal(names, []string{status.OpUpdate + " " + id(1), status.OpRelease + " " + id(2)}) {
		t.Errorf("operations other than claims: %v; want the update and the release", names)
	}
	if claims := len(ops) - len(names); claims != 100 {
		t.Errorf("%d claims read, want the newest 100 (2 pages)", claims)
	}
}
