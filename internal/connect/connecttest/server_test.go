package connecttest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/connect/types"

	"github.com/phonewatch/phonewatch/internal/connect/connecttest"
	"github.com/phonewatch/phonewatch/internal/status"
)

const (
	instanceA = "arn:aws:connect:us-east-1:123456789012:instance/aaaaaaaa-0000-4000-8000-000000000000"
	instanceB = "arn:aws:connect:us-east-1:123456789012:instance/bbbbbbbb-0000-4000-8000-000000000000"
	tdg       = "arn:aws:connect:us-west-2:123456789012:traffic-distribution-group/cccccccc-0000-4000-8000-000000000000"
)

// newClient is the real SDK client on srv, with retries off so that each call is one request
// and the test sees exactly what the server answered.
func newClient(t *testing.T, srv *connecttest.Server) *connect.Client {
	t.Helper()
	return connect.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(srv.URL),
	}, func(o *connect.Options) {
		o.RetryMaxAttempts = 1
		o.HTTPClient = bufferedBodies{o.HTTPClient}
	})
}

// bufferedBodies gives the transport a copy of each request body, as internal/connect does:
// the SDK closes the body when response headers arrive, which can break the transport's last
// read of it and the connection with it (aws/aws-sdk-go-v2#2737). The SDK retries that, but
// with retries off here it would fail a test at random.
type bufferedBodies struct{ next connect.HTTPClient }

func (c bufferedBodies) Do(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return c.next.Do(req)
	}
	body, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	return c.next.Do(r)
}

func newServer(t *testing.T) *connecttest.Server {
	t.Helper()
	srv := connecttest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

func id(i int) string { return fmt.Sprintf("%08d-0000-4000-8000-000000000000", i) }

func e164(i int) string { return fmt.Sprintf("+1800555%04d", i) }

func describe(t *testing.T, c *connect.Client, idOrARN string) (*types.ClaimedPhoneNumberSummary, error) {
	t.Helper()
	out, err := c.DescribePhoneNumber(context.Background(), &connect.DescribePhoneNumberInput{PhoneNumberId: aws.String(idOrARN)})
	if err != nil {
		return nil, err
	}
	return out.ClaimedPhoneNumberSummary, nil
}

func TestDescribeByIDAndARN(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv)
	sum := connecttest.NewSummary(id(1), e164(1), instanceA, "FAILED", "The number could not be ported.")
	sum.Tags = map[string]string{"team": "support"}
	srv.Put(sum)

	arn := "arn:aws:connect:us-east-1:123456789012:phone-number/" + id(1)
	for _, key := range []string{id(1), arn} {
		got, err := describe(t, c, key)
		if err != nil {
			t.Fatalf("describe %s: %v", key, err)
		}
		if aws.ToString(got.PhoneNumberId) != id(1) || aws.ToString(got.PhoneNumberArn) != arn ||
			aws.ToString(got.PhoneNumber) != e164(1) || got.PhoneNumberCountryCode != types.PhoneNumberCountryCodeUs ||
			got.PhoneNumberType != types.PhoneNumberTypeTollFree || aws.ToString(got.TargetArn) != instanceA ||
			aws.ToString(got.InstanceId) != "aaaaaaaa-0000-4000-8000-000000000000" || got.Tags["team"] != "support" {
			t.Errorf("describe %s: got %+v", key, got)
		}
		if got.PhoneNumberStatus == nil || got.PhoneNumberStatus.Status != types.PhoneNumberWorkflowStatusFailed ||
			aws.ToString(got.PhoneNumberStatus.Message) != "The number could not be ported." {
			t.Errorf("describe %s: status %+v", key, got.PhoneNumberStatus)
		}
		if got.PhoneNumberDescription != nil || got.SourcePhoneNumberArn != nil {
			t.Errorf("describe %s: fields never set came back: %+v", key, got)
		}
	}
	if n := srv.Describes(id(1)); n != 2 {
		t.Errorf("Describes(id) = %d, want 2 (one by ID, one by ARN)", n)
	}
	if n := srv.Describes(arn); n != 2 {
		t.Errorf("Describes(arn) = %d, want the same count as by ID", n)
	}
}

func TestNewSummaryOfTrafficDistributionGroup(t *testing.T) {
	s := connecttest.NewSummary("x", "+442071234567", tdg, "CLAIMED", "")
	if got, want := aws.ToString(s.PhoneNumberArn), "arn:aws:connect:us-west-2:123456789012:phone-number/x"; got != want {
		t.Errorf("ARN = %s, want %s (the group's Region and account)", got, want)
	}
	if s.InstanceID != nil || s.PhoneNumberStatus.Message != nil {
		t.Errorf("InstanceId %v, Message %v: want both absent", s.InstanceID, s.PhoneNumberStatus.Message)
	}
	if _, err := status.Validate(&s, time.Now()); err != nil {
		t.Errorf("NewSummary is not valid: %v", err)
	}
}

func TestList(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv)
	var all []string
	for i := range 10 {
		target := []string{instanceA, instanceA, instanceA, instanceA, instanceA, instanceB, instanceB, instanceB, tdg, tdg}[i]
		srv.Put(connecttest.NewSummary(id(i), e164(i), target, "CLAIMED", ""))
		all = append(all, id(i))
	}
	testCases := []struct {
		name      string
		in        connect.ListPhoneNumbersV2Input
		wantIDs   []string
		wantPages int
	}{
		{"whole account in pages of 3", connect.ListPhoneNumbersV2Input{MaxResults: aws.Int32(3)}, all, 4},
		{"whole account, default page size", connect.ListPhoneNumbersV2Input{}, all, 1},
		{"exact pages leave no empty one", connect.ListPhoneNumbersV2Input{MaxResults: aws.Int32(5)}, all, 2},
		{"one instance", connect.ListPhoneNumbersV2Input{TargetArn: aws.String(instanceA), MaxResults: aws.Int32(1000)}, all[:5], 1},
		{"traffic distribution group", connect.ListPhoneNumbersV2Input{TargetArn: aws.String(tdg), MaxResults: aws.Int32(1)}, all[8:], 2},
		{"by InstanceId", connect.ListPhoneNumbersV2Input{InstanceId: aws.String("bbbbbbbb-0000-4000-8000-000000000000")}, all[5:8], 1},
		{"unknown target", connect.ListPhoneNumbersV2Input{TargetArn: aws.String(instanceA + "0")}, nil, 1},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			before := srv.Lists()
			var got []string
			pages := connect.NewListPhoneNumbersV2Paginator(c, &tc.in)
			for pages.HasMorePages() {
				page, err := pages.NextPage(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range page.ListPhoneNumbersSummaryList {
					got = append(got, aws.ToString(n.PhoneNumberId))
					if n.PhoneNumber == nil || n.PhoneNumberArn == nil || n.TargetArn == nil || n.PhoneNumberType == "" {
						t.Errorf("entry %s lacks a field: %+v", aws.ToString(n.PhoneNumberId), n)
					}
				}
			}
			if !slices.Equal(got, tc.wantIDs) {
				t.Errorf("listed %v, want %v", got, tc.wantIDs)
			}
			if pages := srv.Lists() - before; pages != tc.wantPages {
				t.Errorf("%d list requests, want %d", pages, tc.wantPages)
			}
		})
	}
}

func TestListPagesStayConsistentWhenNumbersGo(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv)
	for i := range 6 {
		srv.Put(connecttest.NewSummary(id(i), e164(i), "", "CLAIMED", ""))
	}
	ctx := context.Background()
	first, err := c.ListPhoneNumbersV2(ctx, &connect.ListPhoneNumbersV2Input{MaxResults: aws.Int32(3)})
	if err != nil {
		t.Fatal(err)
	}
	srv.Remove(id(1)) // already listed: must not shift the next page
	srv.Remove(id(4))
	second, err := c.ListPhoneNumbersV2(ctx, &connect.ListPhoneNumbersV2Input{MaxResults: aws.Int32(3), NextToken: first.NextToken})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range second.ListPhoneNumbersSummaryList {
		got = append(got, aws.ToString(n.PhoneNumberId))
	}
	if want := []string{id(3), id(5)}; !slices.Equal(got, want) || second.NextToken != nil {
		t.Errorf("second page %v (next %v), want %v and no next token", got, second.NextToken, want)
	}
}

func TestListRejectsWhatConnectRejects(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv)
	testCases := []struct {
		name string
		in   connect.ListPhoneNumbersV2Input
		want string // in the message
	}{
		{"MaxResults 0", connect.ListPhoneNumbersV2Input{MaxResults: aws.Int32(0)}, "MaxResults"},
		{"MaxResults 1001", connect.ListPhoneNumbersV2Input{MaxResults: aws.Int32(1001)}, "MaxResults"},
		{"token never issued", connect.ListPhoneNumbersV2Input{NextToken: aws.String("!!")}, "NextToken"},
		{"target and instance", connect.ListPhoneNumbersV2Input{TargetArn: aws.String(instanceA), InstanceId: aws.String("a")}, "not both"},
		{"unsupported filter", connect.ListPhoneNumbersV2Input{PhoneNumberTypes: []types.PhoneNumberType{types.PhoneNumberTypeDid}}, "not supported"},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ListPhoneNumbersV2(context.Background(), &tc.in)
			var invalid *types.InvalidParameterException
			if !errors.As(err, &invalid) || !strings.Contains(invalid.ErrorMessage(), tc.want) {
				t.Fatalf("got %v, want InvalidParameterException about %s", err, tc.want)
			}
		})
	}
}

func TestInjectedErrorsDecodeAsConnectErrors(t *testing.T) {
	testCases := []struct {
		httpStatus int
		errorType  string
		as         func(error) bool
	}{
		{404, "ResourceNotFoundException", func(err error) bool { var e *types.ResourceNotFoundException; return errors.As(err, &e) }},
		{429, "ThrottlingException", func(err error) bool { var e *types.ThrottlingException; return errors.As(err, &e) }},
		{403, "AccessDeniedException", func(err error) bool { var e *types.AccessDeniedException; return errors.As(err, &e) }},
		{400, "InvalidParameterException", func(err error) bool { var e *types.InvalidParameterException; return errors.As(err, &e) }},
		{500, "InternalServiceException", func(err error) bool { var e *types.InternalServiceException; return errors.As(err, &e) }},
	}
	srv := newServer(t)
	c := newClient(t, srv)
	srv.Put(connecttest.NewSummary(id(1), e164(1), instanceA, "CLAIMED", ""))
	arn := aws.ToString(connecttest.NewSummary(id(1), e164(1), instanceA, "CLAIMED", "").PhoneNumberArn)
	for _, tc := range testCases {
		t.Run(tc.errorType, func(t *testing.T) {
			srv.FailNext(arn, tc.httpStatus, tc.errorType, 2) // set by ARN, hits requests by ID too
			for i := range 2 {
				_, err := describe(t, c, id(1))
				var re *awshttp.ResponseError
				if !tc.as(err) || !errors.As(err, &re) || re.HTTPStatusCode() != tc.httpStatus {
					t.Fatalf("attempt %d: got %v, want %s with HTTP %d", i+1, err, tc.errorType, tc.httpStatus)
				}
			}
			if _, err := describe(t, c, id(1)); err != nil {
				t.Fatalf("after the injected failures: %v", err)
			}
			srv.FailNextList(instanceA, tc.httpStatus, tc.errorType, 1)
			_, err := c.ListPhoneNumbersV2(context.Background(), &connect.ListPhoneNumbersV2Input{TargetArn: aws.String(instanceA)})
			if !tc.as(err) {
				t.Fatalf("list: got %v, want %s", err, tc.errorType)
			}
			if _, err := c.ListPhoneNumbersV2(context.Background(), &connect.ListPhoneNumbersV2Input{}); err != nil {
				t.Fatalf("a list of another target failed too: %v", err)
			}
		})
	}
}

func TestSetStatusAndRemove(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv)
	srv.Put(connecttest.NewSummary(id(1), e164(1), instanceA, "IN_PROGRESS", ""))
	srv.Put(connecttest.NewSummary(id(2), e164(2), instanceA, "CLAIMED", ""))

	srv.SetStatus(id(1), "FAILED", "Porting failed.")
	got, err := describe(t, c, id(1))
	if err != nil {
		t.Fatal(err)
	}
	if got.PhoneNumberStatus.Status != types.PhoneNumberWorkflowStatusFailed || aws.ToString(got.PhoneNumberStatus.Message) != "Porting failed." {
		t.Errorf("status after SetStatus: %+v", got.PhoneNumberStatus)
	}
	if aws.ToString(got.PhoneNumber) != e164(1) {
		t.Errorf("SetStatus changed the number: %+v", got)
	}

	srv.Remove("arn:aws:connect:us-east-1:123456789012:phone-number/" + id(1))
	_, err = describe(t, c, id(1))
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("describe after Remove: %v, want ResourceNotFoundException", err)
	}
	out, err := c.ListPhoneNumbersV2(context.Background(), &connect.ListPhoneNumbersV2Input{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ListPhoneNumbersSummaryList) != 1 || aws.ToString(out.ListPhoneNumbersSummaryList[0].PhoneNumberId) != id(2) {
		t.Errorf("list after Remove: %+v, want only %s", out.ListPhoneNumbersSummaryList, id(2))
	}
}

func TestPutRawServesTheBodyAsIs(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv)
	long := strings.Repeat("x", 300)
	srv.PutRaw("odd", []byte(`{"ClaimedPhoneNumberSummary":{"PhoneNumberId":"odd","PhoneNumber":"+18005550199",
		"TargetArn":"`+instanceB+`","PhoneNumberStatus":{"Status":"RELEASED","Message":"`+long+`"}}}`))
	srv.PutRaw("broken", []byte(`{"ClaimedPhoneNumberSummary":`))

	got, err := describe(t, c, "odd")
	if err != nil {
		t.Fatal(err)
	}
	if got.PhoneNumberStatus.Status != "RELEASED" || aws.ToString(got.PhoneNumberStatus.Message) != long || got.PhoneNumberArn != nil {
		t.Errorf("raw payload changed on the way: %+v", got.PhoneNumberStatus)
	}
	if _, err := describe(t, c, "broken"); err == nil || !strings.Contains(err.Error(), "deserialization failed") {
		t.Errorf("describe of invalid JSON: %v, want a deserialization error", err)
	}

	out, err := c.ListPhoneNumbersV2(context.Background(), &connect.ListPhoneNumbersV2Input{TargetArn: aws.String(instanceB)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ListPhoneNumbersSummaryList) != 1 || aws.ToString(out.ListPhoneNumbersSummaryList[0].PhoneNumber) != "+18005550199" {
		t.Errorf("raw number listed by its target as %+v", out.ListPhoneNumbersSummaryList)
	}
	out, err = c.ListPhoneNumbersV2(context.Background(), &connect.ListPhoneNumbersV2Input{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ListPhoneNumbersSummaryList) != 2 {
		t.Errorf("whole-account list has %d numbers, want both raw ones", len(out.ListPhoneNumbersSummaryList))
	}
}

func TestLoadFile(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv)
	n, err := srv.LoadFile(filepath.Join("testdata", "numbers.json"))
	if err != nil || n != 3 {
		t.Fatalf("LoadFile = %d, %v; want 3 numbers", n, err)
	}
	want := map[string]types.PhoneNumberWorkflowStatus{
		"7f8e1c2a-1b2c-4d3e-8f40-5a6b7c8d9e01": types.PhoneNumberWorkflowStatusClaimed,
		"7f8e1c2a-1b2c-4d3e-8f40-5a6b7c8d9e02": types.PhoneNumberWorkflowStatusFailed,
		"7f8e1c2a-1b2c-4d3e-8f40-5a6b7c8d9e03": "PENDING", // invalid on purpose: served as is
	}
	for id, st := range want {
		got, err := describe(t, c, id)
		if err != nil {
			t.Fatalf("describe %s: %v", id, err)
		}
		if got.PhoneNumberStatus == nil || got.PhoneNumberStatus.Status != st {
			t.Errorf("%s: status %+v, want %s", id, got.PhoneNumberStatus, st)
		}
	}
}

func TestLoadRejectsBadFilesWhole(t *testing.T) {
	testCases := []struct{ name, data, want string }{
		{"not an array", `{"ClaimedPhoneNumberSummary":{}}`, "JSON array"},
		{"entry without id", `[{"ClaimedPhoneNumberSummary":{"PhoneNumberId":"a"}},{"ClaimedPhoneNumberSummary":{}}]`, "entry 1"},
		{"id not a string", `[{"ClaimedPhoneNumberSummary":{"PhoneNumberId":7}}]`, "entry 0"},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			if _, err := srv.Load([]byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load: %v, want an error about %s", err, tc.want)
			}
			if _, err := describe(t, newClient(t, srv), "a"); err == nil {
				t.Error("a number of a rejected file was loaded")
			}
		})
	}
}

func TestRateLimitThrottlesPerOperation(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv)
	srv.Put(connecttest.NewSummary(id(1), e164(1), "", "CLAIMED", ""))
	srv.SetRateLimit(0.001, 2) // two requests, then one every 1000 s
	for i := range 2 {
		if _, err := describe(t, c, id(1)); err != nil {
			t.Fatalf("describe %d within the burst: %v", i+1, err)
		}
	}
	_, err := describe(t, c, id(1))
	var thr *types.ThrottlingException
	if !errors.As(err, &thr) {
		t.Fatalf("describe over the limit: %v, want ThrottlingException", err)
	}
	if _, err := c.ListPhoneNumbersV2(context.Background(), &connect.ListPhoneNumbersV2Input{}); err != nil {
		t.Errorf("list has its own quota, but: %v", err)
	}
	if got := srv.Throttled(); got != 1 {
		t.Errorf("Throttled() = %d, want 1", got)
	}
	if got := srv.TotalDescribes(); got != 3 {
		t.Errorf("TotalDescribes() = %d, want 3 (throttled requests count)", got)
	}

	srv.SetRateLimit(0, 0)
	if _, err := describe(t, c, id(1)); err != nil {
		t.Errorf("after removing the limit: %v", err)
	}
	srv.ResetCounters()
	if srv.Throttled() != 0 || srv.TotalDescribes() != 0 || srv.Describes(id(1)) != 0 || srv.Lists() != 0 {
		t.Error("ResetCounters left a count")
	}
}

func TestLatencyDelaysAnswers(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv)
	srv.Put(connecttest.NewSummary(id(1), e164(1), "", "CLAIMED", ""))
	srv.SetLatency(time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.DescribePhoneNumber(ctx, &connect.DescribePhoneNumberInput{PhoneNumberId: aws.String(id(1))})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the client's deadline to pass while the server waits", err)
	}
	srv.SetLatency(0)
	if _, err := describe(t, c, id(1)); err != nil {
		t.Errorf("after SetLatency(0): %v", err)
	}
}

func TestRejectsUnsignedAndUnknownRequests(t *testing.T) {
	srv := newServer(t)
	testCases := []struct {
		name, method, path, auth string
		wantStatus               int
		wantType                 string
	}{
		{"unsigned describe", "GET", "/phone-number/x", "", 403, "MissingAuthenticationTokenException"},
		{"signed for another service", "GET", "/phone-number/x", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sns/aws4_request", 403, "MissingAuthenticationTokenException"},
		{"unknown operation", "GET", "/instance", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/connect/aws4_request", 404, "UnknownOperationException"},
	}
	for _, tc := range testCases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || resp.Header.Get("x-amzn-ErrorType") != tc.wantType {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), tc.wantStatus, tc.wantType)
			}
		})
	}
}

// TestEndpointFromEnvironment is how a child process reaches the server: the SDK's standard
// AWS_ENDPOINT_URL_CONNECT, no code of this package.
func TestEndpointFromEnvironment(t *testing.T) {
	srv := newServer(t)
	srv.Put(connecttest.NewSummary(id(1), e164(1), "", "IN_PROGRESS", ""))
	t.Setenv("AWS_ENDPOINT_URL_CONNECT", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_REGION", "eu-west-2")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out, err := connect.NewFromConfig(cfg).DescribePhoneNumber(context.Background(),
		&connect.DescribePhoneNumberInput{PhoneNumberId: aws.String(id(1))})
	if err != nil {
		t.Fatal(err)
	}
	if out.ClaimedPhoneNumberSummary.PhoneNumberStatus.Status != types.PhoneNumberWorkflowStatusInProgress {
		t.Errorf("got %+v", out.ClaimedPhoneNumberSummary.PhoneNumberStatus)
	}
}

// TestConcurrentUse changes numbers while many clients read them; run with -race.
func TestConcurrentUse(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv)
	for i := range 20 {
		srv.Put(connecttest.NewSummary(id(i), e164(i), instanceA, "CLAIMED", ""))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				if g%2 == 0 {
					srv.SetStatus(id(i), "FAILED", fmt.Sprintf("by %d", g))
				}
				if _, err := describe(t, c, id(i)); err != nil {
					errs <- err
				}
				if _, err := c.ListPhoneNumbersV2(context.Background(), &connect.ListPhoneNumbersV2Input{MaxResults: aws.Int32(7)}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := srv.TotalDescribes(); got != 160 {
		t.Errorf("TotalDescribes() = %d, want 160", got)
	}
	if got := srv.Lists(); got != 160 {
		t.Errorf("Lists() = %d, want 160", got)
	}
}
