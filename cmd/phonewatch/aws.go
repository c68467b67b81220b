package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/phonewatch/phonewatch/internal/store"
)

// credentialsTimeout bounds the one look for credentials before a run: off EC2 the SDK's
// instance-metadata provider would otherwise retry for many seconds, and every client of the
// run would wait on it again.
const credentialsTimeout = 5 * time.Second

// tryWithoutAWS ends every message about missing AWS setup.
const tryWithoutAWS = "or try phonewatch without AWS: phonewatch check --numbers testdata/sample-numbers.json"

// loadAWS reads the SDK's configuration and makes sure, once and fast, that it has a Region
// and credentials: a missing one is one short message saying what to set.
func loadAWS(ctx context.Context, why string) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration (needed to %s): %w", why, err)
	}
	if cfg.Region == "" {
		return aws.Config{}, fmt.Errorf("no AWS Region (needed to %s): set AWS_REGION, or AWS_PROFILE to a profile with a region; %s", why, tryWithoutAWS)
	}
	ctx, cancel := context.WithTimeout(ctx, credentialsTimeout)
	defer cancel()
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return aws.Config{}, fmt.Errorf("no usable AWS credentials (needed to %s): set AWS_PROFILE (after aws configure or aws sso login) "+
			"or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; %s\n  (the SDK said: %w)", why, tryWithoutAWS, err)
	}
	return cfg, nil
}

// checkTable reads one item of the state table, once: a missing table or a denied read is
// reported now, plainly, rather than after the monitor's retries.
func checkTable(ctx context.Context, client *dynamodb.Client, table, region string) error {
	_, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table), Limit: aws.Int32(1)})
	var missing *ddbtypes.ResourceNotFoundException
	if errors.As(err, &missing) {
		return fmt.Errorf("STATE_TABLE=%s: no such DynamoDB table in %s (check STATE_TABLE and AWS_REGION)", table, region)
	}
	if err != nil {
		return fmt.Errorf("STATE_TABLE=%s: cannot read the table: %w", table, err)
	}
	return nil
}

// checkFile reads the state file once: a corrupt one is reported now, with the file's name
// and what to do, rather than after the monitor's retries.
func checkFile(ctx context.Context, f *store.File) error {
	_, err := f.All(ctx)
	return err
}
