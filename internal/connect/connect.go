// Package connect is phonewatch's source of phone numbers: it lists and describes Amazon Connect
// phone numbers through aws-sdk-go-v2, paced so that a run stays within Connect's API quota.
package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/connect/types"
	"golang.org/x/time/rate"

	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/pacing"
	"github.com/phonewatch/phonewatch/internal/status"
)

// ErrAccessDenied is wrapped in the error of a call that Connect answered with
// AccessDeniedException; the error's text names the IAM action the role lacks.
var ErrAccessDenied = errors.New("access denied by Amazon Connect")

// The IAM actions behind the two calls, named in access-denied errors.
const (
	actionList     = "connect:ListPhoneNumbersV2"
	actionDescribe = "connect:DescribePhoneNumber"
)

// Retry policy. Throttling and 5xx answers are retried by the SDK's standard retryer with
// jittered exponential backoff (1 s base for throttling); the caller's context deadline ends
// the retries early.
const (
	maxAttempts = 5
	maxBackoff  = 4 * time.Second
	// listPageSize is ListPhoneNumbersV2's largest page: fewest requests against the quota.
	listPageSize = 1000
	// headroom is how many tokens of Connect's bucket the limiter leaves unspent. Connect
	// counts a request when it arrives; the limiter, when it lets it go. A request that
	// arrives sooner after its send than an earlier one did (the first burst is slowed by
	// new connections and by every goroutine signing at once; later requests reuse
	// connections) would find Connect's bucket a fraction of a token short and be throttled,
	// costing a retry. One token absorbs up to 1/rps of such variation (500 ms at the
	// default 2/s), for 1/rps more per run.
	headroom = 1
)

// Source lists and describes Connect phone numbers. It is safe for concurrent use: every
// request of every goroutine, retries included, draws from one rate limiter.
type Source struct {
	client  *connect.Client
	limiter *rate.Limiter
}

var _ monitor.Source = (*Source)(nil)

// New returns a Source on cfg that sends at most rps requests per second to Connect, with
// bursts of up to burst-1 requests: one request of Connect's burst is kept in reserve (see
// headroom). rps <= 0 disables the client-side pacing (for callers that pace elsewhere); a
// burst below 2 is taken as 1, with no reserve. optFns adjust the Connect client as usual
// (e.g. BaseEndpoint, or a shorter retry backoff in tests); they cannot remove the pacing.
func New(cfg aws.Config, rps float64, burst int, optFns ...func(*connect.Options)) *Source {
	limit := rate.Limit(rps)
	if rps <= 0 {
		limit = rate.Inf
	}
	s := &Source{limiter: rate.NewLimiter(limit, max(burst-headroom, 1))}

	opts := make([]func(*connect.Options), 0, len(optFns)+2)
	opts = append(opts, func(o *connect.Options) {
		o.HTTPClient = pacing.BufferedBodies{Next: o.HTTPClient} // the SDK's default client by now, or cfg's
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = maxAttempts
			so.MaxBackoff = maxBackoff
			// The SDK's retry quota (a token bucket that fails requests once too many
			// retries failed) would turn a throttling spell into immediate errors for every
			// goroutine. The pacing below already bounds how fast retries go out, so the
			// quota only adds failures here.
			so.RateLimiter = ratelimit.None
		})
	})
	opts = append(opts, optFns...)
	opts = append(opts, func(o *connect.Options) {
		o.APIOptions = append(o.APIOptions, pacing.Pacer{Name: "Connect request", Limiter: s.limiter}.Add)
	})
	s.client = connect.NewFromConfig(cfg, opts...)
	return s
}

// List returns the numbers claimed to each target ARN (instance or traffic distribution
// group), or to the whole account and Region when targets is empty, once each by
// PhoneNumberId. When some targets fail it still returns the numbers it could list, with an
// error that names each failed target.
func (s *Source) List(ctx context.Context, targets []string) ([]status.Number, error) {
	if len(targets) == 0 {
		targets = []string{""}
	}
	var (
		out  []status.Number
		seen = make(map[string]bool)
		errs []error
	)
	for _, target := range targets {
		err := s.listTarget(ctx, target, func(n status.Number) {
			if !seen[n.ID] {
				seen[n.ID] = true
				out = append(out, n)
			}
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// listTarget pages through ListPhoneNumbersV2 for one target ("" for the whole account).
func (s *Source) listTarget(ctx context.Context, target string, add func(status.Number)) error {
	in := &connect.ListPhoneNumbersV2Input{MaxResults: aws.Int32(listPageSize)}
	what := "list phone numbers of the account"
	if target != "" {
		in.TargetArn = aws.String(target)
		what = "list phone numbers of " + target
	}
	pages := connect.NewListPhoneNumbersV2Paginator(s.client, in, func(o *connect.ListPhoneNumbersV2PaginatorOptions) {
		o.StopOnDuplicateToken = true // a repeated token would otherwise page forever
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return apiError(what, actionList, err)
		}
		for _, ls := range page.ListPhoneNumbersSummaryList {
			n, ok := numberOf(ls)
			if !ok {
				slog.WarnContext(ctx, "skipping a listed phone number without PhoneNumberId or PhoneNumberArn",
					"target", target)
				continue
			}
			add(n)
		}
	}
	return nil
}

// numberOf converts a list entry. An entry without an ID takes it from its ARN (Connect's
// phone number ARNs end in phone-number/<PhoneNumberId>); one with neither cannot be
// described, so ok is false.
func numberOf(ls types.ListPhoneNumbersSummary) (status.Number, bool) {
	n := status.Number{
		ID:          aws.ToString(ls.PhoneNumberId),
		ARN:         aws.ToString(ls.PhoneNumberArn),
		E164:        aws.ToString(ls.PhoneNumber),
		CountryCode: string(ls.PhoneNumberCountryCode),
		Type:        string(ls.PhoneNumberType),
		Description: aws.ToString(ls.PhoneNumberDescription),
		TargetARN:   aws.ToString(ls.TargetArn),
		InstanceID:  aws.ToString(ls.InstanceId),
	}
	if n.ID == "" {
		if _, id, found := strings.Cut(n.ARN, ":phone-number/"); found && id != "" && !strings.Contains(id, "/") {
			n.ID = id
		}
	}
	return n, n.ID != ""
}

// Describe returns the summary of one number, by PhoneNumberId or PhoneNumberArn (by ARN
// where known: a traffic distribution group's number is found from its other Region only by
// ARN). The summary is unvalidated: a field Connect left out stays nil. Errors wrap
// status.ErrNotFound for ResourceNotFoundException and ErrAccessDenied for
// AccessDeniedException.
func (s *Source) Describe(ctx context.Context, idOrARN string) (*status.Summary, error) {
	out, err := s.client.DescribePhoneNumber(ctx, &connect.DescribePhoneNumberInput{
		PhoneNumberId: aws.String(idOrARN),
	})
	what := "describe " + idOrARN
	var notFound *types.ResourceNotFoundException
	switch {
	case errors.As(err, &notFound):
		return nil, fmt.Errorf("%s: %w: %w", what, status.ErrNotFound, err)
	case err != nil:
		return nil, apiError(what, actionDescribe, err)
	}
	if out.ClaimedPhoneNumberSummary == nil {
		return nil, fmt.Errorf("%s: %w", what,
			&status.ValidationError{Field: "ClaimedPhoneNumberSummary", Value: `""`, Rule: "missing"})
	}
	return summaryOf(out.ClaimedPhoneNumberSummary), nil
}

// summaryOf converts the SDK's summary to the domain's, keeping absent fields nil (the SDK
// gives absent enums as "", which become nil too) so that validation can name them.
func summaryOf(c *types.ClaimedPhoneNumberSummary) *status.Summary {
	s := &status.Summary{
		PhoneNumberID:          c.PhoneNumberId,
		PhoneNumberArn:         c.PhoneNumberArn,
		PhoneNumber:            c.PhoneNumber,
		PhoneNumberCountryCode: enum(c.PhoneNumberCountryCode),
		PhoneNumberType:        enum(c.PhoneNumberType),
		PhoneNumberDescription: c.PhoneNumberDescription,
		TargetArn:              c.TargetArn,
		InstanceID:             c.InstanceId,
		SourcePhoneNumberArn:   c.SourcePhoneNumberArn,
		Tags:                   maps.Clone(c.Tags),
	}
	if st := c.PhoneNumberStatus; st != nil {
		s.PhoneNumberStatus = &status.PhoneNumberStatus{Status: enum(st.Status), Message: st.Message}
	}
	return s
}

// enum returns a pointer to an SDK enum's value, or nil for the empty (absent) value.
func enum[E ~string](e E) *string {
	if e == "" {
		return nil
	}
	v := string(e)
	return &v
}

// apiError wraps an SDK error with what was being done; an AccessDeniedException also wraps
// ErrAccessDenied and names the IAM action the role needs.
func apiError(what, action string, err error) error {
	var denied *types.AccessDeniedException
	if errors.As(err, &denied) {
		return fmt.Errorf("%s: %w (the role needs IAM action %s): %w", what, ErrAccessDenied, action, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
