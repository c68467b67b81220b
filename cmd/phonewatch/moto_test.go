package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/phonewatch/phonewatch/internal/store"
	"github.com/phonewatch/phonewatch/internal/testenv"
)

// motoStack is one test's side of moto_server: a state table, a topic and a queue subscribed to it,
// named after the test. The commands reach it through the SDK's standard AWS_ENDPOINT_URL.
type motoStack struct {
	table, topic, queue string
	ddb                 *dynamodb.Client
	sqs                 *sqs.Client
}

func newMotoStack(t *testing.T) *motoStack {
	t.Helper()
	url := testenv.MotoURL(t)
	t.Setenv("AWS_ENDPOINT_URL", url)
	ctx := context.Background()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")}
	name := strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()) + fmt.Sprint(time.Now().UnixNano())
	s := &motoStack{
		table: name,
		ddb:   dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(url) }),
		sqs:   sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(url) }),
	}
	_, err := s.ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("phoneNumberId"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("phoneNumberId"), KeyType: ddbtypes.KeyTypeHash}},
	})
	if err := testenv.TableCreated(err); err != nil {
		t.Fatal(err)
	}
	snsc := sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = aws.String(url) })
	topic, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	s.topic = aws.ToString(topic.TopicArn)
	q, err := s.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	s.queue = aws.ToString(q.QueueUrl)
	qa, err := s.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String(qa.Attributes[string(sqstypes.QueueAttributeNameQueueArn)])}); err != nil {
		t.Fatal(err)
	}
	return s
}

// items is the whole table, item by item, as plain values.
func (s *motoStack) items(t *testing.T) map[string]map[string]any {
	t.Helper()
	out, err := s.ddb.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(s.table), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]map[string]any{}
	for _, it := range out.Items {
		var v map[string]any
		if err := attributevalue.UnmarshalMap(it, &v); err != nil {
			t.Fatal(err)
		}
		m[fmt.Sprint(v["phoneNumberId"])] = v
	}
	return m
}

// envelope is what SNS delivers to an SQS queue (raw delivery off).
type envelope struct {
	MessageID         string `json:"MessageId"`
	Subject           string
	Message           string
	MessageAttributes map[string]struct{ Value string }
}

// receive waits for n messages on the queue (long polls, up to a minute in all) and returns
// them; then one more short poll must find none.
func (s *motoStack) receive(t *testing.T, n int) []envelope {
	t.Helper()
	var got []envelope
	ctx := context.Background()
	for deadline := time.Now().Add(time.Minute); len(got) < n && time.Now().Before(deadline); {
		got = append(got, s.poll(ctx, t, 2)...)
	}
	if extra := s.poll(ctx, t, 1); len(got) != n || len(extra) != 0 {
		t.Fatalf("queue: %d messages then %d more, want %d", len(got), len(extra), n)
	}
	return got
}

func (s *motoStack) poll(ctx context.Context, t *testing.T, wait int32) []envelope {
	t.Helper()
	out, err := s.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.queue), MaxNumberOfMessages: 10, WaitTimeSeconds: wait})
	if err != nil {
		t.Fatal(err)
	}
	var got []envelope
	for _, m := range out.Messages {
		var e envelope
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &e); err != nil {
			t.Fatalf("queue message %q: %v", aws.ToString(m.Body), err)
		}
		got = append(got, e)
		if _, err := s.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.queue), ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
	}
	return got
}

var sentLine = regexp.MustCompile(`Sent: notificationId \S+, SNS message ID (\S+)`)

// A dry run against the shared table reads it, prints what would be sent, and writes and
// sends nothing: the table is the same item for item, the topic got nothing, and the next
// real run still sends what the dry run printed.
func TestDryRunAgainstTable(t *testing.T) {
	isolate(t)
	realClock(t) // a run that writes the shared table checks its clock against AWS's
	s := newMotoStack(t)
	t.Setenv("STATE_TABLE", s.table)
	t.Setenv("TOPIC_ARN", s.topic)
	numbers := []string{"check", "--numbers", sampleNumbers}

	out, errOut, code := phonewatch(t, append(numbers, "--publish")...)
	if code != 0 || !strings.Contains(out, "Subject: [FAILED]") || !strings.Contains(out, "1 notification sent") ||
		strings.Contains(out, "No new notifications") || len(sentLine.FindStringSubmatch(out)) != 2 || sentLine.FindStringSubmatch(out)[1] == "-" {
		t.Fatalf("publish: exit %d\n%s\nstderr: %s", code, out, errOut)
	}
	first := s.receive(t, 1)
	if first[0].MessageAttributes["event"].Value != "FAILED" || first[0].MessageID != sentLine.FindStringSubmatch(out)[1] {
		t.Errorf("delivered %+v; printed %s", first[0], sentLine.FindString(out))
	}
	before := s.items(t)
	if len(before) != 5 {
		t.Fatalf("table holds %d items after the first run, want 5 (the 4 records and the released Connect lease)", len(before))
	}

	// The FAILED number is claimed again: RECOVERED is due. (--at cannot be used here: a run
	// that publishes must not move the clock.)
	recovered := claimedAgain(t)
	later := []string{"check", "--numbers", recovered}

	// Without --publish, a run against STATE_TABLE is a dry run, said once.
	out, errOut, code = phonewatch(t, later...)
	if code != 0 || !strings.Contains(out, "Subject: [RECOVERED]") || !strings.Contains(out, "1 notification would be sent") ||
		strings.Count(errOut, "dry run") != 1 {
		t.Errorf("implicit dry run: exit %d\n%s\nstderr: %s", code, out, errOut)
	}
	if out, _, code := phonewatch(t, append(later, "--dry-run")...); code != 0 || !strings.Contains(out, "Subject: [RECOVERED]") {
		t.Errorf("--dry-run: exit %d\n%s", code, out)
	}
	if after := s.items(t); !reflect.DeepEqual(after, before) {
		t.Errorf("the dry runs changed the table:\nbefore %v\nafter  %v", before, after)
	}

	out, _, code = phonewatch(t, append(later, "--publish")...)
	if code != 0 || !strings.Contains(out, "1 notification sent") {
		t.Errorf("publish after the dry runs: exit %d\n%s", code, out)
	}
	got := s.receive(t, 1)
	if len(got) != 1 || got[0].MessageAttributes["event"].Value != "RECOVERED" {
		t.Errorf("delivered after the dry runs: %+v, want RECOVERED", got)
	}
}

// claimedAgain writes the sample numbers with the FAILED one CLAIMED again, and returns the
// file.
func claimedAgain(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(sampleNumbers)
	if err != nil {
		t.Fatal(err)
	}
	var outs []map[string]map[string]any
	if err := json.Unmarshal(b, &outs); err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		if st := o["ClaimedPhoneNumberSummary"]["PhoneNumberStatus"].(map[string]any); st["Status"] == "FAILED" {
			st["Status"], st["Message"] = "CLAIMED", ""
		}
	}
	path := filepath.Join(t.TempDir(), "claimed-again.json")
	b, _ = json.Marshal(outs)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// status reads STATE_TABLE as it reads a file: the same records give the same golden output.
func TestStatusTable(t *testing.T) {
	isolate(t)
	recs, err := store.NewFile(sampleState(t)).All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s := newMotoStack(t)
	for i := range recs {
		recs[i].Version = 0
	}
	if conflicts, err := store.NewDynamo(s.ddb, s.table).Save(context.Background(), recs); err != nil || len(conflicts) > 0 {
		t.Fatalf("save: %v %v", conflicts, err)
	}
	t.Setenv("STATE_TABLE", s.table)
	checkStatus(t)
}

// A missing table is one clear error naming the table, before anything else.
func TestMissingTable(t *testing.T) {
	isolate(t)
	newMotoStack(t)
	t.Setenv("STATE_TABLE", "no-such-table")
	for _, args := range [][]string{{"status"}, {"check", "--numbers", sampleNumbers, "--dry-run"}} {
		_, errOut, code := phonewatch(t, args...)
		if code != exitError || strings.Count(errOut, "STATE_TABLE=no-such-table: no such DynamoDB table in us-east-1") != 1 {
			t.Errorf("%q: exit %d, stderr:\n%s", args, code, errOut)
		}
	}
}

// phonewatch test publishes one TEST notification through the real path; the subscribed
// queue receives it with event = TEST, under the message ID the command printed.
func TestTestCommand(t *testing.T) {
	isolate(t)
	s := newMotoStack(t)
	t.Setenv("TOPIC_ARN", s.topic)
	out, errOut, code := phonewatch(t, "test")
	m := regexp.MustCompile(`notificationId: (test-20261126T060000Z-[0-9a-f]{16})\n  SNS message ID: (\S+)`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("exit %d, want the notification ID stamped with the command's time:\n%s\nstderr: %s", code, out, errOut)
	}
	got := s.receive(t, 1)[0]
	if got.MessageAttributes["event"].Value != "TEST" || got.MessageID != m[2] || got.MessageAttributes["notificationId"].Value != m[1] {
		t.Errorf("delivered %+v, printed %s", got, m[0])
	}
	// The topic's account and Region, so that a subscriber of several stacks knows which one;
	// the topic as topicArn, not as a number's targetArn.
	var machine struct{ Event, Account, Region, TargetARN, TopicARN string }
	if err := json.Unmarshal([]byte(got.Message), &machine); err != nil {
		t.Fatal(err)
	}
	if got.Subject != "[TEST] phonewatch test notification from 123456789012 us-east-1" ||
		machine.Event != "TEST" || machine.Account != "123456789012" || machine.Region != "us-east-1" ||
		machine.TopicARN != s.topic || machine.TargetARN != "" {
		t.Errorf("delivered subject %q, machine JSON %+v: want the topic's account and Region", got.Subject, machine)
	}
	t.Setenv("TOPIC_ARN", "")
	if _, errOut, code := phonewatch(t, "test"); code != exitError || !strings.Contains(errOut, "set TOPIC_ARN") {
		t.Errorf("without TOPIC_ARN: exit %d, %s", code, errOut)
	}
}

// realClock undoes isolate's frozen clock, for a run that publishes to the shared table: it
// compares its clock with the time in AWS's answers, which is the real one.
func realClock(t *testing.T) {
	old := wallClock
	wallClock = time.Now
	t.Cleanup(func() { wallClock = old })
}

// A run that would write the shared table with a clock far from AWS's is refused before it
// writes or sends anything (issue 17 item 4); a dry run is not, it writes nothing.
func TestPublishRefusesSkewedClock(t *testing.T) {
	isolate(t)
	s := newMotoStack(t)
	t.Setenv("STATE_TABLE", s.table)
	t.Setenv("TOPIC_ARN", s.topic)
	wallClock = func() time.Time { return time.Now().Add(-20 * time.Minute) }
	out, errOut, code := phonewatch(t, "check", "--numbers", sampleNumbers, "--publish")
	if code != exitError || out != "" || !strings.Contains(errOut, "behind AWS's") || !strings.Contains(errOut, "more than the 30s tolerated") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
	if items := s.items(t); len(items) != 0 {
		t.Errorf("the refused run wrote %d items", len(items))
	}
	if out, _, code := phonewatch(t, "check", "--numbers", sampleNumbers, "--dry-run"); code != 0 || !strings.Contains(out, "Subject: [FAILED]") {
		t.Errorf("dry run with the skewed clock: exit %d\n%s", code, out)
	}
	// A minute ahead is refused too: beyond status.WriterSkew, where stamps of two hosts would
	// defeat CallSkew and the gone gap.
	wallClock = func() time.Time { return time.Now().Add(time.Minute) }
	if _, errOut, code := phonewatch(t, "check", "--numbers", sampleNumbers, "--publish"); code != exitError || !strings.Contains(errOut, "ahead of AWS's") {
		t.Errorf("a minute ahead: exit %d\n%s", code, errOut)
	}
	// Within the tolerance the run goes ahead.
	wallClock = func() time.Time { return time.Now().Add(5 * time.Second) }
	if out, errOut, code := phonewatch(t, "check", "--numbers", sampleNumbers, "--publish"); code != 0 || !strings.Contains(out, "1 notification sent") {
		t.Errorf("five seconds ahead: exit %d\n%s%s", code, out, errOut)
	}
}

// A publish SNS refuses (a topic that does not exist) is an error of the run: exit 1, with
// the reason, never 0.
func TestPublishToMissingTopicFails(t *testing.T) {
	isolate(t)
	s := newMotoStack(t)
	t.Setenv("TOPIC_ARN", s.topic+"-missing")
	state := filepath.Join(t.TempDir(), "state.json")
	out, errOut, code := phonewatch(t, "check", "--numbers", sampleNumbers, "--state", state, "--publish")
	if code != exitError || !strings.Contains(out, "  error, ") || !strings.Contains(errOut, "the run had 1 error") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
}

// -v logs each AWS call as it goes, so a slow or hung endpoint is seen at once.
func TestVerboseLogsCalls(t *testing.T) {
	isolate(t)
	s := newMotoStack(t)
	t.Setenv("STATE_TABLE", s.table)
	_, errOut, code := phonewatch(t, "check", "--numbers", sampleNumbers, "--dry-run", "-v")
	if code != 0 || !strings.Contains(errOut, "msg=\"aws call\" service=DynamoDB operation=Scan") ||
		!strings.Contains(errOut, "msg=\"aws answer\" service=DynamoDB operation=Scan") || !strings.Contains(errOut, "httpStatus=200") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	_, errOut, _ = phonewatch(t, "check", "--numbers", sampleNumbers, "--dry-run")
	if strings.Contains(errOut, "aws call") {
		t.Errorf("without -v:\n%s", errOut)
	}
}

// --region chooses the Region over AWS_REGION: the table is not found in another one.
func TestRegionFlag(t *testing.T) {
	isolate(t)
	s := newMotoStack(t)
	t.Setenv("STATE_TABLE", s.table)
	_, errOut, code := phonewatch(t, "status", "--region", "eu-west-1")
	if code != exitError || !strings.Contains(errOut, "no such DynamoDB table in eu-west-1") {
		t.Errorf("exit %d\n%s", code, errOut)
	}
}

// The route README.md gives a webhook that is not Chatbot: an SQS queue subscribed with
// RawMessageDelivery gets the machine JSON itself as its body (no SNS envelope, not the Chatbot
// JSON of the https key), byte for byte what `phonewatch check --json` prints.
func TestRawQueueGetsMachineJSON(t *testing.T) {
	isolate(t)
	s := newMotoStack(t)
	ctx := context.Background()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")}
	url := os.Getenv("AWS_ENDPOINT_URL")
	snsc := sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = aws.String(url) })
	q, err := s.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(s.table + "-raw")})
	if err != nil {
		t.Fatal(err)
	}
	qa, err := s.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(s.topic), Protocol: aws.String("sqs"),
		Endpoint:   aws.String(qa.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]),
		Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TOPIC_ARN", s.topic)
	printed, _, code := checkSample(t, filepath.Join(t.TempDir(), "printed.json"), "--json")
	if code != 0 {
		t.Fatalf("check --json: exit %d", code)
	}
	if _, errOut, code := checkSample(t, filepath.Join(t.TempDir(), "sent.json"), "--publish"); code != 0 {
		t.Fatalf("check --publish: exit %d: %s", code, errOut)
	}
	var body string
	for deadline := time.Now().Add(time.Minute); body == "" && time.Now().Before(deadline); {
		out, err := s.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) > 0 {
			body = aws.ToString(out.Messages[0].Body)
		}
	}
	if want := strings.SplitN(printed, "\n", 2)[0]; body != want {
		t.Errorf("raw queue body:\n%s\nwant the machine JSON check --json prints:\n%s", body, want)
	}
}
