// Package pacing holds what phonewatch's SDK clients of rate-limited, shared AWS APIs
// (Connect's DescribePhoneNumber, CloudTrail's LookupEvents) need alike: a finalize middleware
// that makes every attempt, retries included, wait for one token bucket, and an HTTP client
// that gives the transport its own copy of each request body.
package pacing

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
)

// Pacer is a finalize middleware that waits for Limiter before each attempt of a call.
type Pacer struct {
	// Name names the middleware and, in an error, the rate waited for (e.g. "Connect request").
	Name    string
	Limiter *rate.Limiter
	// Attempt, if set, is called with each attempt's outcome, after it (for counters).
	Attempt func(err error)
}

// Add puts the pacer in the finalize step right after the SDK's retry loop ("Retry"), so that
// it runs once per attempt: first attempts and retries alike wait for the limiter. It runs
// before the auth scheme, credentials and signing middlewares, so an attempt is signed only
// when its turn has come; an http.RoundTripper would also see every attempt, but after
// signing, and a request that queued for long would go out with an aging signature. Use it
// as an SDK client's APIOptions entry.
func (p Pacer) Add(stack *middleware.Stack) error {
	return stack.Finalize.Insert(p, "Retry", middleware.After)
}

// ID implements middleware.FinalizeMiddleware.
func (p Pacer) ID() string { return "phonewatch.Pacer." + p.Name }

// HandleFinalize waits for the limiter, then sends the attempt.
func (p Pacer) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
	middleware.FinalizeOutput, middleware.Metadata, error,
) {
	if err := p.Limiter.Wait(ctx); err != nil {
		cause := ctx.Err()
		if cause == nil {
			// The limiter refuses a wait that would outlast the deadline, before it passes.
			cause = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
		}
		// A canceled-request error is what the retryer never retries, and it unwraps to the
		// context's error, so callers can tell "out of time" from a failure of the service.
		return middleware.FinalizeOutput{}, middleware.Metadata{},
			&aws.RequestCanceledError{Err: fmt.Errorf("wait for the %s rate: %w", p.Name, cause)}
	}
	out, md, err := next.HandleFinalize(ctx, in)
	if p.Attempt != nil {
		p.Attempt(err)
	}
	return out, md, err
}

// Doer is the HTTP client interface every aws-sdk-go-v2 service client takes.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// BufferedBodies hands the HTTP transport an in-memory copy of each request body. The SDK
// closes a request's body as soon as the response headers arrive (smithy-go's ClientHandler),
// while net/http may still be making its final read of that body after sending it; the read
// then fails, the transport drops the connection under the response being read, and the SDK
// retries the call ("use of closed network connection", aws/aws-sdk-go-v2#2737), spending
// quota. With a copy the SDK's close has nothing to break. The bodies here are small JSON.
type BufferedBodies struct{ Next Doer }

// Do sends req with a body of its own.
func (c BufferedBodies) Do(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return c.Next.Do(req)
	}
	body, err := io.ReadAll(req.Body)
	_ = req.Body.Close() // the SDK's own reader: closing it does not touch the copy
	if err != nil {
		return nil, fmt.Errorf("read the request body: %w", err)
	}
	r := req.Clone(req.Context())
	r.ContentLength = int64(len(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r.Body, _ = r.GetBody()
	return c.Next.Do(r)
}
