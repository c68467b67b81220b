// Package cloudtrail reads Amazon Connect's phone-number operations (ClaimPhoneNumber,
// UpdatePhoneNumber, ReleasePhoneNumber) from the account's CloudTrail event history, through
// aws-sdk-go-v2's LookupEvents, paced under CloudTrail's quota of 2 lookups/s per account and
// Region, which every other caller shares. LoadFile reads the same operations from what
// `aws cloudtrail lookup-events` prints, for local runs.
package cloudtrail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"
	"golang.org/x/time/rate"

	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/pacing"
	"github.com/phonewatch/phonewatch/internal/status"
)

// Action is the IAM action behind every call, named in every error. It has no
// resource-level permission: a policy grants it on Resource "*".
const Action = "cloudtrail:LookupEvents"

// ErrAccessDenied is wrapped in the error of a lookup that CloudTrail answered with
// AccessDeniedException.
var ErrAccessDenied = errors.New("access denied by CloudTrail")

// ErrPageLimit is wrapped in the error of a lookup that stopped at Options.MaxPages with
// more events to read: the oldest events of the range are missing.
var ErrPageLimit = errors.New("too many events to read in one lookup")

// Defaults. One lookup a second leaves half of CloudTrail's 2/s to every other caller of the
// account and Region (the console's event history, other tools). 20 pages are 1,000 events.
const (
	DefaultRPS      = 1
	DefaultBurst    = 1
	DefaultMaxPages = 20
	// pageSize is LookupEvents' largest page: fewest lookups against the quota.
	pageSize = 50
	// Throttling and 5xx answers are retried by the SDK's standard retryer with jittered
	// exponential backoff, a few times and no longer than the context allows.
	maxAttempts = 4
	maxBackoff  = 2 * time.Second
)

// Options adjust a Reader.
type Options struct {
	// RPS is how many lookups a second the Reader sends at most, retries included; Burst
	// how many it may send at once. RPS <= 0 disables the pacing (for tests of throttling).
	RPS   float64
	Burst int
	// MaxPages bounds the pages each of a Lookup's lookups reads; past it Lookup goes on with
	// the next lookup and returns what it has with an error wrapping ErrPageLimit.
	MaxPages int
	// ByEventName looks up each operation by its EventName (three lookups at least) instead
	// of one lookup of every Connect event (EventSource): fewer pages where other Connect
	// calls, e.g. phonewatch's own DescribePhoneNumber, crowd the event history.
	ByEventName bool
	// ClientOptions adjust the CloudTrail client as usual (e.g. BaseEndpoint, or a shorter
	// retry backoff in tests); they cannot remove the pacing.
	ClientOptions []func(*cloudtrail.Options)
}

// Reader reads Connect's phone-number operations from CloudTrail's event history. It is
// safe for concurrent use: every attempt of every goroutine draws from one rate limiter.
type Reader struct {
	client   *cloudtrail.Client
	limiter  *rate.Limiter
	maxPages int
	byName   bool

	lookups, throttled, malformed atomic.Int64
}

var _ monitor.Operations = (*Reader)(nil)

// New returns a Reader on cfg. The endpoint comes from cfg as for any SDK client, so
// AWS_ENDPOINT_URL_CLOUDTRAIL (or AWS_ENDPOINT_URL) points it elsewhere.
func New(cfg aws.Config, optFns ...func(*Options)) *Reader {
	o := Options{RPS: DefaultRPS, Burst: DefaultBurst, MaxPages: DefaultMaxPages}
	for _, fn := range optFns {
		fn(&o)
	}
	limit := rate.Limit(o.RPS)
	if o.RPS <= 0 {
		limit = rate.Inf
	}
	r := &Reader{
		limiter:  rate.NewLimiter(limit, max(o.Burst, 1)),
		maxPages: max(o.MaxPages, 1),
		byName:   o.ByEventName,
	}
	opts := make([]func(*cloudtrail.Options), 0, len(o.ClientOptions)+2)
	opts = append(opts, func(co *cloudtrail.Options) {
		co.HTTPClient = pacing.BufferedBodies{Next: co.HTTPClient}
		co.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = maxAttempts
			so.MaxBackoff = maxBackoff
			// The SDK's retry quota would turn a throttling spell into immediate errors;
			// the pacing already bounds how fast retries go out.
			so.RateLimiter = ratelimit.None
		})
	})
	opts = append(opts, o.ClientOptions...)
	opts = append(opts, func(co *cloudtrail.Options) {
		co.APIOptions = append(co.APIOptions, pacing.Pacer{Name: "CloudTrail lookup", Limiter: r.limiter, Attempt: r.count}.Add)
	})
	r.client = cloudtrail.NewFromConfig(cfg, opts...)
	return r
}

// Lookups returns how many LookupEvents requests the Reader sent, retries included.
func (r *Reader) Lookups() int64 { return r.lookups.Load() }

// Throttled returns how many of them CloudTrail answered with a throttling error.
func (r *Reader) Throttled() int64 { return r.throttled.Load() }

// Malformed returns how many phone-number records were skipped as unreadable.
func (r *Reader) Malformed() int64 { return r.malformed.Load() }

// Lookup returns the phone-number operations Connect accepted with an event time in
// [from, to), once each by EventId, oldest first. On an error (which names Action and wraps
// the SDK's) it returns the operations read so far too.
//
// Each lookup has its own page budget (MaxPages), so that a burst of one operation (a bulk
// claim of a thousand numbers) never keeps the others from being read; a lookup that reaches
// its budget is an error (its oldest events are missing) but the next lookup still runs. Any
// other error ends the read at once: the time or the service is gone.
func (r *Reader) Lookup(ctx context.Context, from, to time.Time) ([]status.Operation, error) {
	c := newCollector(from, to)
	var limited []error
	for _, attr := range r.attributes() {
		pages := 0
		err := r.lookupAttribute(ctx, attr, c, &pages)
		switch {
		case errors.Is(err, ErrPageLimit):
			limited = append(limited, err)
		case err != nil:
			return c.operations(), errors.Join(append(limited, err)...)
		}
	}
	return c.operations(), errors.Join(limited...)
}

// attributes are the lookups that together return every phone-number operation: one
// attribute per lookup is all CloudTrail takes.
func (r *Reader) attributes() []types.LookupAttribute {
	attr := func(k types.LookupAttributeKey, v string) types.LookupAttribute {
		return types.LookupAttribute{AttributeKey: k, AttributeValue: aws.String(v)}
	}
	if !r.byName {
		return []types.LookupAttribute{attr(types.LookupAttributeKeyEventSource, connectSource)}
	}
	// Updates first: they are how a CLAIMED number turns FAILED; then releases, which confirm a
	// number gone; then claims, of which a bulk claim can bring many at once.
	return []types.LookupAttribute{
		attr(types.LookupAttributeKeyEventName, status.OpUpdate),
		attr(types.LookupAttributeKeyEventName, status.OpRelease),
		attr(types.LookupAttributeKeyEventName, status.OpClaim),
	}
}

// lookupAttribute pages through one lookup into c, counting its pages against the Reader's
// per-lookup limit.
func (r *Reader) lookupAttribute(ctx context.Context, attr types.LookupAttribute, c *collector, pages *int) error {
	in := &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{attr},
		// CloudTrail's times are inclusive at both ends; the collector drops events at c.to.
		StartTime:  aws.Time(c.from),
		EndTime:    aws.Time(c.to),
		MaxResults: aws.Int32(pageSize),
	}
	p := cloudtrail.NewLookupEventsPaginator(r.client, in, func(o *cloudtrail.LookupEventsPaginatorOptions) {
		o.StopOnDuplicateToken = true // a repeated token would otherwise page forever
	})
	for p.HasMorePages() {
		if *pages >= r.maxPages {
			return fmt.Errorf("%s: stopped after %d pages with more events from %s to %s to read: %w",
				Action, *pages, c.from.Format(time.RFC3339), c.to.Format(time.RFC3339), ErrPageLimit)
		}
		*pages++
		page, err := p.NextPage(ctx)
		if err != nil {
			return lookupError(err)
		}
		for _, ev := range page.Events {
			r.read(ctx, c, entryOf(ev))
		}
	}
	return nil
}

// read parses one event into c; a malformed record is logged, counted and skipped.
func (r *Reader) read(ctx context.Context, c *collector, e entry) {
	op, what, err := parseRecord(e)
	switch {
	case err != nil:
		r.malformed.Add(1)
		slog.WarnContext(ctx, "skipping an unreadable CloudTrail record", "eventId", e.EventID, "error", err)
	case what == kept:
		c.add(op)
	}
}

// entryOf converts the SDK's event.
func entryOf(ev types.Event) entry {
	return entry{
		EventID:         aws.ToString(ev.EventId),
		EventName:       aws.ToString(ev.EventName),
		EventSource:     aws.ToString(ev.EventSource),
		EventTime:       aws.ToTime(ev.EventTime),
		CloudTrailEvent: aws.ToString(ev.CloudTrailEvent),
	}
}

// lookupError wraps an SDK error with Action; AccessDeniedException also wraps
// ErrAccessDenied and says what to do.
func lookupError(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "AccessDeniedException" {
		return fmt.Errorf("%s: %w: grant the function's role %s on Resource \"*\" (it has no "+
			"resource-level permission), or set CLOUDTRAIL=false: %w", Action, ErrAccessDenied, Action, err)
	}
	return fmt.Errorf("%s: %w", Action, err)
}

// collector keeps the operations of [from, to), once each by event ID.
type collector struct {
	from, to time.Time
	seen     map[string]bool
	ops      []status.Operation
}

func newCollector(from, to time.Time) *collector {
	return &collector{from: from, to: to, seen: make(map[string]bool)}
}

func (c *collector) add(op status.Operation) {
	if op.At.Before(c.from) || !op.At.Before(c.to) || c.seen[op.EventID] {
		return
	}
	c.seen[op.EventID] = true
	c.ops = append(c.ops, op)
}

// operations returns what was collected, oldest first (same instant: by event ID).
func (c *collector) operations() []status.Operation {
	slices.SortFunc(c.ops, func(a, b status.Operation) int {
		switch {
		case a.Newer(&b):
			return 1
		case b.Newer(&a):
			return -1
		}
		return 0
	})
	return c.ops
}

// count counts one lookup attempt, and a throttled answer.
func (r *Reader) count(err error) {
	r.lookups.Add(1)
	if err != nil && retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary {
		r.throttled.Add(1)
	}
}
