package cloudtrailtest_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"

	"github.com/phonewatch/phonewatch/internal/cloudtrail/cloudtrailtest"
)

// A test adds events, points a real SDK client at the server and changes what it answers.
func Example() {
	srv := cloudtrailtest.NewServer()
	defer srv.Close()
	at := time.Date(2026, 11, 26, 5, 12, 7, 0, time.UTC)
	srv.Add(
		cloudtrailtest.Claim("+18005550100", "arn:aws:connect:us-east-1:123456789012:instance/i1",
			"7c1e5a0b", "arn:aws:sts::123456789012:assumed-role/ConnectAdmin/alice", at),
		cloudtrailtest.Event{Name: "CreateQueue", Time: at.Add(time.Minute)},
	)

	client := cloudtrail.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(srv.URL), // a child process gets AWS_ENDPOINT_URL_CLOUDTRAIL=srv.URL
	}, func(o *cloudtrail.Options) { o.RetryMaxAttempts = 1 })
	lookup := func(name string) {
		out, err := client.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{
			LookupAttributes: []types.LookupAttribute{{
				AttributeKey: types.LookupAttributeKeyEventName, AttributeValue: aws.String(name),
			}},
		})
		var ae smithy.APIError
		switch {
		case errors.As(err, &ae):
			fmt.Println(ae.ErrorCode())
		case err != nil:
			fmt.Println("error:", err)
		default:
			for _, e := range out.Events {
				fmt.Println(aws.ToString(e.EventName), aws.ToString(e.Username), e.EventTime.UTC().Format(time.RFC3339))
			}
		}
	}

	lookup("ClaimPhoneNumber")
	srv.FailNext(400, "AccessDeniedException", 1)
	lookup("ClaimPhoneNumber")
	fmt.Println(srv.Calls(), "lookups")
	// Output:
	// ClaimPhoneNumber alice 2026-11-26T05:12:07Z
	// AccessDeniedException
	// 2 lookups
}
