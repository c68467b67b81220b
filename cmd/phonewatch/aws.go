package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/phonewatch/phonewatch/internal/store"
)

// credentialsTimeout bounds the one look for credentials before a run: off EC2 the SDK's
// instance-metadata provider would otherwise retry for many seconds, and every client of the
// run would wait on it again.
const credentialsTimeout = 5 * time.Second

// tryWithoutAWS ends every message about missing AWS setup.
const tryWithoutAWS = "or try phonewatch without AWS: phonewatch check --numbers testdata/sample-numbers.json"

// loadAWS reads the SDK's configuration (with --region and --profile over the environment)
// and makes sure, once and fast, that it has a Region and credentials: a missing one is one
// short message saying what to set. With -v every AWS call is logged as it goes.
func loadAWS(ctx context.Context, g globals, why string, log *slog.Logger) (aws.Config, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if g.region != "" {
		opts = append(opts, awsconfig.WithRegion(g.region))
	}
	if g.profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(g.profile))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration (needed to %s): %w", why, err)
	}
	if cfg.Region == "" {
		return aws.Config{}, fmt.Errorf("no AWS Region (needed to %s): set AWS_REGION or --region, or AWS_PROFILE to a profile with a region; %s", why, tryWithoutAWS)
	}
	if g.verbose {
		cfg.APIOptions = append(cfg.APIOptions, logCalls(log))
	}
	ctx, cancel := context.WithTimeout(ctx, credentialsTimeout)
	defer cancel()
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return aws.Config{}, fmt.Errorf("no usable AWS credentials (needed to %s): %s; %s\n  (the SDK said: %w)", why, credentialsHint(g, err), tryWithoutAWS, err)
	}
	return cfg, nil
}

// credentialsHint says what to do about credentials that could not be had: a profile that
// signs in through IAM Identity Center (SSO) needs a fresh login, not another variable.
func credentialsHint(g globals, err error) string {
	profile := cmp.Or(g.profile, os.Getenv("AWS_PROFILE"))
	if strings.Contains(strings.ToLower(err.Error()), "sso") {
		if profile == "" {
			return "the profile's SSO sign-in has no valid token: run aws sso login"
		}
		return fmt.Sprintf("profile %s signs in with SSO and has no valid token: run aws sso login --profile %s", profile, profile)
	}
	if profile != "" {
		return fmt.Sprintf("profile %s gave none: check it in ~/.aws/config (aws configure list --profile %s)", profile, profile)
	}
	return "set AWS_PROFILE or --profile (after aws configure or aws sso login) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
}

// logCalls logs each attempt of each AWS call, when it starts and how it ended, so that -v
// shows at once which endpoint a slow or hung run is waiting on.
func logCalls(log *slog.Logger) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Finalize.Add(middleware.FinalizeMiddlewareFunc("phonewatchLogCalls",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				svc, op := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
				host := ""
				if req, ok := in.Request.(*smithyhttp.Request); ok {
					host = req.URL.Host
				}
				log.InfoContext(ctx, "aws call", "service", svc, "operation", op, "endpoint", host)
				start := time.Now()
				out, md, err := next.HandleFinalize(ctx, in)
				attrs := []any{"service", svc, "operation", op, "took", time.Since(start).Round(time.Millisecond)}
				if resp, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); ok {
					attrs = append(attrs, "httpStatus", resp.StatusCode)
				}
				if err != nil {
					attrs = append(attrs, "error", err)
				}
				log.InfoContext(ctx, "aws answer", attrs...)
				return out, md, err
			}), middleware.After)
	}
}

// checkTable reads one item of the state table, once: a missing table or a denied read is
// reported now, plainly, rather than after the monitor's retries. It returns when AWS sent its
// answer (the Date header), for the clock check of a run that writes the table.
func checkTable(ctx context.Context, client *dynamodb.Client, table, region string) (time.Time, error) {
	out, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table), Limit: aws.Int32(1)})
	var missing *ddbtypes.ResourceNotFoundException
	if errors.As(err, &missing) {
		return time.Time{}, fmt.Errorf("STATE_TABLE=%s: no such DynamoDB table in %s (check STATE_TABLE and AWS_REGION or --region)", table, region)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("STATE_TABLE=%s: cannot read the table: %w", table, err)
	}
	serverTime, _ := awsmiddleware.GetServerTime(out.ResultMetadata)
	return serverTime, nil
}

// checkFile reads the state file once: a corrupt one is reported now, with the file's name
// and what to do, rather than after the monitor's retries.
func checkFile(ctx context.Context, f *store.File) error {
	_, err := f.All(ctx)
	return err
}
