package connecttest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/connect/types"

	"github.com/phonewatch/phonewatch/internal/connect/connecttest"
)

// A test puts numbers, points a real SDK client at the server and changes what it answers.
func Example() {
	srv := connecttest.NewServer()
	defer srv.Close()
	srv.Put(connecttest.NewSummary("11111111-0000-4000-8000-000000000001", "+18005550100", "", "CLAIMED", ""))

	client := connect.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(srv.URL), // a child process gets AWS_ENDPOINT_URL_CONNECT=srv.URL
	}, func(o *connect.Options) { o.RetryMaxAttempts = 1 })
	describe := func() {
		out, err := client.DescribePhoneNumber(context.Background(), &connect.DescribePhoneNumberInput{
			PhoneNumberId: aws.String("arn:aws:connect:us-east-1:123456789012:phone-number/11111111-0000-4000-8000-000000000001"),
		})
		var notFound *types.ResourceNotFoundException
		switch {
		case errors.As(err, &notFound):
			fmt.Println("ResourceNotFoundException")
		case err != nil:
			fmt.Println("error:", err)
		default:
			st := out.ClaimedPhoneNumberSummary.PhoneNumberStatus
			fmt.Println(strings.TrimSpace(string(st.Status) + " " + aws.ToString(st.Message)))
		}
	}

	describe()
	srv.SetStatus("11111111-0000-4000-8000-000000000001", "FAILED", "Claim failed: retry within one day.")
	describe()
	srv.Remove("11111111-0000-4000-8000-000000000001")
	describe()
	fmt.Println(srv.TotalDescribes(), "describes")
	// Output:
	// CLAIMED
	// FAILED Claim failed: retry within one day.
	// ResourceNotFoundException
	// 3 describes
}
