// Package app builds what both commands run: the AWS clients, the state store and the monitor,
// from a validated configuration. cmd/handler (Lambda) and cmd/phonewatch (the operator's
// command) only add their own entry points, so the two never wire phonewatch differently.
package app

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/phonewatch/phonewatch/internal/cloudtrail"
	"github.com/phonewatch/phonewatch/internal/config"
	"github.com/phonewatch/phonewatch/internal/connect"
	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/notify"
	"github.com/phonewatch/phonewatch/internal/quotas"
	"github.com/phonewatch/phonewatch/internal/trigger"
)

// Checks are Connect's identifier formats, applied to configuration as to events.
var Checks = config.Checks{TargetARN: trigger.ValidTargetARN, PhoneNumberRef: trigger.ValidPhoneNumberRef}

// FinishReserve is the time a run keeps before its deadline to save and publish, on top of
// the monitor's per-record and per-notification reserve: cheap against a 270 s timeout.
const FinishReserve = 5 * time.Second

// shortBackoff caps the SDK's retry backoff for DynamoDB and SNS at one second (the default is
// 20 s): a run's writes and publishes must fit in the reserve kept before the deadline.
func shortBackoff() aws.Retryer {
	return retry.AddWithMaxBackoffDelay(retry.NewStandard(), time.Second)
}

// NewDynamo builds the state table's client with shortBackoff.
func NewDynamo(awsCfg aws.Config) *dynamodb.Client {
	return dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.Retryer = shortBackoff() })
}

// NewSNS builds the topic's client with shortBackoff; opts may add more (e.g. a middleware
// that reads the message IDs SNS returns).
func NewSNS(awsCfg aws.Config, opts ...func(*sns.Options)) *sns.Client {
	return sns.NewFromConfig(awsCfg, append([]func(*sns.Options){func(o *sns.Options) { o.Retryer = shortBackoff() }}, opts...)...)
}

// Renderer words notifications for people in the configured display zone (DISPLAY_TIMEZONE)
// beside UTC, in UTC only when none is set.
func Renderer(cfg config.Config) notify.Renderer {
	return notify.Renderer{Location: cfg.Location}
}

// NewPublisher is the publisher to TOPIC_ARN through client (see NewSNS): messages worded by
// Renderer(cfg), one log line to log per notification the topic accepted.
func NewPublisher(cfg config.Config, client *sns.Client, log *slog.Logger) *notify.SNS {
	p := notify.NewSNS(client, cfg.TopicARN)
	p.Renderer = Renderer(cfg)
	p.Log = log
	return p
}

// NewMonitor wires a monitor on Amazon Connect with the given state and publisher.
func NewMonitor(cfg config.Config, awsCfg aws.Config, st monitor.Store, pub monitor.Publisher, now func() time.Time, log *slog.Logger) *monitor.Monitor {
	m := &monitor.Monitor{
		Source:         connect.New(awsCfg, cfg.ConnectRPS, cfg.ConnectBurst),
		Store:          st,
		Publisher:      pub,
		Policy:         cfg.Policy,
		Targets:        cfg.TargetARNs,
		PhoneNumberIDs: cfg.PhoneNumberIDs,
		Now:            now,
		InFlight:       monitor.InFlightFor(cfg.ConnectRPS, cfg.ConnectBurst),
		FinishReserve:  FinishReserve,
		SweepEvery:     cfg.SweepEvery,
		Log:            log,
	}
	if cfg.CloudTrail {
		m.Operations = NewOperations(awsCfg)
	}
	if c, ok := st.(monitor.Cursor); ok {
		m.Cursor = c // the cursor of the operations read lives in the state store
	}
	if l, ok := st.(monitor.Ledger); ok {
		m.Budget = NewBudget(cfg, awsCfg, l)
	}
	if l, ok := st.(monitor.Lease); ok {
		m.Lease = l // runs sharing the table describe one at a time, within CONNECT_RPS together
		m.LeaseRefill = time.Duration(float64(cfg.ConnectBurst) / cfg.ConnectRPS * float64(time.Second))
	}
	return m
}

// NewBudget watches the claim/release budget with its ledger in the state store, read from the
// monitor's own Operations (the CloudTrail reader, or a file for a local run), against
// PHONE_NUMBER_QUOTA when set, else the quota Service Quotas gives.
func NewBudget(cfg config.Config, awsCfg aws.Config, l monitor.Ledger) *monitor.Budget {
	b := &monitor.Budget{Ledger: l, Region: awsCfg.Region}
	if f := strings.SplitN(cfg.TopicARN, ":", 6); len(f) == 6 {
		b.Region, b.Account = f[3], f[4] // the topic's account and Region are the function's
	}
	if cfg.PhoneNumberQuota > 0 {
		b.Quota = func(context.Context) (int, string, error) {
			return cfg.PhoneNumberQuota, config.PhoneNumberQuota, nil
		}
		return b
	}
	if awsCfg.Region == "" {
		// A local run without AWS (numbers and operations from files): nothing to ask, and
		// nothing wrong either.
		b.Quota = func(context.Context) (int, string, error) {
			return 0, "", errors.New("set PHONE_NUMBER_QUOTA (a run without an AWS Region does not ask Service Quotas)")
		}
		return b
	}
	q := quotas.New(awsCfg)
	b.Quota = func(ctx context.Context) (int, string, error) {
		n, err := q.PhoneNumberQuota(ctx)
		return n, quotas.Source(), err
	}
	return b
}

// NewOperations is the CloudTrail event-history reader of Connect's phone-number operations.
// It looks up each operation by name: one lookup per name costs a few calls, where a lookup by
// event source would also page through every DescribePhoneNumber (phonewatch's own included).
func NewOperations(awsCfg aws.Config) *cloudtrail.Reader {
	return cloudtrail.New(awsCfg, func(o *cloudtrail.Options) { o.ByEventName = true })
}
