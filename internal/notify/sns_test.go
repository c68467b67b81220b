package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/phonewatch/phonewatch/internal/faultproxy"
	"github.com/phonewatch/phonewatch/internal/status"
	"github.com/phonewatch/phonewatch/internal/testenv"
)

// motoEnv is the real SDK clients pointed at moto_server, plus a record of every PublishBatch
// call the SNS client made (its entries and their aggregate size), seen from the client's own
// middleware stack.
type motoEnv struct {
	sns *sns.Client
	sqs *sqs.Client

	mu       sync.Mutex
	calls    []batchCall
	messages []string // every entry's Message as the client sent it, in order
}

type batchCall struct{ entries, bytes int }

func newMoto(t *testing.T) *motoEnv {
	t.Helper()
	url := testenv.MotoURL(t)
	return newMotoVia(t, url, url)
}

// newMotoVia is newMoto with the SNS client's requests sent to snsURL (a faultproxy in front
// of moto, say) and the SQS client's to url.
func newMotoVia(t *testing.T, url, snsURL string) *motoEnv {
	t.Helper()
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", ""),
	}
	env := &motoEnv{}
	record := middleware.InitializeMiddlewareFunc("recordPublishBatch",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
			middleware.InitializeOutput, middleware.Metadata, error) {
			if p, ok := in.Parameters.(*sns.PublishBatchInput); ok && awsmiddleware.GetOperationName(ctx) == "PublishBatch" {
				c := batchCall{entries: len(p.PublishBatchRequestEntries)}
				env.mu.Lock()
				for _, e := range p.PublishBatchRequestEntries {
					c.bytes += len(aws.ToString(e.Message)) + len(aws.ToString(e.Subject))
					env.messages = append(env.messages, aws.ToString(e.Message))
				}
				env.calls = append(env.calls, c)
				env.mu.Unlock()
			}
			return next.HandleInitialize(ctx, in)
		})
	env.sns = sns.NewFromConfig(cfg, func(o *sns.Options) {
		o.BaseEndpoint = aws.String(snsURL)
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(record, middleware.After)
		})
	})
	env.sqs = sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(url) })
	return env
}

func (e *motoEnv) batchCalls() []batchCall {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]batchCall(nil), e.calls...)
}

// unique returns a resource name no other test uses.
func unique(t *testing.T, prefix string) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + "-" + hex.EncodeToString(b)
}

func (e *motoEnv) topic(t *testing.T) string {
	t.Helper()
	out, err := e.sns.CreateTopic(t.Context(), &sns.CreateTopicInput{Name: aws.String(unique(t, "pw-topic"))})
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}
	return aws.ToString(out.TopicArn)
}

// queue creates an SQS queue subscribed to topic with the SNS envelope (RawMessageDelivery
// false) and, when filter is not empty, that filter policy on the message attributes.
func (e *motoEnv) queue(t *testing.T, topic, filter string) string {
	t.Helper()
	ctx := t.Context()
	q, err := e.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(unique(t, "pw-queue"))})
	if err != nil {
		t.Fatalf("create queue: %v", err)
	}
	a, err := e.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatalf("queue attributes: %v", err)
	}
	attrs := map[string]string{"RawMessageDelivery": "false"}
	if filter != "" {
		attrs["FilterPolicy"] = filter
	}
	if _, err := e.sns.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: aws.String(topic), Protocol: aws.String("sqs"),
		Endpoint: aws.String(a.Attributes["QueueArn"]), Attributes: attrs,
	}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	return aws.ToString(q.QueueUrl)
}

// envelope is the SNS notification JSON that SQS receives when delivery is not raw.
type envelope struct {
	Type              string
	MessageId         string //nolint:revive // the SNS envelope's own spelling
	TopicArn          string
	Subject           string
	Message           string
	MessageAttributes map[string]struct{ Type, Value string }
}

// drain reads every message in the queue. moto delivers from SNS to SQS while handling the
// publish, so after Publish returns everything is already there.
func (e *motoEnv) drain(t *testing.T, queueURL string) []envelope {
	t.Helper()
	var out []envelope
	for {
		r, err := e.sqs.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, VisibilityTimeout: 600,
		})
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		if len(r.Messages) == 0 {
			return out
		}
		for _, m := range r.Messages {
			var env envelope
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &env); err != nil {
				t.Fatalf("SQS body is not an SNS envelope: %v\n%s", err, aws.ToString(m.Body))
			}
			out = append(out, env)
		}
	}
}

// twelve are twelve notifications of different numbers: every golden case, then more, one with
// no country code or type and one with a hostile message.
func twelve() []status.Notification {
	var ns []status.Notification
	for i := range 12 {
		n := goldenCases[i%len(goldenCases)].n
		n.Number.ID = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		n.ID = fmt.Sprintf("%s-%d", n.Event, i)
		switch i {
		case 9:
			n.Number.CountryCode, n.Number.Type = "", ""
		case 10:
			n.StatusMessage = "Ünïcode\a <!channel> *x*\r\nline two"
		}
		ns = append(ns, n)
	}
	return ns
}

// TestSNSPublishDelivers publishes twelve notifications through moto and reads them back from
// two queues: one subscribed to everything, one with a filter policy on the event attribute.
func TestSNSPublishDelivers(t *testing.T) {
	env := newMoto(t)
	topic := env.topic(t)
	all := env.queue(t, topic, "")
	slack := env.queue(t, topic, `{"event":["FAILED","EXPIRED"]}`)
	ns := twelve()

	errs := NewSNS(env.sns, topic).Publish(t.Context(), ns)
	if len(errs) != len(ns) {
		t.Fatalf("%d errors for %d notifications", len(errs), len(ns))
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("notification %d: %v", i, err)
		}
	}
	if calls := env.batchCalls(); len(calls) != 2 || calls[0].entries != 10 || calls[1].entries != 2 {
		t.Errorf("PublishBatch calls %+v, want two: 10 entries then 2", calls)
	}

	byID := map[string]status.Notification{}
	for _, n := range ns {
		byID[n.Number.ID] = n
	}
	got := env.drain(t, all)
	if len(got) != len(ns) {
		t.Fatalf("queue got %d messages, want %d", len(got), len(ns))
	}
	seen := map[string]bool{}
	for _, e := range got {
		var m MachineMessage
		if err := json.Unmarshal([]byte(e.Message), &m); err != nil {
			t.Fatalf("Message is not the machine JSON (the sqs key): %v\n%s", err, e.Message)
		}
		n, ok := byID[m.PhoneNumberID]
		if !ok || seen[m.PhoneNumberID] {
			t.Fatalf("unexpected or repeated phoneNumberId %q", m.PhoneNumberID)
		}
		seen[m.PhoneNumberID] = true
		if e.Type != "Notification" || e.TopicArn != topic {
			t.Errorf("envelope Type/TopicArn = %q/%q", e.Type, e.TopicArn)
		}
		if e.Subject != Subject(n) {
			t.Errorf("Subject = %q, want %q", e.Subject, Subject(n))
		}
		if m.SchemaVersion != "1" || m.Event != string(n.Event) || m.Status != string(n.Status) ||
			m.StatusMessage != n.StatusMessage || m.PhoneNumber != n.Number.E164 ||
			m.ObservedAt != n.ObservedAt.UTC().Format("2006-01-02T15:04:05Z") {
			t.Errorf("machine JSON %+v does not match notification %+v", m, n)
		}
		wantAttrs := map[string]string{"event": string(n.Event), "status": string(n.Status),
			"countryCode": n.Number.CountryCode, "numberType": n.Number.Type, "notificationId": n.ID}
		for k, v := range wantAttrs {
			a, ok := e.MessageAttributes[k]
			switch {
			case v == "" && ok:
				t.Errorf("%s: empty attribute %s sent as %+v", m.PhoneNumberID, k, a)
			case v != "" && (a.Type != "String" || a.Value != v):
				t.Errorf("%s: attribute %s = %+v, want String %q", m.PhoneNumberID, k, a, v)
			}
		}
	}

	filtered := env.drain(t, slack)
	want := map[string]bool{}
	for _, n := range ns {
		if n.Event == status.EventFailed || n.Event == status.EventExpired {
			want[n.Number.ID] = true
		}
	}
	if len(filtered) != len(want) {
		t.Errorf("filtered queue got %d messages, want %d (FAILED and EXPIRED only)", len(filtered), len(want))
	}
	for _, e := range filtered {
		var m MachineMessage
		if err := json.Unmarshal([]byte(e.Message), &m); err != nil {
			t.Fatal(err)
		}
		if !want[m.PhoneNumberID] || (m.Event != "FAILED" && m.Event != "EXPIRED") {
			t.Errorf("filtered queue got %s for %s", m.Event, m.PhoneNumberID)
		}
	}
}

// TestSNSPublishMissingTopic: when the whole call fails, every notification has the error.
func TestSNSPublishMissingTopic(t *testing.T) {
	env := newMoto(t)
	missing := "arn:aws:sns:us-east-1:123456789012:" + unique(t, "pw-missing")
	ns := twelve()[:3]
	errs := NewSNS(env.sns, missing).Publish(t.Context(), ns)
	if len(errs) != len(ns) {
		t.Fatalf("%d errors for %d notifications", len(errs), len(ns))
	}
	for i, err := range errs {
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != "NotFound" || !strings.Contains(err.Error(), missing) {
			t.Errorf("notification %d: error %v, want SNS NotFound naming the topic", i, err)
		}
	}
}

// TestSNSPublishBatchLimits: the entries are packed into calls that stay within 10 entries
// and 256 KiB, an oversized field (300 KiB of status message) included: it is capped, and sent.
func TestSNSPublishBatchLimits(t *testing.T) {
	env := newMoto(t)
	topic := env.topic(t)
	q := env.queue(t, topic, "")
	ns := twelve()
	for i := range ns {
		ns[i].StatusMessage = strings.Repeat("m", 2048)
	}
	ns[3].StatusMessage = strings.Repeat("x", 300*1024)

	for i, err := range NewSNS(env.sns, topic).Publish(t.Context(), ns) {
		if err != nil {
			t.Errorf("notification %d: error %v", i, err)
		}
	}
	calls := env.batchCalls()
	sent := 0
	for _, c := range calls {
		if c.entries > maxBatchEntries || c.bytes > maxBatchBytes {
			t.Errorf("call %+v exceeds SNS limits", c)
		}
		sent += c.entries
	}
	if sent != 12 || len(calls) < 2 {
		t.Errorf("calls %+v: want the 12 entries spread over several calls", calls)
	}
	if got := env.drain(t, q); len(got) != 12 {
		t.Errorf("queue got %d messages, want 12", len(got))
	}
}

// hostile fills every string field of n, nested ones included, with s (maps get one entry).
func hostile(n status.Notification, s string) status.Notification {
	fill(reflect.ValueOf(&n).Elem(), s)
	return n
}

func fill(v reflect.Value, s string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				fill(f, s)
			}
		}
	case reflect.Pointer:
		if v.Type().Elem().Kind() == reflect.Struct {
			c := reflect.New(v.Type().Elem())
			fill(c.Elem(), s)
			v.Set(c)
		}
	case reflect.Slice:
		c := reflect.MakeSlice(v.Type(), 3, 3)
		for i := range 3 {
			fill(c.Index(i), s)
		}
		v.Set(c)
	case reflect.Map:
		if v.Type().Key().Kind() == reflect.String {
			c := reflect.MakeMap(v.Type())
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, s)
			c.SetMapIndex(reflect.ValueOf(s).Convert(v.Type().Key()), e)
			v.Set(c)
		}
	}
}

// TestLargestMessage (issue 18.4): whatever Connect and CloudTrail send, every notification
// fits maxEntryBytes (half of SNS's 256 KiB): each golden case with every string field it
// could carry (the description, ARNs, IDs, the caller, Connect's message) 100,000 characters
// of the worst kinds for escaping (control characters, emoji, markdown and HTML), in UTC and
// local time. Realistic sizes stay whole: a 2,048-character caller ARN is not cut. It prints
// the largest entry, the figure the README states.
func TestLargestMessage(t *testing.T) {
	kinds := map[string]string{
		"control": strings.Repeat("\x00\x01\u2028", 34000),
		"emoji":   strings.Repeat("😀", 100000),
		"markup":  strings.Repeat("*_`<>&|\"", 12500),
	}
	largest := 0
	for _, gc := range goldenCases {
		for kind, s := range kinds {
			n := hostile(gc.n, s)
			n.Event, n.Status, n.Basis, n.Failure = gc.n.Event, gc.n.Status, gc.n.Basis, gc.n.Failure
			if n.Operation != nil {
				n.Operation.Name = status.OpUpdate
			}
			e, err := newEntry(Renderer{Location: gc.loc}, 0, n)
			if err != nil {
				t.Errorf("%s, %s: %v", gc.name, kind, err)
				continue
			}
			if e.size > maxEntryBytes {
				t.Errorf("%s, %s: %d bytes, more than %d", gc.name, kind, e.size, maxEntryBytes)
			}
			largest = max(largest, e.size)
		}
	}
	t.Logf("largest entry: %d bytes (%.1f KiB) of %d allowed", largest, float64(largest)/1024, maxEntryBytes)

	n := goldenCases[2].n // failed-operation
	op := *n.Operation
	op.By = "arn:aws:sts::123456789012:assumed-role/" + strings.Repeat("r", 2000)
	n.Operation = &op
	e, err := newEntry(Renderer{}, 0, n)
	if err != nil || !strings.Contains(aws.ToString(e.req.Message), op.By) {
		t.Errorf("a 2,048-character caller ARN was cut or failed (%v)", err)
	}
	if n.Operation.By != op.By {
		t.Error("capping changed the caller's notification")
	}
}

// TestSNSPublishHugeFields (issue 18.4): a number with a 100,000-character description whose
// failing call came from a 32 KiB caller ARN is announced through SNS (before issue 18 its
// notifications were too large for SNS in every run, for ever); the subscriber gets the
// capped fields, marked with an ellipsis.
func TestSNSPublishHugeFields(t *testing.T) {
	env := newMoto(t)
	topic := env.topic(t)
	q := env.queue(t, topic, "")
	n := goldenCases[2].n // failed-operation
	n.Number.Description = strings.Repeat("d", 100000)
	op := *n.Operation
	op.By = "arn:aws:sts::123456789012:assumed-role/" + strings.Repeat("r", 32*1024)
	n.Operation = &op

	if errs := NewSNS(env.sns, topic).Publish(t.Context(), []status.Notification{n}); errs[0] != nil {
		t.Fatalf("publish: %v", errs[0])
	}
	got := env.drain(t, q)
	if len(got) != 1 {
		t.Fatalf("queue got %d messages, want 1", len(got))
	}
	var m MachineMessage
	if err := json.Unmarshal([]byte(got[0].Message), &m); err != nil {
		t.Fatalf("machine JSON: %v", err)
	}
	if m.Operation == nil || len([]rune(m.Operation.By)) != fieldCaps[0] || !strings.HasSuffix(m.Operation.By, "…") {
		t.Errorf("caller ARN of %d characters, want it capped at %d with an ellipsis", len(m.Operation.By), fieldCaps[0])
	}
	if calls := env.batchCalls(); len(calls) != 1 || calls[0].bytes > maxEntryBytes {
		t.Errorf("calls %+v, want one within %d bytes", calls, maxEntryBytes)
	}
}

// TestSNSPublishCanceled: a caller's context that is done fails every notification with it.
func TestSNSPublishCanceled(t *testing.T) {
	env := newMoto(t)
	topic := env.topic(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	errs := NewSNS(env.sns, topic).Publish(ctx, twelve())
	for i, err := range errs {
		if !errors.Is(err, context.Canceled) || errors.Is(err, status.ErrUnconfirmed) {
			t.Errorf("notification %d: %v, want context.Canceled, not unconfirmed (nothing was sent)", i, err)
		}
	}
	if errs := NewSNS(env.sns, topic).Publish(t.Context(), nil); len(errs) != 0 {
		t.Errorf("no notifications gave errors %v", errs)
	}
}

// TestRecord maps PublishBatch answers back to notifications by entry Id: moto does not answer
// with a Failed entry for anything the publisher sends, so this holds the mapping on its own.
func TestRecord(t *testing.T) {
	ns := twelve()
	var batch []entry
	for _, i := range []int{5, 6, 7, 8} { // indices in the caller's slice, not positions in the batch
		e, err := newEntry(Renderer{}, i, ns[i])
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, e)
	}
	out := &sns.PublishBatchOutput{
		Successful: []snstypes.PublishBatchResultEntry{{Id: aws.String("8")}, {Id: aws.String("5")}, {Id: aws.String("99")}},
		Failed: []snstypes.BatchResultErrorEntry{{Id: aws.String("6"), Code: aws.String("InvalidParameter"),
			Message: aws.String("Invalid parameter: Message"), SenderFault: true}},
	}
	errs := make([]error, len(ns))
	for i := range errs {
		errs[i] = errors.New("untouched")
	}
	record(batch, out, errs)

	if errs[5] != nil || errs[8] != nil {
		t.Errorf("successful entries have errors: %v, %v", errs[5], errs[8])
	}
	var rej *RejectedError
	if !errors.As(errs[6], &rej) || rej.Code != "InvalidParameter" || !rej.SenderFault {
		t.Errorf("failed entry: %v, want RejectedError InvalidParameter", errs[6])
	}
	if errs[7] == nil || !strings.Contains(errs[7].Error(), "no result") {
		t.Errorf("unanswered entry: %v, want an error", errs[7])
	}
	if errs[4] == nil || errs[4].Error() != "untouched" {
		t.Errorf("entry outside the batch changed: %v", errs[4])
	}
}

// proxied is a moto environment whose SNS client goes through a faultproxy.
func proxied(t *testing.T) (*motoEnv, *faultproxy.Proxy) {
	t.Helper()
	url := testenv.MotoURL(t)
	p := faultproxy.New(t, url)
	return newMotoVia(t, url, p.URL), p
}

// countByID reads the queue and counts the messages of each notificationId attribute.
func countByID(t *testing.T, env *motoEnv, queue string) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, e := range env.drain(t, queue) {
		got[e.MessageAttributes["notificationId"].Value]++
	}
	return got
}

// TestSNSPublishLostAnswerIsUnconfirmed: SNS accepts the batch and the connection drops before
// its answer. The SDK would retry and deliver every entry twice; the publisher does not retry,
// and reports each entry as unconfirmed. The queue receives each notification exactly once.
func TestSNSPublishLostAnswerIsUnconfirmed(t *testing.T) {
	env, proxy := proxied(t)
	topic := env.topic(t)
	q := env.queue(t, topic, "")
	proxy.Inject("PublishBatch", 1, faultproxy.Fault{AfterForward: true, Reset: true})
	ns := twelve()[:3]

	errs := NewSNS(env.sns, topic).Publish(t.Context(), ns)
	for i, err := range errs {
		if !errors.Is(err, status.ErrUnconfirmed) {
			t.Errorf("notification %d: %v, want ErrUnconfirmed", i, err)
		}
	}
	if got := proxy.Calls("PublishBatch"); got != 1 {
		t.Errorf("%d PublishBatch calls, want 1: a batch that may have been accepted is never retried", got)
	}
	got := countByID(t, env, q)
	for _, n := range ns {
		if got[n.ID] != 1 {
			t.Errorf("notification %s delivered %d times, want exactly once", n.ID, got[n.ID])
		}
	}
}

// TestSNSPublishErrorAnswerIsRefused (issue 18): SNS's own error answer, a 5xx with an error
// code (500 InternalError, 503 ServiceUnavailable), means it accepted nothing (DESIGN.md,
// Delivery): the call is retried like throttling, and when every attempt gets one, each entry's
// error is plain, never unconfirmed, so the next run sends it again. Before issue 18 a 5xx read
// as unconfirmed and its repeat was marked sent whatever SNS answered.
func TestSNSPublishErrorAnswerIsRefused(t *testing.T) {
	unavailable := faultproxy.Fault{Status: 503, Type: "ServiceUnavailable", Message: "Service is unavailable"}
	for _, f := range []faultproxy.Fault{faultproxy.SNSInternal, unavailable} {
		t.Run(f.Type, func(t *testing.T) {
			env, proxy := proxied(t)
			topic := env.topic(t)
			q := env.queue(t, topic, "")
			ns := twelve()[:2]

			proxy.Inject("PublishBatch", 1, f)
			for i, err := range NewSNS(env.sns, topic).Publish(t.Context(), ns) {
				if err != nil {
					t.Errorf("one %d answer, then SNS back: notification %d: %v, want delivered by the retry", f.Status, i, err)
				}
			}
			if got := proxy.Calls("PublishBatch"); got != 2 {
				t.Errorf("%d PublishBatch calls, want 2: the refused one, then its retry", got)
			}

			proxy.Inject("PublishBatch", 100, f)
			for i, err := range NewSNS(env.sns, topic).Publish(t.Context(), ns) {
				if err == nil || errors.Is(err, status.ErrUnconfirmed) || !strings.Contains(err.Error(), f.Type) {
					t.Errorf("every attempt answered %d: notification %d: %v, want a plain error naming %s", f.Status, i, err, f.Type)
				}
			}
			for id, c := range countByID(t, env, q) {
				if c != 1 {
					t.Errorf("notification %s delivered %d times, want once (by the first call's retry)", id, c)
				}
			}
		})
	}
}

// TestSNSPublishForeignErrorIsUnconfirmed: a 502 whose body is not SNS's error (a proxy or load
// balancer in between answered) says nothing of whether SNS took the request: unconfirmed.
func TestSNSPublishForeignErrorIsUnconfirmed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
	}))
	defer srv.Close()
	var calls atomic.Int64
	client := sns.New(sns.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(srv.URL),
		Retryer:      retry.NewStandard(),
		APIOptions: []func(*middleware.Stack) error{func(s *middleware.Stack) error {
			return s.Finalize.Add(middleware.FinalizeMiddlewareFunc("count",
				func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
					calls.Add(1)
					return next.HandleFinalize(ctx, in)
				}), middleware.After)
		}},
	})
	for i, err := range NewSNS(client, "arn:aws:sns:us-east-1:123456789012:t").Publish(t.Context(), twelve()[:2]) {
		if !errors.Is(err, status.ErrUnconfirmed) {
			t.Errorf("notification %d: %v, want ErrUnconfirmed", i, err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d attempts, want 1: an attempt that may have been accepted is never retried", n)
	}
}

// TestSNSPublishLateAnswerIsUnconfirmed: the answer comes after the caller's deadline, once the
// request was sent. The topic may have it: unconfirmed, and never delivered twice.
func TestSNSPublishLateAnswerIsUnconfirmed(t *testing.T) {
	env, proxy := proxied(t)
	topic := env.topic(t)
	q := env.queue(t, topic, "")
	late := faultproxy.SNSInternal
	late.AfterForward, late.Delay = true, time.Hour
	proxy.Inject("PublishBatch", 1, late)
	ns := twelve()[:2]

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	errs := NewSNS(env.sns, topic).Publish(ctx, ns)
	for i, err := range errs {
		if !errors.Is(err, status.ErrUnconfirmed) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("notification %d: %v, want ErrUnconfirmed and the deadline", i, err)
		}
	}
	if got := proxy.Calls("PublishBatch"); got != 1 {
		t.Errorf("%d PublishBatch calls, want 1", got)
	}
	for id, c := range countByID(t, env, q) {
		if c > 1 {
			t.Errorf("notification %s delivered %d times, want at most once", id, c)
		}
	}
}

// TestSNSPublishThrottlingRetried: SNS's throttling (ThrottledException, 429) proves nothing
// was accepted, so the call is retried, and each notification is delivered once.
func TestSNSPublishThrottlingRetried(t *testing.T) {
	env, proxy := proxied(t)
	topic := env.topic(t)
	q := env.queue(t, topic, "")
	proxy.Inject("PublishBatch", 1, faultproxy.SNSThrottled)
	ns := twelve()[:3]

	for i, err := range NewSNS(env.sns, topic).Publish(t.Context(), ns) {
		if err != nil {
			t.Errorf("notification %d: %v", i, err)
		}
	}
	if got := proxy.Calls("PublishBatch"); got != 2 {
		t.Errorf("%d PublishBatch calls, want 2: the throttled one, then its retry", got)
	}
	got := countByID(t, env, q)
	for _, n := range ns {
		if got[n.ID] != 1 {
			t.Errorf("notification %s delivered %d times, want once", n.ID, got[n.ID])
		}
	}
}

// TestSNSPublishThrottledUntilTheDeadline: SNS refuses every attempt (throttled) until the
// context ends during a backoff. Nothing was accepted, so the error must not read as
// unconfirmed (the summary would count a copy that cannot exist).
func TestSNSPublishThrottledUntilTheDeadline(t *testing.T) {
	env, proxy := proxied(t)
	topic := env.topic(t)
	q := env.queue(t, topic, "")
	proxy.Inject("PublishBatch", 1000, faultproxy.SNSThrottled)
	// A backoff far longer than the deadline: the context surely ends while the retryer waits.
	client := sns.New(env.sns.Options(), func(o *sns.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 5
			so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Minute, nil })
		})
	})
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	for i, err := range NewSNS(client, topic).Publish(ctx, twelve()[:2]) {
		if err == nil || errors.Is(err, status.ErrUnconfirmed) {
			t.Errorf("notification %d: %v, want a plain error (every attempt was refused)", i, err)
		}
	}
	if proxy.Calls("PublishBatch") < 1 {
		t.Error("no PublishBatch reached the proxy")
	}
	if got := countByID(t, env, q); len(got) != 0 {
		t.Errorf("delivered %v, want nothing", got)
	}
}

// TestSNSPublishConnectionRefused: nothing listens at the endpoint, so nothing can have been
// accepted: the error is plain, never unconfirmed (the next run simply sends again).
func TestSNSPublishConnectionRefused(t *testing.T) {
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	client := sns.New(sns.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint:     aws.String(fmt.Sprintf("http://127.0.0.1:%d", port)),
		RetryMaxAttempts: 2,
	})
	for i, err := range NewSNS(client, "arn:aws:sns:us-east-1:123456789012:t").Publish(t.Context(), twelve()[:2]) {
		if err == nil || errors.Is(err, status.ErrUnconfirmed) {
			t.Errorf("notification %d: %v, want an error that is not unconfirmed", i, err)
		}
	}
}

// TestSNSPublishLogsMessageID: one log line per accepted notification, with the number, the
// event, the notificationId and the message ID that SNS gave it (the one subscribers see).
func TestSNSPublishLogsMessageID(t *testing.T) {
	env := newMoto(t)
	topic := env.topic(t)
	q := env.queue(t, topic, "")
	var buf bytes.Buffer
	p := NewSNS(env.sns, topic)
	p.Log = slog.New(slog.NewJSONHandler(&buf, nil))
	ns := twelve()[:3]
	for i, err := range p.Publish(t.Context(), ns) {
		if err != nil {
			t.Fatalf("notification %d: %v", i, err)
		}
	}
	messageIDs := map[string]string{} // notificationId -> SNS MessageId as delivered
	for _, e := range env.drain(t, q) {
		messageIDs[e.MessageAttributes["notificationId"].Value] = e.MessageId
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(ns) {
		t.Fatalf("%d log lines, want %d:\n%s", len(lines), len(ns), buf.String())
	}
	for i, line := range lines {
		var l struct{ Msg, PhoneNumberID, Event, NotificationID, MessageID string }
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatal(err)
		}
		n := ns[i]
		if l.PhoneNumberID != n.Number.ID || l.Event != string(n.Event) || l.NotificationID != n.ID ||
			l.MessageID == "" || l.MessageID != messageIDs[n.ID] {
			t.Errorf("log line %s, want %s %s %s with SNS message ID %q", line, n.Number.ID, n.Event, n.ID, messageIDs[n.ID])
		}
	}
}

// TestSNSPublishRenderer: a publisher given a display zone sends the people's keys in local
// time beside UTC (the same text as Renderer.Text), while the subject and the machine JSON that
// a queue receives stay UTC only.
func TestSNSPublishRenderer(t *testing.T) {
	env := newMoto(t)
	topic := env.topic(t)
	q := env.queue(t, topic, "")
	n := golden("failed-transition")
	p := NewSNS(env.sns, topic)
	p.Renderer = Renderer{Location: paris}
	if err := p.Publish(t.Context(), []status.Notification{n})[0]; err != nil {
		t.Fatal(err)
	}
	env.mu.Lock()
	sent := append([]string(nil), env.messages...)
	env.mu.Unlock()
	if len(sent) != 1 {
		t.Fatalf("%d messages sent, want 1", len(sent))
	}
	var keys map[string]string
	if err := json.Unmarshal([]byte(sent[0]), &keys); err != nil {
		t.Fatal(err)
	}
	if keys["email"] != p.Renderer.Text(n) || !strings.Contains(keys["email"], "2026-11-27 05:35:00 UTC (06:35 CET; 23h 55m left at the check)") {
		t.Errorf("email key is not the text in Paris time:\n%s", keys["email"])
	}
	if !strings.Contains(keys["https"], "(06:35 CET)") {
		t.Errorf("https key lacks the local time: %s", keys["https"])
	}
	got := env.drain(t, q)
	if len(got) != 1 || got[0].Subject != Subject(n) || strings.Contains(got[0].Message, "CET") {
		t.Errorf("delivered %+v: want the UTC subject and UTC machine JSON", got)
	}
}
