package quotas_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas/types"

	"github.com/phonewatch/phonewatch/internal/quotas"
	"github.com/phonewatch/phonewatch/internal/quotas/quotastest"
)

func newReader(t *testing.T) (*quotas.Reader, *quotastest.Server) {
	t.Helper()
	srv := quotastest.NewServer()
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(srv.URL),
	}
	return quotas.New(cfg, func(o *servicequotas.Options) { o.RetryMaxAttempts = 1 }), srv
}

func TestPhoneNumberQuotaReadsConnectsQuotaOnce(t *testing.T) {
	r, srv := newReader(t)
	srv.Set("connect", "L-8F812903", 99)
	srv.Set("connect", "L-9A46857E", 500) // users per instance: not this one
	for range 3 {
		v, err := r.PhoneNumberQuota(context.Background())
		if err != nil || v != 99 {
			t.Fatalf("quota %d, %v; want 99", v, err)
		}
	}
	if srv.Calls() != 1 {
		t.Errorf("%d calls, want 1 (the value is cached)", srv.Calls())
	}
}

func TestPhoneNumberQuotaErrors(t *testing.T) {
	r, srv := newReader(t)
	_, err := r.PhoneNumberQuota(context.Background())
	var nsr *types.NoSuchResourceException
	if !errors.As(err, &nsr) || !strings.Contains(err.Error(), "PHONE_NUMBER_QUOTA") {
		t.Errorf("no such quota: %v", err)
	}
	srv.Fail("AccessDeniedException")
	_, err = r.PhoneNumberQuota(context.Background())
	if err == nil || !strings.Contains(err.Error(), quotas.Action) || !strings.Contains(err.Error(), "access denied") {
		t.Errorf("access denied: %v", err)
	}
	srv.Fail("")
	srv.Set("connect", "L-8F812903", 0)
	if _, err = r.PhoneNumberQuota(context.Background()); err == nil {
		t.Error("a quota of 0 is no limit to count against")
	}
}
