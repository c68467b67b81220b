// Package quotas reads the account's Amazon Connect phone-number quota from Service Quotas
// (aws-sdk-go-v2's GetServiceQuota), for the claim/release budget: Connect lets an account
// claim and release up to 200 % of "your phone number service level quota" in a rolling 180
// days.
//
// The quota is Connect's "Phone numbers per instance" (service code connect, quota code
// L-8F812903: Connect's service-quotas page lists it, adjustable, with that code). Connect has
// no account-wide phone-number quota; this is the one the ClaimPhoneNumber reference means by
// the phone-number quota. It is a per-instance quota: GetServiceQuota without a ContextId
// answers the account-level value (what every instance has unless an instance was raised on
// its own). phonewatch takes that value and does not add the instances up: with several
// instances the rule's "maximum number of active phone numbers" is not documented as their sum,
// and the smaller reading warns early rather than late. An operator who knows better sets
// PHONE_NUMBER_QUOTA.
package quotas

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/smithy-go"
)

// The quota phonewatch reads, and the IAM action that reads it (granted on the quota's ARN,
// arn:<partition>:servicequotas:<region>:<account>:connect/L-8F812903).
const (
	ServiceCode = "connect"
	QuotaCode   = "L-8F812903"
	QuotaName   = "Phone numbers per instance"
	Action      = "servicequotas:GetServiceQuota"
)

// cacheFor is how long a value read is kept: a quota changes by a support case, not by the
// minute, and a warm Lambda need not ask every run.
const cacheFor = time.Hour

// Reader reads the phone-number quota, caching a value for an hour. Safe for concurrent use.
type Reader struct {
	client *servicequotas.Client
	now    func() time.Time

	mu    sync.Mutex
	value int
	at    time.Time
}

// New returns a Reader on cfg (AWS_ENDPOINT_URL_SERVICE_QUOTAS points it elsewhere).
func New(cfg aws.Config, optFns ...func(*servicequotas.Options)) *Reader {
	return &Reader{client: servicequotas.NewFromConfig(cfg, optFns...), now: time.Now}
}

// Source names where the value comes from, for the summary and the notification.
func Source() string {
	return "Service Quotas " + ServiceCode + "/" + QuotaCode + " (" + QuotaName + ")"
}

// PhoneNumberQuota returns the account-level applied value of the quota. An error names the
// action and says what to do instead (PHONE_NUMBER_QUOTA).
func (r *Reader) PhoneNumberQuota(ctx context.Context) (int, error) {
	r.mu.Lock()
	if r.value > 0 && r.now().Sub(r.at) < cacheFor {
		v := r.value
		r.mu.Unlock()
		return v, nil
	}
	r.mu.Unlock()
	out, err := r.client.GetServiceQuota(ctx, &servicequotas.GetServiceQuotaInput{
		ServiceCode: aws.String(ServiceCode), QuotaCode: aws.String(QuotaCode),
	})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "AccessDeniedException" {
			return 0, fmt.Errorf("%s %s/%s: access denied: grant the function's role %s on the quota's ARN, or set "+
				"PHONE_NUMBER_QUOTA: %w", Action, ServiceCode, QuotaCode, Action, err)
		}
		return 0, fmt.Errorf("%s %s/%s (set PHONE_NUMBER_QUOTA to do without): %w", Action, ServiceCode, QuotaCode, err)
	}
	if out.Quota == nil || out.Quota.Value == nil {
		return 0, fmt.Errorf("%s %s/%s: no value in the answer (set PHONE_NUMBER_QUOTA)", Action, ServiceCode, QuotaCode)
	}
	v := *out.Quota.Value
	if v < 1 || v > math.MaxInt32 || math.IsNaN(v) {
		return 0, fmt.Errorf("%s %s/%s: value %v is not a usable quota (set PHONE_NUMBER_QUOTA)", Action, ServiceCode, QuotaCode, v)
	}
	r.mu.Lock()
	r.value, r.at = int(v), r.now()
	r.mu.Unlock()
	return int(v), nil
}
