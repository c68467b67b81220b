package main

// End-to-end tests: the real bootstrap, built by the Makefile exactly as for Lambda (but for
// this machine's architecture), run by the Lambda Runtime Interface Emulator, talking through
// the standard AWS_ENDPOINT_URL_* variables to moto_server (SNS, SQS, DynamoDB), to the
// Connect test server and to the CloudTrail test server: every service the function calls has
// a local endpoint, so no test ever reaches a real AWS host. What a subscriber receives is read
// back from an SQS queue subscribed to the topic.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/phonewatch/phonewatch/internal/cloudtrail/cloudtrailtest"
	"github.com/phonewatch/phonewatch/internal/connect/connecttest"
	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/notify"
	"github.com/phonewatch/phonewatch/internal/testenv"
)

// Numbers of testdata/sample-numbers.json.
const (
	sampleFailed     = "7c1e5a0b-3f64-4d2a-9e87-1b0c6d4f2a95" // FAILED
	sampleClaimed    = "e39b0d47-8a21-4c6f-b5d3-90f2a7c81e64" // CLAIMED
	sampleInProgress = "5a8d2f61-c047-4b9e-a3d5-6e1f7b20c948" // IN_PROGRESS, of a traffic distribution group
	sampleClaimed2   = "9b8a7f6e-5d4c-4b3a-a291-807f6e5d4c3b" // CLAIMED
)

var repoRoot = func() string { d, _ := filepath.Abs("../.."); return d }()

var builds sync.Map // make target -> *buildResult

type buildResult struct {
	once sync.Once
	path string
	err  error
}

// buildBootstrap builds bootstrap once per make target into a temporary folder, for this
// machine's architecture (the RIE runs it here), with the Makefile's Lambda flags: GOARCH for
// `make build`, LAMBDA_ARCH for the SAM target.
func buildBootstrap(t *testing.T, target string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(target, &buildResult{})
	b := v.(*buildResult)
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "phonewatch-e2e-")
		if err != nil {
			b.err = err
			return
		}
		args := []string{"-C", repoRoot, target}
		if target == "build" {
			args = append(args, "GOARCH="+runtime.GOARCH, "BIN="+dir)
		} else {
			// The SAM target ignores GOARCH (it pins the function's architecture):
			// LAMBDA_ARCH is its one knob.
			args = append(args, "LAMBDA_ARCH="+runtime.GOARCH, "ARTIFACTS_DIR="+dir)
		}
		out, err := exec.Command("make", args...).CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("make %s: %w\n%s", strings.Join(args, " "), err, out)
			return
		}
		b.path = filepath.Join(dir, "bootstrap")
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

func rieBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("RIE_BIN"), filepath.Join(repoRoot, "bin/aws-lambda-rie")} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p
	}
	testenv.Missing(t, "the Lambda Runtime Interface Emulator", "run `make rie` (builds bin/aws-lambda-rie from the pinned Go tool) or set RIE_BIN")
	return ""
}

// stack is one test's AWS side: a topic, a queue subscribed to it, a state table, a Connect
// test server loaded with the sample numbers, and a CloudTrail test server (no events unless
// a test adds them).
type stack struct {
	moto       string
	connect    *connecttest.Server
	cloudtrail *cloudtrailtest.Server
	// snsEndpoint is where the function sends SNS calls: moto, unless a test puts a
	// faultproxy in between.
	snsEndpoint string
	topic       string
	queue       string
	table       string
	sqs         *sqs.Client
	ddb         *dynamodb.Client
}

func newStack(t *testing.T) *stack {
	t.Helper()
	moto := testenv.MotoURL(t)
	ctx := context.Background()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")}
	name := strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()) + fmt.Sprint(time.Now().UnixNano())
	snsc := sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = aws.String(moto) })
	s := &stack{
		moto:        moto,
		snsEndpoint: moto,
		sqs:         sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(moto) }),
		ddb:         dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(moto) }),
	}
	topic, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	s.topic = *topic.TopicArn
	q, err := s.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	s.queue = *q.QueueUrl
	qa, err := s.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(qa.Attributes["QueueArn"])}); err != nil {
		t.Fatal(err)
	}
	s.table = name
	if _, err := s.ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("phoneNumberId"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("phoneNumberId"), KeyType: ddbtypes.KeyTypeHash}},
	}); testenv.TableCreated(err) != nil {
		t.Fatal(err)
	}
	s.connect = connecttest.NewServer()
	t.Cleanup(s.connect.Close)
	if _, err := s.connect.LoadFile(filepath.Join(repoRoot, "testdata/sample-numbers.json")); err != nil {
		t.Fatal(err)
	}
	s.cloudtrail = cloudtrailtest.NewServer()
	t.Cleanup(s.cloudtrail.Close)
	return s
}

// env is the function's environment: configuration plus the standard endpoint variables.
func (s *stack) env(extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"AWS_ENDPOINT_URL_CONNECT=" + s.connect.URL,
		"AWS_ENDPOINT_URL_SNS=" + s.snsEndpoint,
		"AWS_ENDPOINT_URL_DYNAMODB=" + s.moto,
		"AWS_ENDPOINT_URL_CLOUDTRAIL=" + s.cloudtrail.URL,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=60",
		"AWS_LAMBDA_FUNCTION_NAME=phonewatch-e2e",
		"TOPIC_ARN=" + s.topic,
		"STATE_TABLE=" + s.table,
	}
	return append(env, extra...)
}

// function is a bootstrap running under the RIE.
type function struct {
	url  string
	mu   sync.Mutex
	logs bytes.Buffer
}

func (f *function) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logs.Write(p)
}

func (f *function) Logs() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logs.String()
}

// logsContain waits up to a few seconds for the function's output to contain each of want:
// the emulator relays the function's output on its own, possibly after the invocation answered.
func (f *function) logsContain(want ...string) bool {
	deadline := time.Now().Add(5 * time.Second)
	for {
		logs, all := f.Logs(), true
		for _, w := range want {
			all = all && strings.Contains(logs, w)
		}
		if all {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startFunction runs bootstrap under the emulator with env, until the test ends.
func startFunction(t *testing.T, bootstrap string, env []string) *function {
	t.Helper()
	rie := rieBinary(t)
	apiPort, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	f := &function{url: fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", port)}
	cmd := exec.Command(rie,
		"--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", port),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", apiPort),
		bootstrap)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("function output:\n%s", f.Logs())
		}
	})
	if err := testenv.WaitHTTP(fmt.Sprintf("http://127.0.0.1:%d/", port), 20*time.Second); err != nil {
		t.Fatalf("the emulator did not start: %v\n%s", err, f.Logs())
	}
	return f
}

// invoke sends one event and returns the summary, or the function error's message.
func (f *function) invoke(t *testing.T, payload []byte) (monitor.Summary, string) {
	t.Helper()
	resp, err := http.Post(f.url, "application/json", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var fnErr struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if json.Unmarshal(body, &fnErr) == nil && fnErr.ErrorType != "" {
		return monitor.Summary{}, fnErr.ErrorMessage
	}
	var sum monitor.Summary
	if err := json.Unmarshal(body, &sum); err != nil {
		t.Fatalf("invocation answered %s: %s", resp.Status, body)
	}
	return sum, ""
}

func (f *function) mustInvoke(t *testing.T, payload []byte) monitor.Summary {
	t.Helper()
	sum, errMsg := f.invoke(t, payload)
	if errMsg != "" {
		t.Fatalf("invocation failed: %s", errMsg)
	}
	return sum
}

// delivered is one message as the SQS subscriber receives it.
type delivered struct {
	Subject    string
	Machine    notify.MachineMessage
	Attributes map[string]string
}

// drain reads every message now in the queue (SNS delivers to SQS while handling Publish).
func (s *stack) drain(t *testing.T) []delivered {
	t.Helper()
	var out []delivered
	for {
		r, err := s.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.queue), MaxNumberOfMessages: 10, WaitTimeSeconds: 0})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Messages) == 0 {
			return out
		}
		for _, m := range r.Messages {
			var env struct {
				Subject           string
				Message           string
				MessageAttributes map[string]struct{ Value string }
			}
			if err := json.Unmarshal([]byte(*m.Body), &env); err != nil {
				t.Fatalf("SQS body is not an SNS envelope: %v: %s", err, *m.Body)
			}
			d := delivered{Subject: env.Subject, Attributes: map[string]string{}}
			if err := json.Unmarshal([]byte(env.Message), &d.Machine); err != nil {
				t.Fatalf("the sqs message is not the machine JSON: %v: %s", err, env.Message)
			}
			for k, v := range env.MessageAttributes {
				d.Attributes[k] = v.Value
			}
			out = append(out, d)
			if _, err := s.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(s.queue), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func events(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func count(ds []delivered, event, id string) int {
	n := 0
	for _, d := range ds {
		if d.Machine.Event == event && d.Machine.PhoneNumberID == id {
			n++
		}
	}
	return n
}
