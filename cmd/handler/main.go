// Command handler is phonewatch's AWS Lambda function. It only wires: configuration from the
// environment, adapters (internal/app), and the monitor. Outside Lambda it says where to go
// instead: the operator's command, cmd/phonewatch, runs checks locally.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/phonewatch/phonewatch/internal/app"
	"github.com/phonewatch/phonewatch/internal/config"
	"github.com/phonewatch/phonewatch/internal/store"
)

func main() {
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") == "" {
		os.Exit(notLambda(os.Stderr))
	}
	os.Exit(lambdaMain())
}

// notLambda explains, outside the Lambda runtime, that local runs moved to cmd/phonewatch.
func notLambda(stderr io.Writer) int {
	_, _ = fmt.Fprint(stderr, `handler is the phonewatch Lambda function and runs only under the Lambda runtime.
For a local run use the operator's command:
  go run ./cmd/phonewatch check --numbers testdata/sample-numbers.json   # no AWS account needed
  go run ./cmd/phonewatch help                                            # check, status, test
`)
	return 2
}

// lambdaMain builds everything once, outside the handler, and serves invocations.
func lambdaMain() int {
	log := lambdacontext.NewLogger()
	slog.SetDefault(log)
	setMemoryLimit(os.Getenv, log)
	cfg, err := config.Load(os.LookupEnv, true, app.Checks)
	if err == nil {
		for _, w := range cfg.Warnings {
			log.Warn("configuration", "warning", w)
		}
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
		Monitor: app.NewMonitor(cfg, awsCfg,
			store.NewDynamo(app.NewDynamo(awsCfg), cfg.StateTable),
			app.NewPublisher(cfg, app.NewSNS(awsCfg), log), time.Now, log),
		Log:     log,
		Metrics: os.Stdout,
		Now:     time.Now,
	}
	lambda.Start(h)
	return 0
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
