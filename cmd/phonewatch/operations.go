package main

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/phonewatch/phonewatch/internal/app"
	"github.com/phonewatch/phonewatch/internal/cloudtrail"
	"github.com/phonewatch/phonewatch/internal/monitor"
)

// fileOperations loads --cloudtrail FILE (what `aws cloudtrail lookup-events` prints).
func fileOperations(path string) (monitor.Operations, error) {
	f, err := cloudtrail.LoadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--cloudtrail: %w", err)
	}
	return f, nil
}

// accountOperations reads the account's CloudTrail event history, for a run against a real
// account with CLOUDTRAIL=true: the same reader the Lambda function uses.
func accountOperations(awsCfg aws.Config) (monitor.Operations, error) {
	return app.NewOperations(awsCfg), nil
}
