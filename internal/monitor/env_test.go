package monitor_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdkconnect "github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/phonewatch/phonewatch/internal/connect"
	"github.com/phonewatch/phonewatch/internal/connect/connecttest"
	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/notify"
	"github.com/phonewatch/phonewatch/internal/status"
	"github.com/phonewatch/phonewatch/internal/store"
	"github.com/phonewatch/phonewatch/internal/testenv"
)

// env is one test's world on real protocols: a Connect test server, and in moto_server a
// state table, an SNS topic and an SQS queue subscribed to it (SNS envelope, no filter), each
// with a name of its own. Monitors built from it use the real adapters (connect.New,
// store.NewDynamo, notify.NewSNS), each with SDK clients of its own, as separate Lambda
// instances would have.
type env struct {
	t       *testing.T
	connect *connecttest.Server
	moto    string
	table   string
	topic   string
	queue   string
	sqs     *sqs.Client
	sns     *sns.Client
	// dynamoURL is where monitors' DynamoDB clients go: moto, or a faultproxy in front of it.
	dynamoURL string
	clock     *clock
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

func unique(t *testing.T, prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%.60s-%s", prefix, unsafeName.ReplaceAllString(t.Name(), "-"), hex.EncodeToString(b))
}

func awsConfig() aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", ""),
	}
}

// quickRetries keeps an SDK client's standard retryer (what it retries, 3 attempts) but backs
// off for milliseconds instead of seconds.
func quickRetries(r aws.Retryer) aws.Retryer {
	return retry.AddWithMaxBackoffDelay(r, 5*time.Millisecond)
}

// known is the moto_server URL once a test has asked testenv for it.
var known struct {
	sync.Mutex
	url string
}

// parallel runs t in parallel with the other moto tests, once moto_server is known. The
// first test to ask finds (or starts) it through testenv.MotoURL, which sets environment
// variables, and a test that does may not run in parallel: that one runs sequentially. (The
// tests here need none of those variables: their clients have credentials and a Region.)
func parallel(t *testing.T) {
	t.Helper()
	known.Lock()
	url := known.url
	known.Unlock()
	if url != "" {
		t.Parallel()
		return
	}
	motoURL(t)
}

func motoURL(t *testing.T) string {
	t.Helper()
	known.Lock()
	defer known.Unlock()
	if known.url == "" {
		known.url = testenv.MotoURL(t)
	}
	return known.url
}

// newEnv sets up a test's world; call parallel(t) first.
func newEnv(t *testing.T) *env {
	t.Helper()
	moto := motoURL(t)
	cfg := awsConfig()
	e := &env{
		t:         t,
		connect:   connecttest.NewServer(),
		moto:      moto,
		dynamoURL: moto,
		clock:     &clock{},
		sqs:       sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(moto) }),
		sns:       sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = aws.String(moto) }),
	}
	t.Cleanup(e.connect.Close)
	ctx := context.Background()

	ddb := e.dynamo(nil)
	e.table = unique(t, "pw")
	_, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(e.table),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("phoneNumberId"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("phoneNumberId"), KeyType: ddbtypes.KeyTypeHash}},
	})
	if err := testenv.TableCreated(err); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() {
		_, _ = ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(e.table)})
	})

	topic, err := e.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(unique(t, "pw-topic"))})
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}
	e.topic = aws.ToString(topic.TopicArn)
	q, err := e.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(unique(t, "pw-queue"))})
	if err != nil {
		t.Fatalf("create queue: %v", err)
	}
	e.queue = aws.ToString(q.QueueUrl)
	attrs, err := e.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatalf("queue attributes: %v", err)
	}
	if _, err := e.sns.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String(attrs.Attributes["QueueArn"]),
	}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(func() {
		_, _ = e.sns.DeleteTopic(context.Background(), &sns.DeleteTopicInput{TopicArn: topic.TopicArn})
		_, _ = e.sqs.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl})
	})
	return e
}

// dynamo is a DynamoDB client to e.dynamoURL with quick retries; when hc is not nil, every
// HTTP request goes through it.
func (e *env) dynamo(hc func(aws.HTTPClient) aws.HTTPClient) *dynamodb.Client {
	return dynamodb.NewFromConfig(awsConfig(), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(e.dynamoURL)
		o.Retryer = quickRetries(o.Retryer)
		if hc != nil {
			o.HTTPClient = hc(o.HTTPClient)
		}
	})
}

// store is the real DynamoDB store on the test's table.
func (e *env) store() *store.Dynamo { return store.NewDynamo(e.dynamo(nil), e.table) }

// source is the real Connect source on the test server, at rps/burst (rps 0: unpaced).
func (e *env) source(rps float64, burst int, optFns ...func(*sdkconnect.Options)) *connect.Source {
	cfg := awsConfig()
	cfg.BaseEndpoint = aws.String(e.connect.URL)
	optFns = append([]func(*sdkconnect.Options){func(o *sdkconnect.Options) {
		o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, 5*time.Millisecond)
	}}, optFns...)
	return connect.New(cfg, rps, burst, optFns...)
}

// publisher is the real SNS publisher to topic, on a client of its own.
func (e *env) publisher(topic string) *notify.SNS { return e.publisherVia(e.moto, topic) }

// publisherVia is publisher with the SNS client's requests sent to url (a faultproxy in front
// of moto, say).
func (e *env) publisherVia(url, topic string) *notify.SNS {
	client := sns.NewFromConfig(awsConfig(), func(o *sns.Options) {
		o.BaseEndpoint = aws.String(url)
		o.Retryer = quickRetries(o.Retryer)
	})
	p := notify.NewSNS(client, topic)
	p.Log = quietLog() // one line per notification would drown the test output
	return p
}

// monitor is a Monitor on the real adapters: unpaced Connect, the test's table and topic,
// watching connecttest's default instance, on e's clock. Tests change fields as they need.
func (e *env) monitor() *monitor.Monitor {
	return &monitor.Monitor{
		Source:        e.source(0, 1),
		Store:         e.store(),
		Publisher:     e.publisher(e.topic),
		Policy:        status.DefaultPolicy(),
		Targets:       []string{connecttest.DefaultInstanceARN},
		Now:           e.clock.Now,
		InFlight:      4,
		FinishReserve: 200 * time.Millisecond,
		Log:           quietLog(),
	}
}

// quietLog discards the monitor's log; run with -v and PW_LOG=1 to see it.
func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// put adds numbers to Connect: ids with the given status, each a US toll-free number.
func (e *env) put(st string, ids ...string) {
	for _, id := range ids {
		e.connect.Put(connecttest.NewSummary(id, e164(id), "", st, msgFor(st)))
	}
}

// set changes the status of numbers already in Connect.
func (e *env) set(st string, ids ...string) {
	for _, id := range ids {
		e.connect.SetStatus(id, st, msgFor(st))
	}
}

func msgFor(st string) string {
	if st == "FAILED" {
		return "The number could not be ported."
	}
	return ""
}

// ids returns n phone number IDs in Connect's format, distinct by prefix.
func ids(prefix, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%08d-0000-4000-8000-%012d", prefix, i)
	}
	return out
}

// e164 makes a distinct E.164 number for an ID of ids().
func e164(id string) string {
	return fmt.Sprintf("+1800%s%s", id[5:8], id[len(id)-4:])
}

// run runs m once on a scheduled scope with a deadline d from now, failing the test on an
// error.
func (e *env) run(m *monitor.Monitor, d time.Duration) monitor.Summary {
	e.t.Helper()
	sum, err := e.tryRun(m, d)
	if err != nil {
		e.t.Fatalf("run: %v (summary %+v)", err, sum)
	}
	return sum
}

func (e *env) tryRun(m *monitor.Monitor, d time.Duration) (monitor.Summary, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return m.Run(ctx, monitor.Scope{Scheduled: true})
}

// message is one notification as the SQS subscriber received it.
type message struct {
	notify.MachineMessage
	Subject string
}

// key names a notification: (number, episode, event).
func (m message) key() string { return m.PhoneNumberID + " " + m.FailedSince + " " + m.Event }

// received drains the queue: every notification delivered since the last call. moto delivers
// from SNS to SQS within the publish call, so after Run returns everything is there.
func (e *env) received() []message {
	e.t.Helper()
	var out []message
	for {
		r, err := e.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(e.queue), MaxNumberOfMessages: 10, VisibilityTimeout: 600,
		})
		if err != nil {
			e.t.Fatalf("receive: %v", err)
		}
		if len(r.Messages) == 0 {
			return out
		}
		for _, m := range r.Messages {
			var env struct{ Subject, Message string }
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &env); err != nil {
				e.t.Fatalf("not an SNS envelope: %v", err)
			}
			msg := message{Subject: env.Subject}
			if err := json.Unmarshal([]byte(env.Message), &msg.MachineMessage); err != nil {
				e.t.Fatalf("not the machine JSON: %v\n%s", err, env.Message)
			}
			out = append(out, msg)
			if _, err := e.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{
				QueueUrl: aws.String(e.queue), ReceiptHandle: m.ReceiptHandle,
			}); err != nil {
				e.t.Fatalf("delete message: %v", err)
			}
		}
	}
}

// keys returns the messages' keys, sorted.
func keys(ms []message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.key()
	}
	slices.Sort(out)
	return out
}

// events counts the messages by event and number: "FAILED" -> {id: n}.
func events(ms []message) map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, m := range ms {
		if out[m.Event] == nil {
			out[m.Event] = map[string]int{}
		}
		out[m.Event][m.PhoneNumberID]++
	}
	return out
}

// records returns the stored records by ID.
func (e *env) records() map[string]status.Record {
	e.t.Helper()
	recs, err := e.store().All(context.Background())
	if err != nil {
		e.t.Fatalf("read state: %v", err)
	}
	out := map[string]status.Record{}
	for _, r := range recs {
		out[r.ID] = r
	}
	return out
}

// clock is the monitors' clock: real time moved on by Advance, so that a test can let hours
// pass at once while instants stay distinct.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// counter is an HTTP client that counts the requests an SDK client sends (retries included)
// and records their paths in order.
type counter struct {
	next aws.HTTPClient
	mu   sync.Mutex
	n    int
	// paths are the URL paths, unescaped, in the order the requests went out.
	paths []string
}

func (c *counter) Do(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n++
	c.paths = append(c.paths, req.URL.Path)
	c.mu.Unlock()
	return c.next.Do(req)
}

func (c *counter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
