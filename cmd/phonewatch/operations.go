package main

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/phonewatch/phonewatch/internal/monitor"
)

// errNotBuilt stands for the CloudTrail reader until internal/cloudtrail is merged.
var errNotBuilt = errors.New("reading CloudTrail is not built yet in this version of phonewatch")

// fileOperations loads --cloudtrail FILE (what `aws cloudtrail lookup-events` prints). At the
// merge this becomes cloudtrail.LoadFile(path).
func fileOperations(path string) (monitor.Operations, error) {
	return nil, fmt.Errorf("--cloudtrail %s: %w", path, errNotBuilt)
}

// accountOperations reads the account's CloudTrail event history, for a run against a real
// account with CLOUDTRAIL=true. At the merge this becomes the cloudtrail package's client.
func accountOperations(aws.Config) (monitor.Operations, error) {
	return nil, fmt.Errorf("CLOUDTRAIL=true (set CLOUDTRAIL=false to run without it): %w", errNotBuilt)
}
