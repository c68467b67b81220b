package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptrace"
	"strconv"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/phonewatch/phonewatch/internal/monitor"
	"github.com/phonewatch/phonewatch/internal/status"
)

// SNS limits for PublishBatch: at most 10 entries a call, and 256 KiB for one message as for
// all the messages of one call together.
const (
	maxBatchEntries = 10
	maxBatchBytes   = 256 * 1024
)

// ErrTooLarge is the error of a notification whose rendered message exceeds maxEntryBytes even
// with its strings capped (which no notification Decide makes can: TestLargestMessage); it is
// never sent, and never holds back the others.
var ErrTooLarge = errors.New("message larger than phonewatch sends (128 KiB, half of what SNS accepts)")

// RejectedError is SNS refusing one entry of a PublishBatch call that it otherwise answered: the
// Failed list of the response.
type RejectedError struct {
	Code        string
	Message     string
	SenderFault bool // the request was wrong, so sending it again as is will fail again
}

func (e *RejectedError) Error() string {
	who := "SNS"
	if e.SenderFault {
		who = "SNS (sender fault)"
	}
	return fmt.Sprintf("%s rejected the message: %s: %s", who, e.Code, e.Message)
}

// SNS publishes notifications to one SNS topic, the one place they are sent from. Each
// notification is one PublishBatch entry with MessageStructure "json" (see Message), its
// Subject and its filterable message Attributes.
type SNS struct {
	client   *sns.Client
	topicARN string

	// Log gets one line per notification the topic accepted (phoneNumberId, event,
	// notificationId, SNS messageId); nil logs to slog.Default().
	Log *slog.Logger
	// Renderer words the messages: its Location (DISPLAY_TIMEZONE) adds local time beside UTC
	// in the text and the chat notification. The zero Renderer is UTC only; subjects and the
	// machine JSON are UTC whatever it is.
	Renderer Renderer
}

var _ monitor.Publisher = (*SNS)(nil)

// NewSNS returns a publisher to topicARN through client. The client's own retryer (the SDK's
// standard one, unless configured otherwise) is used for each call only where an error proves
// that SNS accepted nothing (see onlyRefused); the context given to Publish bounds it.
func NewSNS(client *sns.Client, topicARN string) *SNS {
	return &SNS{client: client, topicARN: topicARN}
}

// entry is one notification ready to send.
type entry struct {
	index int // in the slice given to Publish; also the entry Id, unique within a call
	n     status.Notification
	req   types.PublishBatchRequestEntry
	size  int // bytes counted against SNS's size limits: message, subject and attributes
}

// Publish sends ns in order, packed into PublishBatch calls within SNS's limits, and returns one
// error per notification (nil: the topic accepted it). A notification that cannot be rendered
// or is too large fails alone; an entry that SNS rejects fails alone (RejectedError); a call
// that fails as a whole fails each of its entries with that error.
func (p *SNS) Publish(ctx context.Context, ns []status.Notification) []error {
	errs := make([]error, len(ns))
	var batch []entry
	size := 0
	for i, n := range ns {
		e, err := newEntry(p.Renderer, i, n)
		if err != nil {
			errs[i] = err
			continue
		}
		if len(batch) == maxBatchEntries || size+e.size > maxBatchBytes {
			p.send(ctx, batch, errs)
			batch, size = nil, 0
		}
		batch = append(batch, e)
		size += e.size
	}
	if len(batch) > 0 {
		p.send(ctx, batch, errs)
	}
	return errs
}

// newEntry renders n with r into the PublishBatch entry with Id i, within maxEntryBytes: the
// strings n carries are capped (fieldCaps), more tightly while the entry is still too large.
func newEntry(r Renderer, i int, n status.Notification) (entry, error) {
	var e entry
	var err error
	for _, limit := range fieldCaps {
		e, err = render(r, i, capped(n, limit))
		if err != nil || e.size <= maxEntryBytes {
			break
		}
	}
	if err == nil && e.size > maxEntryBytes {
		err = fmt.Errorf("publish %s: %d bytes: %w", about(n), e.size, ErrTooLarge)
	}
	return e, err
}

// render words n with r into the PublishBatch entry with Id i.
func render(r Renderer, i int, n status.Notification) (entry, error) {
	msg, err := r.Message(n)
	if err != nil {
		return entry{}, err
	}
	subject := Subject(n)
	attrs := map[string]types.MessageAttributeValue{}
	size := len(msg) + len(subject)
	for k, v := range Attributes(n) {
		attrs[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		size += len(k) + len("String") + len(v)
	}
	return entry{
		index: i,
		n:     n,
		size:  size,
		req: types.PublishBatchRequestEntry{
			Id:                aws.String(strconv.Itoa(i)),
			Message:           aws.String(msg),
			MessageStructure:  aws.String("json"),
			Subject:           aws.String(subject),
			MessageAttributes: attrs,
		},
	}, nil
}

// send publishes one batch and records each entry's outcome in errs. SNS's error answer (a 4xx
// or 5xx with an error code) means it accepted nothing, so the client's retryer may send the
// call again; an attempt that got no answer (a timeout, a connection reset after the request
// went out, a 5xx that is not SNS's own) may have been accepted, is never retried, and each
// entry's error wraps status.ErrUnconfirmed: the next run sends it again with the same
// notificationId, so an unanswered attempt costs at most one copy.
func (p *SNS) send(ctx context.Context, batch []entry, errs []error) {
	reqs := make([]types.PublishBatchRequestEntry, len(batch))
	for i, e := range batch {
		reqs[i] = e.req
	}
	var sent atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		// Each attempt starts by getting a connection: nothing of it is sent yet.
		GetConn:      func(string) { sent.Store(false) },
		WroteRequest: func(w httptrace.WroteRequestInfo) { sent.Store(w.Err == nil) },
	})
	out, err := p.client.PublishBatch(ctx, &sns.PublishBatchInput{
		TopicArn:                   aws.String(p.topicARN),
		PublishBatchRequestEntries: reqs,
	}, onlyRefused(&sent))
	if err != nil {
		// An HTTP answer of any kind proves the request went out, even when the transport has
		// not yet reported the write (its WroteRequest hook may run after the response is read).
		var re *smithyhttp.ResponseError
		// (The SDK wraps a failed dial in a ResponseError too, with no status: not an answer.)
		if !answered(err) && (sent.Load() || (errors.As(err, &re) && re.HTTPStatusCode() > 0)) {
			err = fmt.Errorf("%w: %w", status.ErrUnconfirmed, err)
		}
		for _, e := range batch {
			errs[e.index] = fmt.Errorf("publish %s to %s: %w", about(e.n), p.topicARN, err)
		}
		return
	}
	record(batch, out, errs)
	p.logAccepted(ctx, batch, out, errs)
}

// logAccepted writes one line per notification of batch that the topic accepted.
func (p *SNS) logAccepted(ctx context.Context, batch []entry, out *sns.PublishBatchOutput, errs []error) {
	log := p.Log
	if log == nil {
		log = slog.Default()
	}
	ids := make(map[string]string, len(out.Successful))
	for _, s := range out.Successful {
		ids[aws.ToString(s.Id)] = aws.ToString(s.MessageId)
	}
	for _, e := range batch {
		if errs[e.index] != nil {
			continue
		}
		log.InfoContext(ctx, "notification published",
			"phoneNumberId", e.n.Number.ID, "event", string(e.n.Event),
			"notificationId", e.n.ID, "messageId", ids[aws.ToString(e.req.Id)])
	}
}

// answered reports whether err is SNS's own error answer: an HTTP 4xx or 5xx whose body names
// an error code. SNS processed the request and accepted none of it (DESIGN.md, Delivery).
func answered(err error) bool {
	var re *smithyhttp.ResponseError
	var api smithy.APIError
	return errors.As(err, &re) && re.HTTPStatusCode() >= 400 &&
		errors.As(err, &api) && api.ErrorCode() != "" && api.ErrorCode() != "UnknownError"
}

// notSent reports whether err is a connection that failed before any of the request was sent.
func notSent(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &dns) || (errors.As(err, &op) && op.Op == "dial")
}

// snsThrottles are SNS's throttling codes. ThrottledException ("Throttled", HTTP 429) is a
// modeled error, so the SDK's standard retryer, whose throttle codes lack it, would not retry it.
var snsThrottles = map[string]bool{"Throttled": true, "Throttling": true, "KMSThrottling": true}

// onlyRefused makes one PublishBatch call retry only what proves that SNS accepted nothing:
// its error answers that the retryer retries (throttling, 5xx) and a connection that failed
// before sending. A timeout or a lost answer is never retried: the entries may have been
// accepted. An attempt that proves nothing was accepted also clears sent: should the call then
// end without another attempt (its context ended in the backoff), nothing of it may have been
// accepted, and its error must not read as unconfirmed.
func onlyRefused(sent *atomic.Bool) func(*sns.Options) {
	return func(o *sns.Options) {
		if o.Retryer != nil {
			o.Retryer = refusedRetryer{Retryer: o.Retryer, sent: sent}
		}
	}
}

// refusedRetryer is a retryer that retries only errors proving nothing was accepted.
type refusedRetryer struct {
	aws.Retryer
	sent *atomic.Bool
}

func (r refusedRetryer) IsErrorRetryable(err error) bool {
	var api smithy.APIError
	switch {
	case answered(err):
		r.sent.Store(false)
		return (errors.As(err, &api) && snsThrottles[api.ErrorCode()]) || r.Retryer.IsErrorRetryable(err)
	case notSent(err):
		r.sent.Store(false)
		return r.Retryer.IsErrorRetryable(err)
	default:
		return false
	}
}

// GetAttemptToken keeps the wrapped retryer's attempt tokens (aws.RetryerV2) when it has them.
func (r refusedRetryer) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	if v2, ok := r.Retryer.(aws.RetryerV2); ok {
		return v2.GetAttemptToken(ctx)
	}
	return r.GetInitialToken(), nil
}

// record maps a PublishBatch response back to the notifications of the batch by entry Id:
// Successful entries get no error, Failed ones a RejectedError, and any entry the response does
// not mention at all an error too, since nothing says that SNS accepted it.
func record(batch []entry, out *sns.PublishBatchOutput, errs []error) {
	answered := make(map[string]error, len(batch))
	for _, s := range out.Successful {
		answered[aws.ToString(s.Id)] = nil
	}
	for _, f := range out.Failed {
		answered[aws.ToString(f.Id)] = &RejectedError{
			Code:        aws.ToString(f.Code),
			Message:     aws.ToString(f.Message),
			SenderFault: f.SenderFault,
		}
	}
	for _, e := range batch {
		err, ok := answered[aws.ToString(e.req.Id)]
		switch {
		case !ok:
			errs[e.index] = fmt.Errorf("publish %s: SNS returned no result for entry %s", about(e.n), aws.ToString(e.req.Id))
		case err != nil:
			errs[e.index] = fmt.Errorf("publish %s: %w", about(e.n), err)
		default:
			errs[e.index] = nil
		}
	}
}

// about names a notification in an error: event, number, phone number ID and notificationId.
func about(n status.Notification) string {
	return fmt.Sprintf("%s %s for %s (%s)", n.Event, status.Quote(n.ID, 80), status.Quote(n.Number.E164, 20),
		status.Quote(n.Number.ID, 80))
}
