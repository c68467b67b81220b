// Command handler is phonewatch: the AWS Lambda function when started by the Lambda runtime,
// and a local command otherwise (see `handler --help`). It only wires: configuration from the
// environment and flags, adapters, and the monitor.
package main

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"time"
	_ "time/tzdata" // DISPLAY_TIMEZONE: provided.al2023 has no zoneinfo

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/phonewatch/phonewatch/internal/config"
	"github.com/phonewatch/phonewatch/internal/connect"
	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/notify"
	"github.com/phonewatch/phonewatch/internal/store"
	"github.com/phonewatch/phonewatch/internal/trigger"
)

func main() {
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		os.Exit(lambdaMain())
	}
	os.Exit(localMain(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// checks are Connect's identifier formats, applied to configuration as to events.
var checks = config.Checks{TargetARN: trigger.ValidTargetARN, PhoneNumberRef: trigger.ValidPhoneNumberRef}

// lambdaMain builds everything once, outside the handler, and serves invocations.
func lambdaMain() int {
	log := lambdacontext.NewLogger()
	slog.SetDefault(log)
	setMemoryLimit(os.Getenv, log)
	cfg, err := config.Load(os.LookupEnv, true, checks)
	if err == nil {
		var awsCfg aws.Config
		if awsCfg, err = awsconfig.LoadDefaultConfig(context.Background()); err == nil {
			return serve(cfg, awsCfg, log)
		}
	}
	// Rather than exit during init (which Lambda reports only as "Runtime exited"), answer
	// every invocation with the error: it names the variable, and the errors alarm fires.
	log.Error("cannot start: every invocation will fail until this is fixed", "error", err)
	lambda.Start(lambda.NewHandler(func(context.Context) error { return err }))
	return 1
}

// serve builds the adapters once, outside the handler, and serves invocations.
func serve(cfg config.Config, awsCfg aws.Config, log *slog.Logger) int {
	h := &Handler{
		Monitor: newMonitor(cfg, awsCfg,
			store.NewDynamo(newDynamo(awsCfg), cfg.StateTable),
			notify.NewSNS(newSNS(awsCfg), cfg.TopicARN), time.Now, log),
		Log:     log,
		Metrics: os.Stdout,
		Now:     time.Now,
	}
	lambda.Start(h)
	return 0
}

// finishReserve is the time a run keeps before its deadline to save and publish, on top of
// the monitor's per-record and per-notification reserve: cheap against a 270 s timeout.
const finishReserve = 5 * time.Second

// shortBackoff caps the SDK's retry backoff for DynamoDB and SNS at one second (the default is
// 20 s): a run's writes and publishes must fit in the reserve kept before the deadline.
func shortBackoff() aws.Retryer {
	return retry.AddWithMaxBackoffDelay(retry.NewStandard(), time.Second)
}

// newDynamo and newSNS build the state and notification clients with shortBackoff.
func newDynamo(awsCfg aws.Config) *dynamodb.Client {
	return dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.Retryer = shortBackoff() })
}

func newSNS(awsCfg aws.Config) *sns.Client {
	return sns.NewFromConfig(awsCfg, func(o *sns.Options) { o.Retryer = shortBackoff() })
}

// newMonitor wires a monitor on Amazon Connect with the given state and publisher.
func newMonitor(cfg config.Config, awsCfg aws.Config, st monitor.Store, pub monitor.Publisher, now func() time.Time, log *slog.Logger) *monitor.Monitor {
	return &monitor.Monitor{
		Source:         connect.New(awsCfg, cfg.ConnectRPS, cfg.ConnectBurst),
		Store:          st,
		Publisher:      pub,
		Policy:         cfg.Policy,
		Targets:        cfg.TargetARNs,
		PhoneNumberIDs: cfg.PhoneNumberIDs,
		Now:            now,
		InFlight:       monitor.InFlightFor(cfg.ConnectRPS, cfg.ConnectBurst),
		FinishReserve:  finishReserve,
		Log:            log,
	}
}

// setMemoryLimit gives the garbage collector a soft limit below the function's memory, unless
// GOMEMLIMIT is set: by default Go lets the heap grow to twice the live data, which for 10,000
// numbers (about 32 MB live) would pass 90 MB and crowd a 128 MB function. Half the function's
// memory less 16 MiB of runtime and binary leaves room; below that the GC simply works harder.
func setMemoryLimit(getenv func(string) string, log *slog.Logger) {
	if getenv("GOMEMLIMIT") != "" {
		return
	}
	mb, err := strconv.Atoi(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))
	if err != nil || mb < 64 {
		return
	}
	limit := int64(mb/2-16) << 20
	debug.SetMemoryLimit(limit)
	log.Debug("soft memory limit set", "bytes", limit)
}
