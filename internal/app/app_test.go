package app

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go/middleware"

	"github.com/phonewatch/phonewatch/internal/config"
	"github.com/phonewatch/phonewatch/internal/notify"
	"github.com/phonewatch/phonewatch/internal/status"
	"github.com/phonewatch/phonewatch/internal/testenv"
)

// sentMessages records the Message of every PublishBatch entry the SNS client sends.
type sentMessages struct {
	mu   sync.Mutex
	msgs []string
}

func (s *sentMessages) option(o *sns.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("recordMessages",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
				middleware.InitializeOutput, middleware.Metadata, error) {
				if p, ok := in.Parameters.(*sns.PublishBatchInput); ok {
					s.mu.Lock()
					for _, e := range p.PublishBatchRequestEntries {
						s.msgs = append(s.msgs, aws.ToString(e.Message))
					}
					s.mu.Unlock()
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
}

// TestNewPublisher: the publisher that both commands wire words the text in DISPLAY_TIMEZONE
// beside UTC and logs one line per accepted notification to the run's logger (what Lambda
// sends to CloudWatch Logs), with the message ID that SNS gave it.
func TestNewPublisher(t *testing.T) {
	url := testenv.MotoURL(t)
	awsCfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")}
	sent := &sentMessages{}
	client := NewSNS(awsCfg, func(o *sns.Options) { o.BaseEndpoint = aws.String(url) }, sent.option)
	topic, err := client.CreateTopic(t.Context(), &sns.CreateTopicInput{Name: aws.String("app-publisher")})
	if err != nil {
		t.Fatal(err)
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Config{TopicARN: aws.ToString(topic.TopicArn), Location: tokyo}
	var logs bytes.Buffer
	pub := NewPublisher(cfg, client, slog.New(slog.NewJSONHandler(&logs, nil)))

	n := notify.TestNotification(cfg.TopicARN, time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
	if err := pub.Publish(t.Context(), []status.Notification{n})[0]; err != nil {
		t.Fatal(err)
	}
	if len(sent.msgs) != 1 {
		t.Fatalf("%d messages sent, want 1", len(sent.msgs))
	}
	var keys map[string]string
	if err := json.Unmarshal([]byte(sent.msgs[0]), &keys); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(keys["email"], "2026-11-26 10:00:00 UTC (19:00 JST)") {
		t.Errorf("the email text is not in DISPLAY_TIMEZONE beside UTC:\n%s", keys["email"])
	}
	var line struct{ Msg, Event, NotificationID, MessageID string }
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v", logs.String(), err)
	}
	if line.Msg != "notification published" || line.Event != "TEST" || line.NotificationID != n.ID || line.MessageID == "" {
		t.Errorf("log line %s", logs.String())
	}
}

// Without DISPLAY_TIMEZONE the text is UTC only.
func TestRendererUTC(t *testing.T) {
	n := notify.TestNotification("arn:aws:sns:us-east-1:123456789012:t", time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
	if text := Renderer(config.Config{}).Text(n); !strings.Contains(text, "2026-11-26 10:00:00 UTC\n") {
		t.Errorf("text:\n%s", text)
	}
}
