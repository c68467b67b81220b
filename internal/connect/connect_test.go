package connect_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdkconnect "github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/connect/types"

	"github.com/phonewatch/phonewatch/internal/connect"
	"github.com/phonewatch/phonewatch/internal/connect/connecttest"
	"github.com/phonewatch/phonewatch/internal/status"
)

const (
	instanceA = "arn:aws:connect:us-east-1:123456789012:instance/aaaaaaaa-0000-4000-8000-000000000000"
	instanceB = "arn:aws:connect:us-east-1:123456789012:instance/bbbbbbbb-0000-4000-8000-000000000000"
)

// unpaced is a rate high enough not to slow a test that is not about pacing.
const unpaced = 1000

func newServer(t *testing.T) *connecttest.Server {
	t.Helper()
	srv := connecttest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

// newSource is the Source under test on the real SDK, pointed at srv.
func newSource(srv *connecttest.Server, rps float64, burst int, optFns ...func(*sdkconnect.Options)) *connect.Source {
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(srv.URL),
	}
	return connect.New(cfg, rps, burst, optFns...)
}

// quickRetries keeps the configured retryer (what it retries, how many attempts) but backs
// off for milliseconds, for tests that go through many retries.
func quickRetries(o *sdkconnect.Options) {
	o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, 5*time.Millisecond)
}

func id(prefix, i int) string { return fmt.Sprintf("%08d-0000-4000-8000-%012d", prefix, i) }

func arnOf(id string) string { return "arn:aws:connect:us-east-1:123456789012:phone-number/" + id }

// putNumbers adds n CLAIMED numbers claimed to target, with IDs id(prefix, 0..n-1).
func putNumbers(srv *connecttest.Server, target string, prefix, n int) {
	sums := make([]status.Summary, n)
	for i := range n {
		sums[i] = connecttest.NewSummary(id(prefix, i), fmt.Sprintf("+1800%03d%04d", prefix, i), target, "CLAIMED", "")
	}
	srv.Put(sums...)
}

func TestListAcrossTargetsPaginatesAndDedupes(t *testing.T) {
	srv := newServer(t)
	putNumbers(srv, instanceA, 1, 2500)
	putNumbers(srv, instanceB, 2, 2500)
	src := newSource(srv, unpaced, 10)

	// instanceA twice: a number must come back once however many targets list it.
	got, err := src.List(context.Background(), []string{instanceA, instanceB, instanceA})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5000 {
		t.Fatalf("listed %d numbers, want 5000", len(got))
	}
	if pages := srv.Lists(); pages != 9 {
		t.Errorf("%d list requests, want 3 pages of at most 1000 for each of 3 target lists", pages)
	}
	seen := map[string]bool{}
	for _, n := range got {
		if seen[n.ID] {
			t.Fatalf("%s listed twice", n.ID)
		}
		seen[n.ID] = true
	}
	first := got[0]
	want := status.Number{
		ID: id(1, 0), ARN: arnOf(id(1, 0)), E164: "+18000010000", CountryCode: "US", Type: "TOLL_FREE",
		TargetARN: instanceA, InstanceID: "aaaaaaaa-0000-4000-8000-000000000000",
	}
	if first != want {
		t.Errorf("first number = %+v, want %+v", first, want)
	}
	if last := got[4999]; last.ID != id(2, 2499) || last.TargetARN != instanceB {
		t.Errorf("last number = %+v, want %s of %s", last, id(2, 2499), instanceB)
	}
}

func TestListWholeAccount(t *testing.T) {
	srv := newServer(t)
	putNumbers(srv, instanceA, 1, 700)
	putNumbers(srv, instanceB, 2, 700)
	got, err := newSource(srv, unpaced, 10).List(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1400 || srv.Lists() != 2 {
		t.Errorf("listed %d numbers in %d requests, want 1400 in 2 (no target, MaxResults 1000)", len(got), srv.Lists())
	}
}

func TestListErrorsNameTheTargetAndKeepTheRest(t *testing.T) {
	srv := newServer(t)
	putNumbers(srv, instanceA, 1, 3)
	putNumbers(srv, instanceB, 2, 3)
	srv.FailNextList(instanceB, 403, "AccessDeniedException", 1)

	got, err := newSource(srv, unpaced, 10).List(context.Background(), []string{instanceA, instanceB})
	if !errors.Is(err, connect.ErrAccessDenied) {
		t.Fatalf("got %v, want ErrAccessDenied", err)
	}
	for _, want := range []string{instanceB, "connect:ListPhoneNumbersV2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), instanceA) {
		t.Errorf("error %q names the target that worked", err)
	}
	if len(got) != 3 || got[0].TargetARN != instanceA {
		t.Errorf("got %+v, want the 3 numbers of the target that could be listed", got)
	}
}

func TestDescribe(t *testing.T) {
	srv := newServer(t)
	sum := connecttest.NewSummary(id(1, 1), "+18005550100", instanceA, "FAILED", "Port-in rejected by carrier.")
	sum.Tags = map[string]string{"cost-centre": "42"}
	srv.Put(sum)
	src := newSource(srv, unpaced, 10)

	for _, key := range []string{id(1, 1), arnOf(id(1, 1))} {
		t.Run(key, func(t *testing.T) {
			got, err := src.Describe(context.Background(), key)
			if err != nil {
				t.Fatal(err)
			}
			o, err := status.Validate(got, time.Now())
			if err != nil {
				t.Fatalf("summary does not validate: %v", err)
			}
			if o.ID != id(1, 1) || o.ARN != arnOf(id(1, 1)) || o.E164 != "+18005550100" || o.Status != status.Failed ||
				o.Message != "Port-in rejected by carrier." || o.TargetARN != instanceA || o.CountryCode != "US" ||
				o.Type != "TOLL_FREE" || o.InstanceID != "aaaaaaaa-0000-4000-8000-000000000000" {
				t.Errorf("observation %+v", o)
			}
			if got.Tags["cost-centre"] != "42" {
				t.Errorf("tags %v", got.Tags)
			}
			if got.PhoneNumberDescription != nil || got.SourcePhoneNumberArn != nil {
				t.Errorf("absent fields came back non-nil: %+v", got)
			}
		})
	}
	if n := srv.Describes(id(1, 1)); n != 2 {
		t.Errorf("%d describes, want 2", n)
	}
}

// TestDescribeKeepsAbsentFieldsNil: the domain's validation tells missing from empty, so the
// adapter must not invent values; it must not crash on odd payloads either.
func TestDescribeKeepsAbsentFieldsNil(t *testing.T) {
	testCases := []struct {
		name  string
		body  string
		check func(*status.Summary) bool
	}{
		{"no status", `{"ClaimedPhoneNumberSummary":{"PhoneNumberId":"n"}}`,
			func(s *status.Summary) bool {
				return s.PhoneNumberStatus == nil && s.PhoneNumber == nil && s.Tags == nil
			}},
		{"empty enums", `{"ClaimedPhoneNumberSummary":{"PhoneNumberId":"n","PhoneNumberType":"","PhoneNumberCountryCode":"","PhoneNumberStatus":{"Status":""}}}`,
			func(s *status.Summary) bool {
				return s.PhoneNumberType == nil && s.PhoneNumberCountryCode == nil &&
					s.PhoneNumberStatus != nil && s.PhoneNumberStatus.Status == nil && s.PhoneNumberStatus.Message == nil
			}},
		{"nulls", `{"ClaimedPhoneNumberSummary":{"PhoneNumberId":"n","PhoneNumber":null,"PhoneNumberStatus":{"Status":null,"Message":null}}}`,
			func(s *status.Summary) bool {
				return s.PhoneNumber == nil && s.PhoneNumberStatus != nil && s.PhoneNumberStatus.Status == nil
			}},
		{"unknown status and long message pass through", `{"ClaimedPhoneNumberSummary":{"PhoneNumberId":"n","PhoneNumberStatus":{"Status":"RELEASED","Message":"` + strings.Repeat("m", 300) + `"}}}`,
			func(s *status.Summary) bool {
				return aws.ToString(s.PhoneNumberStatus.Status) == "RELEASED" && len(aws.ToString(s.PhoneNumberStatus.Message)) == 300
			}},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			srv.PutRaw("n", []byte(tc.body))
			got, err := newSource(srv, unpaced, 10).Describe(context.Background(), "n")
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(got) {
				t.Errorf("summary %+v (status %+v)", got, got.PhoneNumberStatus)
			}
			if _, err := status.Validate(got, time.Now()); err == nil {
				t.Error("an invalid payload validated")
			}
		})
	}
}

func TestDescribeOddPayloadsAreErrors(t *testing.T) {
	testCases := []struct{ name, body string }{
		{"no summary", `{}`},
		{"null summary", `{"ClaimedPhoneNumberSummary":null}`},
		{"summary not an object", `{"ClaimedPhoneNumberSummary":"FAILED"}`},
		{"status of the wrong type", `{"ClaimedPhoneNumberSummary":{"PhoneNumberId":"n","PhoneNumberStatus":{"Status":7}}}`},
		{"not JSON", `<html>`},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			srv.PutRaw("n", []byte(tc.body))
			got, err := newSource(srv, unpaced, 10).Describe(context.Background(), "n")
			if err == nil || got != nil {
				t.Fatalf("got %+v, %v; want no summary and an error", got, err)
			}
			if !strings.HasPrefix(err.Error(), "describe n: ") {
				t.Errorf("error %q does not say what failed", err)
			}
		})
	}
}

func TestDescribeErrors(t *testing.T) {
	testCases := []struct {
		name      string
		fail      func(srv *connecttest.Server, key string)
		wantIs    error
		wantText  []string
		wantCalls int // requests the server saw: shows what was retried
	}{
		{
			name:      "gone",
			fail:      func(srv *connecttest.Server, key string) { srv.Remove(key) },
			wantIs:    status.ErrNotFound,
			wantText:  []string{"describe " + id(1, 1), "ResourceNotFoundException"},
			wantCalls: 1,
		},
		{
			name:      "access denied",
			fail:      func(srv *connecttest.Server, key string) { srv.FailNext(key, 403, "AccessDeniedException", 1) },
			wantIs:    connect.ErrAccessDenied,
			wantText:  []string{"describe " + id(1, 1), "connect:DescribePhoneNumber"},
			wantCalls: 1,
		},
		{
			name:      "invalid parameter",
			fail:      func(srv *connecttest.Server, key string) { srv.FailNext(key, 400, "InvalidParameterException", 1) },
			wantText:  []string{"describe " + id(1, 1), "InvalidParameterException"},
			wantCalls: 1,
		},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			putNumbers(srv, instanceA, 1, 2)
			tc.fail(srv, id(1, 1))
			got, err := newSource(srv, unpaced, 10).Describe(context.Background(), id(1, 1))
			if err == nil || got != nil {
				t.Fatalf("got %+v, %v; want an error", got, err)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
			for _, w := range tc.wantText {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if errors.Is(err, status.ErrNotFound) != errors.Is(tc.wantIs, status.ErrNotFound) {
				t.Errorf("error %v: ErrNotFound only for ResourceNotFoundException", err)
			}
			if n := srv.Describes(id(1, 1)); n != tc.wantCalls {
				t.Errorf("%d requests, want %d", n, tc.wantCalls)
			}
		})
	}
}

// TestDescribeRetries uses the production retry settings: throttling and 5xx are retried.
func TestDescribeRetries(t *testing.T) {
	testCases := []struct {
		name       string
		httpStatus int
		errorType  string
		failures   int
	}{
		{"throttled twice", 429, "ThrottlingException", 2},
		{"internal error once", 500, "InternalServiceException", 1},
		{"service unavailable once", 503, "ServiceUnavailableException", 1},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			putNumbers(srv, instanceA, 1, 1)
			srv.FailNext(id(1, 0), tc.httpStatus, tc.errorType, tc.failures)
			got, err := newSource(srv, unpaced, 10).Describe(context.Background(), id(1, 0))
			if err != nil {
				t.Fatalf("not retried to success: %v", err)
			}
			if aws.ToString(got.PhoneNumberID) != id(1, 0) {
				t.Errorf("got %+v", got)
			}
			if n := srv.Describes(id(1, 0)); n != tc.failures+1 {
				t.Errorf("%d requests, want %d failed + 1", n, tc.failures)
			}
		})
	}
}

func TestDescribeGivesUpAfterFiveAttempts(t *testing.T) {
	srv := newServer(t)
	putNumbers(srv, instanceA, 1, 1)
	srv.FailNext(id(1, 0), 429, "ThrottlingException", 100)
	_, err := newSource(srv, unpaced, 10, quickRetries).Describe(context.Background(), id(1, 0))
	var thr *types.ThrottlingException
	if !errors.As(err, &thr) {
		t.Fatalf("got %v, want the last ThrottlingException", err)
	}
	if n := srv.Describes(id(1, 0)); n != 5 {
		t.Errorf("%d attempts, want 5", n)
	}
}

// TestContextEndsRetriesAndWaits: the caller's context bounds both the retries and a wait for
// the rate limiter; either way the error says so, and fewer than five attempts were made.
func TestContextEndsRetriesAndWaits(t *testing.T) {
	testCases := []struct {
		name         string
		rps          float64
		burst        int
		ctx          func() (context.Context, context.CancelFunc)
		want         error
		maxDescribes int
	}{
		{
			// Always throttled; with 2 requests/s the deadline allows at most 2 attempts.
			name: "deadline during retries", rps: 2, burst: 1,
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 800*time.Millisecond)
			},
			want: context.DeadlineExceeded, maxDescribes: 2,
		},
		{
			// The only token goes to the first attempt; the retry's turn is ~1000 s away.
			name: "deadline before the limiter's turn", rps: 0.001, burst: 1,
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 10*time.Second)
			},
			want: context.DeadlineExceeded, maxDescribes: 1,
		},
		{
			name: "cancel while waiting for the limiter", rps: 0.001, burst: 1,
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(300*time.Millisecond, cancel)
				return ctx, cancel
			},
			want: context.Canceled, maxDescribes: 1,
		},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			putNumbers(srv, instanceA, 1, 1)
			srv.FailNext(id(1, 0), 429, "ThrottlingException", 100)
			ctx, cancel := tc.ctx()
			defer cancel()
			_, err := newSource(srv, tc.rps, tc.burst).Describe(ctx, id(1, 0))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if n := srv.Describes(id(1, 0)); n > tc.maxDescribes {
				t.Errorf("%d attempts, want at most %d", n, tc.maxDescribes)
			}
		})
	}
}

// TestRetriesAndPagesDrawFromTheLimiter: with a budget of two requests (a burst of 3, one
// kept in reserve), the third request of any kind waits, so it fails at the deadline
// without reaching the server.
func TestRetriesAndPagesDrawFromTheLimiter(t *testing.T) {
	t.Run("a retry", func(t *testing.T) {
		srv := newServer(t)
		putNumbers(srv, instanceA, 1, 2)
		src := newSource(srv, 0.001, 3)
		srv.FailNext(id(1, 0), 500, "InternalServiceException", 1)
		if _, err := src.Describe(context.Background(), id(1, 0)); err != nil {
			t.Fatalf("first attempt and retry within the burst: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := src.Describe(ctx, id(1, 1))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("third request: %v, want it held by the limiter until the deadline", err)
		}
		if n := srv.TotalDescribes(); n != 2 {
			t.Errorf("server saw %d requests, want 2", n)
		}
	})
	t.Run("list pages", func(t *testing.T) {
		srv := newServer(t)
		putNumbers(srv, instanceA, 1, 2500)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		got, err := newSource(srv, 0.001, 3).List(ctx, []string{instanceA})
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), instanceA) {
			t.Fatalf("third page: %v, want the deadline, naming the target", err)
		}
		if srv.Lists() != 2 || len(got) != 2000 {
			t.Errorf("%d pages, %d numbers; want 2 pages and their 2000 numbers", srv.Lists(), len(got))
		}
	})
}

// TestPacing: 8 goroutines share one Source; at the server's rate nothing is throttled, and
// the same load at twice the rate or unpaced is, which shows the server's check bites.
func TestPacing(t *testing.T) {
	testCases := []struct {
		name          string
		clientRPS     float64
		wantThrottled bool
	}{
		{"at the server's rate", 20, false},
		{"at twice the server's rate", 40, true},
		{"without client pacing (rps 0)", 0, true},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			putNumbers(srv, instanceA, 1, 40)
			// The server's rate and burst are the client's configuration, as Connect's quota
			// is: the token the Source keeps in reserve absorbs requests that reach the server
			// a little later than the next one does (new connections, scheduling).
			srv.SetRateLimit(20, 5)
			src := newSource(srv, tc.clientRPS, 5, quickRetries)

			var wg sync.WaitGroup
			var mu sync.Mutex
			var errs []error
			for g := range 8 {
				wg.Go(func() {
					for i := g; i < 40; i += 8 {
						if _, err := src.Describe(context.Background(), id(1, i)); err != nil {
							mu.Lock()
							errs = append(errs, err)
							mu.Unlock()
						}
					}
				})
			}
			wg.Wait()
			if throttled := srv.Throttled(); (throttled > 0) != tc.wantThrottled {
				t.Errorf("server throttled %d requests; want throttling: %v", throttled, tc.wantThrottled)
			}
			if !tc.wantThrottled {
				if len(errs) > 0 || srv.TotalDescribes() != 40 {
					t.Errorf("%d requests, errors %v; want exactly 40, all answered", srv.TotalDescribes(), errs)
				}
			}
		})
	}
}
