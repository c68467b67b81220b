package faultproxy_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/phonewatch/phonewatch/internal/faultproxy"
	"github.com/phonewatch/phonewatch/internal/testenv"
)

// backend is a stand-in server that counts what reaches it and answers 200 "real".
func backend(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		_, _ = io.WriteString(w, "real")
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// answer is what a client got back: status, headers and body.
type answer struct {
	StatusCode int
	Header     http.Header
}

func post(t *testing.T, ctx context.Context, url, target string) (answer, string, error) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", target)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header}, string(body), nil
}

// Faults go to the operation they were queued for, in order, then requests pass through; the
// fault is DynamoDB's wire shape: status, x-amzn-ErrorType, __type and message, CRC32.
func TestInjectsThenPassesThrough(t *testing.T) {
	srv, reached := backend(t)
	p := faultproxy.New(t, srv.URL)
	p.Inject("Scan", 1, faultproxy.DynamoThrottling)
	p.Inject("Scan", 1, faultproxy.DynamoInternal)

	testCases := []struct {
		target   string
		wantCode int
		wantType string
	}{
		{"DynamoDB_20120810.GetItem", 200, ""},
		{"DynamoDB_20120810.Scan", 400, faultproxy.DynamoThrottling.Type},
		{"DynamoDB_20120810.Scan", 500, faultproxy.DynamoInternal.Type},
		{"DynamoDB_20120810.Scan", 200, ""},
	}
	for i, tc := range testCases {
		resp, body, err := post(t, t.Context(), p.URL, tc.target)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if resp.StatusCode != tc.wantCode {
			t.Errorf("request %d (%s): status %d, want %d", i, tc.target, resp.StatusCode, tc.wantCode)
		}
		if tc.wantType == "" {
			if body != "real" {
				t.Errorf("request %d: body %q, want the backend's", i, body)
			}
			continue
		}
		if got := resp.Header.Get("X-Amzn-ErrorType"); got != tc.wantType {
			t.Errorf("request %d: x-amzn-ErrorType %q, want %q", i, got, tc.wantType)
		}
		if !strings.Contains(body, `"__type":"`+tc.wantType+`"`) || !strings.Contains(body, `"message":`) {
			t.Errorf("request %d: body %s lacks __type and message", i, body)
		}
		if resp.Header.Get("X-Amz-Crc32") == "" {
			t.Errorf("request %d: no X-Amz-Crc32", i)
		}
	}
	if got := reached.Load(); got != 2 {
		t.Errorf("backend saw %d requests, want 2 (the faulted ones never reach it)", got)
	}
	if p.Calls("Scan") != 3 || p.Calls("") != 4 || p.Injected() != 2 || p.Pending() != 0 {
		t.Errorf("Calls(Scan)=%d Calls()=%d Injected=%d Pending=%d, want 3, 4, 2, 0",
			p.Calls("Scan"), p.Calls(""), p.Injected(), p.Pending())
	}
}

// A lost response: the backend applies the request, the client sees only the fault.
func TestAfterForwardLosesTheResponse(t *testing.T) {
	srv, reached := backend(t)
	p := faultproxy.New(t, srv.URL)
	lost := faultproxy.DynamoInternal
	lost.AfterForward = true
	p.Inject("", 1, lost)

	resp, body, err := post(t, t.Context(), p.URL, "DynamoDB_20120810.TransactWriteItems")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 500 || body == "real" {
		t.Errorf("client got %d %q, want the 500 fault", resp.StatusCode, body)
	}
	if reached.Load() != 1 {
		t.Errorf("backend saw %d requests, want 1: the request must be applied", reached.Load())
	}
}

// A reset after forwarding: the backend applies the request, the client gets no answer at all
// (a transport error, no status).
func TestResetAfterForward(t *testing.T) {
	srv, reached := backend(t)
	p := faultproxy.New(t, srv.URL)
	p.Inject("", 1, faultproxy.Fault{AfterForward: true, Reset: true})

	if resp, body, err := post(t, t.Context(), p.URL, "DynamoDB_20120810.TransactWriteItems"); err == nil {
		t.Errorf("client got %d %q, want no answer", resp.StatusCode, body)
	}
	if reached.Load() != 1 {
		t.Errorf("backend saw %d requests, want 1: the request must be applied", reached.Load())
	}
	if _, body, err := post(t, t.Context(), p.URL, "DynamoDB_20120810.Scan"); err != nil || body != "real" {
		t.Errorf("the next request got %q, %v; want it passed through", body, err)
	}
}

// A delayed fault is a hung server: the client's own deadline ends the wait, and the request
// never reaches the backend.
func TestDelayEndsWhenTheClientGivesUp(t *testing.T) {
	srv, reached := backend(t)
	p := faultproxy.New(t, srv.URL)
	hang := faultproxy.DynamoInternal
	hang.Delay = time.Hour
	p.Inject("Query", 1, hang)

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, _, err := post(t, ctx, p.URL, "DynamoDB_20120810.Query")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the client's deadline", err)
	}
	if reached.Load() != 0 {
		t.Errorf("backend saw %d requests, want 0", reached.Load())
	}
}

// The real DynamoDB client in front of moto_server reads the faults as DynamoDB's own errors,
// and its retryer retries them until the real answer comes through.
func TestDynamoDBClientSeesDynamoDBErrors(t *testing.T) {
	moto := testenv.MotoURL(t)
	p := faultproxy.New(t, moto)
	client := func(attempts int) *dynamodb.Client {
		return dynamodb.New(dynamodb.Options{
			Region:           "us-east-1",
			Credentials:      credentials.NewStaticCredentialsProvider("testing", "testing", ""),
			BaseEndpoint:     aws.String(p.URL),
			RetryMaxAttempts: attempts,
		})
	}

	p.Inject("ListTables", 1, faultproxy.DynamoThrottling)
	_, err := client(1).ListTables(t.Context(), &dynamodb.ListTablesInput{})
	var throttled *types.ThrottlingException
	if !errors.As(err, &throttled) {
		t.Errorf("throttling fault: err = %v, want *types.ThrottlingException", err)
	}

	p.Inject("ListTables", 1, faultproxy.DynamoInternal)
	_, err = client(1).ListTables(t.Context(), &dynamodb.ListTablesInput{})
	var internal *types.InternalServerError
	if !errors.As(err, &internal) {
		t.Errorf("5xx fault: err = %v, want *types.InternalServerError", err)
	}

	p.Inject("ListTables", 1, faultproxy.DynamoThrottling)
	p.Inject("ListTables", 1, faultproxy.DynamoInternal)
	before := p.Calls("ListTables")
	if _, err := client(3).ListTables(t.Context(), &dynamodb.ListTablesInput{}); err != nil {
		t.Errorf("with 3 attempts over 2 faults: %v", err)
	}
	if got := p.Calls("ListTables") - before; got != 3 {
		t.Errorf("%d attempts, want 3 (two faults, then moto's answer)", got)
	}
}

// Serialized, the proxy forwards one request at a time: a backend that holds the first
// request until a second one comes in never sees one. Unserialized, it does.
func TestSerialize(t *testing.T) {
	for _, serial := range []bool{false, true} {
		var mu sync.Mutex
		inside, most := 0, 0
		both := make(chan struct{})
		var once sync.Once
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			inside++
			most = max(most, inside)
			if inside == 2 {
				once.Do(func() { close(both) })
			}
			mu.Unlock()
			select {
			case <-both:
			case <-time.After(200 * time.Millisecond):
			}
			mu.Lock()
			inside--
			mu.Unlock()
		}))
		p := faultproxy.New(t, srv.URL)
		if serial {
			p.Serialize()
		}
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				if resp, _, err := post(t, t.Context(), p.URL, "DynamoDB_20120810.TransactWriteItems"); err != nil || resp.StatusCode != 200 {
					t.Errorf("request: %v", err)
				}
			})
		}
		wg.Wait()
		srv.Close()
		if want := map[bool]int{false: 2, true: 1}[serial]; most != want {
			t.Errorf("serialized %v: %d requests at once at the backend, want %d", serial, most, want)
		}
	}
}

// Clear drops the faults still queued.
func TestClear(t *testing.T) {
	srv, reached := backend(t)
	p := faultproxy.New(t, srv.URL)
	p.Inject("", 3, faultproxy.DynamoInternal)
	p.Clear()
	if resp, _, err := post(t, t.Context(), p.URL, "DynamoDB_20120810.Scan"); err != nil || resp.StatusCode != 200 || reached.Load() != 1 {
		t.Errorf("after Clear: %v %v, backend reached %d times", resp, err, reached.Load())
	}
	if p.Pending() != 0 || p.Injected() != 0 {
		t.Errorf("Pending %d, Injected %d after Clear, want 0, 0", p.Pending(), p.Injected())
	}
}

// The real SNS client (query protocol: a form body with Action, XML errors) in front of
// moto_server: faults are matched by Action and read as SNS's own modeled errors, and a request
// that passes through reaches moto whole, its form intact.
func TestSNSClientSeesSNSErrors(t *testing.T) {
	moto := testenv.MotoURL(t)
	p := faultproxy.New(t, moto)
	client := sns.New(sns.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint:     aws.String(p.URL),
		RetryMaxAttempts: 1,
	})
	name := "faultproxy-" + strconv.FormatInt(time.Now().UnixNano(), 36)

	p.Inject("CreateTopic", 1, faultproxy.SNSThrottled)
	_, err := client.CreateTopic(t.Context(), &sns.CreateTopicInput{Name: aws.String(name)})
	var throttled *snstypes.ThrottledException
	if !errors.As(err, &throttled) {
		t.Errorf("throttling fault: err = %v, want *types.ThrottledException", err)
	}

	lost := faultproxy.SNSInternal
	lost.AfterForward = true
	p.Inject("CreateTopic", 1, lost)
	_, err = client.CreateTopic(t.Context(), &sns.CreateTopicInput{Name: aws.String(name)})
	var internal *snstypes.InternalErrorException
	if !errors.As(err, &internal) {
		t.Errorf("5xx fault: err = %v, want *types.InternalErrorException", err)
	}
	// The lost answer's request was applied: moto has the topic, its name from the form body.
	topics, err := client.ListTopics(t.Context(), &sns.ListTopicsInput{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, tp := range topics.Topics {
		found = found || strings.HasSuffix(aws.ToString(tp.TopicArn), ":"+name)
	}
	if !found {
		t.Errorf("topic %s not created: the forwarded request lost its body", name)
	}
	if p.Calls("CreateTopic") != 2 || p.Calls("ListTopics") != 1 || p.Injected() != 2 {
		t.Errorf("Calls(CreateTopic)=%d Calls(ListTopics)=%d Injected=%d, want 2, 1, 2",
			p.Calls("CreateTopic"), p.Calls("ListTopics"), p.Injected())
	}
}

// Operation reads a query request's Action and leaves its body for whoever reads it next.
func TestOperationOfQueryRequest(t *testing.T) {
	const form = "Action=PublishBatch&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3At&Version=2010-03-31"
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if got := faultproxy.Operation(r); got != "PublishBatch" {
		t.Errorf("Operation = %q, want PublishBatch", got)
	}
	if body, _ := io.ReadAll(r.Body); string(body) != form {
		t.Errorf("body after Operation = %q, want it unchanged", body)
	}
	g := httptest.NewRequest(http.MethodGet, "/?Action=PublishBatch", nil)
	if got := faultproxy.Operation(g); got != "" {
		t.Errorf("Operation of a GET = %q, want none", got)
	}
}
