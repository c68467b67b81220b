package cloudtrailtest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/phonewatch/phonewatch/internal/cloudtrail/cloudtrailtest"
)

// The server refuses what CloudTrail refuses, before any lookup.
func TestServerRefuses(t *testing.T) {
	srv := cloudtrailtest.NewServer()
	defer srv.Close()
	srv.SetRateLimit(0, 0) // the default 2/s would answer most of these ThrottlingException
	signed := "AWS4-HMAC-SHA256 Credential=testing/20261126/us-east-1/cloudtrail/aws4_request, SignedHeaders=host, Signature=00"
	for _, c := range []struct {
		name, target, auth, body string
		code                     int
		errorType                string
	}{
		{"another operation", "CloudTrail_20131101.DescribeTrails", signed, `{}`, 400, "UnknownOperationException"},
		{"unsigned", cloudtrailtest.Target, "", `{}`, 403, "MissingAuthenticationTokenException"},
		{"two attributes", cloudtrailtest.Target, signed,
			`{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"a"},{"AttributeKey":"EventName","AttributeValue":"b"}]}`,
			400, "InvalidLookupAttributesException"},
		{"51 a page", cloudtrailtest.Target, signed, `{"MaxResults":51}`, 400, "InvalidMaxResultsException"},
		{"start after end", cloudtrailtest.Target, signed, `{"StartTime":20,"EndTime":10}`, 400, "InvalidTimeRangeException"},
		{"foreign token", cloudtrailtest.Target, signed, `{"NextToken":"abc"}`, 400, "InvalidNextTokenException"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader([]byte(c.body)))
			req.Header.Set("X-Amz-Target", c.target)
			req.Header.Set("Authorization", c.auth)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Type string `json:"__type"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != c.code || body.Type != c.errorType {
				t.Errorf("answered %d %q, want %d %q", resp.StatusCode, body.Type, c.code, c.errorType)
			}
		})
	}
}
