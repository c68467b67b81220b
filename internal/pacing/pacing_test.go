package pacing

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
)

type nextFunc func(context.Context, middleware.FinalizeInput) (middleware.FinalizeOutput, middleware.Metadata, error)

func (f nextFunc) HandleFinalize(ctx context.Context, in middleware.FinalizeInput) (middleware.FinalizeOutput, middleware.Metadata, error) {
	return f(ctx, in)
}

// TestPacerRefusesAWaitPastTheDeadline: an attempt whose turn would come after the deadline
// is refused at once, as a canceled request (never retried) that unwraps to
// context.DeadlineExceeded, and is not sent.
func TestPacerRefusesAWaitPastTheDeadline(t *testing.T) {
	sent := 0
	var outcomes []error
	p := Pacer{Name: "test call", Limiter: rate.NewLimiter(rate.Every(time.Hour), 1), Attempt: func(err error) { outcomes = append(outcomes, err) }}
	next := nextFunc(func(context.Context, middleware.FinalizeInput) (middleware.FinalizeOutput, middleware.Metadata, error) {
		sent++
		return middleware.FinalizeOutput{}, middleware.Metadata{}, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, _, err := p.HandleFinalize(ctx, middleware.FinalizeInput{}, next); err != nil {
		t.Fatalf("first attempt (burst 1): %v", err)
	}
	start := time.Now()
	_, _, err := p.HandleFinalize(ctx, middleware.FinalizeInput{}, next)
	var canceled *aws.RequestCanceledError
	if !errors.As(err, &canceled) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "test call rate") {
		t.Errorf("second attempt: %v; want a canceled request unwrapping to DeadlineExceeded, naming the rate", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("the refusal waited %s; it should be at once", time.Since(start))
	}
	if sent != 1 || len(outcomes) != 1 || outcomes[0] != nil {
		t.Errorf("sent %d, outcomes %v; want the first attempt only, counted once", sent, outcomes)
	}
}

type recorder struct{ bodies []string }

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	r.bodies = append(r.bodies, string(b))
	again, _ := req.GetBody()
	b2, _ := io.ReadAll(again)
	r.bodies = append(r.bodies, string(b2))
	return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
}

// TestBufferedBodies: the transport gets a copy it can read (and re-read) after the caller's
// own body is closed.
func TestBufferedBodies(t *testing.T) {
	rec := &recorder{}
	body := io.NopCloser(strings.NewReader(`{"MaxResults":50}`))
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/", body)
	resp, err := BufferedBodies{Next: rec}.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if len(rec.bodies) != 2 || rec.bodies[0] != `{"MaxResults":50}` || rec.bodies[1] != rec.bodies[0] {
		t.Errorf("the transport read %q, want the body twice", rec.bodies)
	}
}
