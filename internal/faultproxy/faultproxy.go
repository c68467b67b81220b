// Package faultproxy is a reverse proxy for tests that stands between an AWS SDK client and a
// real server (moto_server, say) and answers chosen requests with faults that server never
// produces on its own: an AWS JSON-protocol error (throttling, 5xx), a hang, or a lost
// response after the server has already applied the request. Every other request passes
// through untouched, so the client and the server both stay real.
//
// Point the client's BaseEndpoint at Proxy.URL. Requests are matched by their operation: the
// X-Amz-Target header of the JSON protocols (DynamoDB, SQS): "Scan" matches
// "DynamoDB_20120810.Scan"; or the Action of the query protocol's form body (SNS, which
// aws-sdk-go-v2/service/sns still speaks): "PublishBatch" matches "Action=PublishBatch&...".
// A fault is answered in the protocol of the request it answers: a JSON error to a JSON
// request, the query protocol's XML ErrorResponse to a query request.
package faultproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// maxQueryBody bounds how much of a query-protocol body Operation reads to find its Action: an
// SNS PublishBatch is at most 256 KiB of messages, form-encoded.
const maxQueryBody = 4 << 20

// Fault is one injected answer.
type Fault struct {
	// Status is the HTTP status of the answer, e.g. 400 or 500.
	Status int
	// Type is the AWS error type, sent as the x-amzn-ErrorType header and as __type in the
	// JSON body, e.g. "com.amazonaws.dynamodb.v20120810#ThrottlingException". To a query
	// request it is the error's Code (what follows any '#'), e.g. "Throttled".
	Type string
	// Message is the error's message in the body.
	Message string
	// Delay holds the answer back this long (a slow or hung server); it ends early when the
	// client gives up on the request.
	Delay time.Duration
	// AfterForward sends the request on to the real server first and answers the fault
	// instead of its response: the server applied the request, the client never learns it.
	AfterForward bool
	// Reset closes the connection instead of answering (after forwarding, with AfterForward):
	// the client sent its request and gets no answer at all, as when a connection is reset.
	Reset bool
}

// DynamoDB's own fault answers, as DynamoDB sends them.
var (
	// DynamoThrottling is DynamoDB refusing a request over the account's or table's rate.
	DynamoThrottling = Fault{
		Status:  http.StatusBadRequest,
		Type:    "com.amazonaws.dynamodb.v20120810#ThrottlingException",
		Message: "Rate of requests exceeds the allowed throughput.",
	}
	// DynamoInternal is a DynamoDB server error, which clients retry.
	DynamoInternal = Fault{
		Status:  http.StatusInternalServerError,
		Type:    "com.amazonaws.dynamodb.v20120810#InternalServerError",
		Message: "Internal server error",
	}
)

// SNS's own fault answers, as SNS sends them over the query protocol.
var (
	// SNSThrottled is SNS refusing a request over the account's rate (ThrottledException):
	// nothing was accepted, so a client may safely send it again.
	SNSThrottled = Fault{
		Status:  http.StatusTooManyRequests,
		Type:    "Throttled",
		Message: "Rate exceeded",
	}
	// SNSInternal is an SNS server error (InternalErrorException). With AfterForward it is the
	// answer lost after SNS accepted the request.
	SNSInternal = Fault{
		Status:  http.StatusInternalServerError,
		Type:    "InternalError",
		Message: "Internal error",
	}
)

// Proxy is a running fault-injecting proxy. Create it with New. It is safe for concurrent use.
type Proxy struct {
	// URL is the proxy's base URL: the endpoint to give the client.
	URL string

	rp *httputil.ReverseProxy

	mu       sync.Mutex
	queued   map[string][]Fault // by operation; "" matches any request
	calls    map[string]int     // requests seen, by operation
	injected int
	serial   bool
	// forwarding is held around each forwarded request while serial is on.
	forwarding sync.Mutex
}

// faultKey carries the fault chosen for a request from ServeHTTP to ModifyResponse, as a
// chosen value.
type faultKey struct{}

// chosen is a fault and the protocol to answer it in.
type chosen struct {
	Fault
	query bool
}

// New starts a proxy to target (e.g. the moto_server URL), closed when t ends.
func New(t testing.TB, target string) *Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		t.Fatalf("faultproxy: target %q is not a base URL: %v", target, err)
	}
	p := &Proxy{queued: map[string][]Fault{}, calls: map[string]int{}}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host // a transparent proxy: the server sees the client's request
		},
		ModifyResponse: func(resp *http.Response) error {
			f, ok := resp.Request.Context().Value(faultKey{}).(chosen)
			if !ok {
				return nil
			}
			_ = resp.Body.Close() // the server's real answer is what gets lost
			if !pause(resp.Request.Context(), f.Delay) {
				return resp.Request.Context().Err()
			}
			status, header, body := f.answer(f.query)
			resp.StatusCode, resp.Status = status, strconv.Itoa(status)+" "+http.StatusText(status)
			resp.Header = header
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			return nil
		},
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// Inject makes the next n requests of operation op ("" for any request) answer f. Calls add
// up: faults queued for op come before those queued for any request.
func (p *Proxy) Inject(op string, n int, f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range n {
		p.queued[op] = append(p.queued[op], f)
	}
}

// Serialize makes the proxy forward one request at a time from now on. A real AWS service
// applies each request atomically (a DynamoDB transaction is isolated from every other); a
// test server need not: moto_server's TransactWriteItems copies each table it touches and
// restores that copy when the transaction is cancelled, wiping whatever a concurrent request
// wrote meanwhile. Serialized, the server's requests are atomic again, so that a test of
// concurrent clients tests the clients, not the server's races.
func (p *Proxy) Serialize() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serial = true
}

// Clear drops every fault still queued: the server is healthy again.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.queued)
}

// Calls returns how many requests of operation op arrived ("" for all), faulted or not.
func (p *Proxy) Calls(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if op == "" {
		n := 0
		for _, c := range p.calls {
			n += c
		}
		return n
	}
	return p.calls[op]
}

// Injected returns how many faults were answered so far.
func (p *Proxy) Injected() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.injected
}

// Pending returns how many queued faults are still to be answered.
func (p *Proxy) Pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, q := range p.queued {
		n += len(q)
	}
	return n
}

// ServeHTTP answers the next queued fault for the request's operation, or forwards it.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := Operation(r)
	query := r.Header.Get("X-Amz-Target") == "" && op != ""
	f, ok, serial := p.take(op)
	if serial && (!ok || f.AfterForward) {
		p.forwarding.Lock()
		defer p.forwarding.Unlock()
	}
	switch {
	case !ok:
		p.rp.ServeHTTP(w, r)
	case f.Reset:
		if f.AfterForward {
			p.rp.ServeHTTP(httptest.NewRecorder(), r) // applied; its answer is dropped
		} else {
			_, _ = io.Copy(io.Discard, r.Body)
		}
		if !pause(r.Context(), f.Delay) {
			return
		}
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
			}
		}
	case f.AfterForward:
		p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), faultKey{}, chosen{f, query})))
	default:
		// Read the request first, as a server does: only then does net/http watch the
		// connection and end r's context when the client hangs up.
		_, _ = io.Copy(io.Discard, r.Body)
		if !pause(r.Context(), f.Delay) {
			return // the client gave up: nobody to answer
		}
		status, header, body := f.answer(query)
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

// take counts the request and pops the fault it is to get, if any; serial reports whether
// forwarding is serialized.
func (p *Proxy) take(op string) (f Fault, ok, serial bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls[op]++
	for _, key := range []string{op, ""} {
		if q := p.queued[key]; len(q) > 0 {
			p.queued[key] = q[1:]
			p.injected++
			return q[0], true, p.serial
		}
	}
	return Fault{}, false, p.serial
}

// Operation is the request's operation name from its X-Amz-Target header ("Scan" of
// "DynamoDB_20120810.Scan"), else the Action of a query-protocol form body ("PublishBatch" of
// "Action=PublishBatch&..."), or "" when it has neither. Reading the form leaves r.Body as it
// was, so the request can still be forwarded.
func Operation(r *http.Request) string {
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		return target[strings.LastIndex(target, ".")+1:]
	}
	return queryAction(r)
}

// queryAction is the Action of a form-encoded POST (the AWS query protocol), restoring the body.
func queryAction(r *http.Request) string {
	if r.Method != http.MethodPost || r.Body == nil ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return ""
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxQueryBody))
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
	if err != nil {
		return ""
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return ""
	}
	return form.Get("Action")
}

// answer is the fault in the request's protocol: the query protocol's XML when query is set,
// else the AWS JSON error.
func (f Fault) answer(query bool) (int, http.Header, []byte) {
	if query {
		return f.queryAnswer()
	}
	return f.jsonAnswer()
}

// queryAnswer is the fault as the AWS query protocol writes an error (SNS, for one): an XML
// ErrorResponse whose Error has Type Sender (4xx) or Receiver (5xx), the Code and the Message.
func (f Fault) queryAnswer() (int, http.Header, []byte) {
	type queryError struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	who := "Sender"
	if f.Status >= http.StatusInternalServerError {
		who = "Receiver"
	}
	id := requestID()
	body, _ := xml.Marshal(struct {
		XMLName   xml.Name   `xml:"ErrorResponse"`
		Error     queryError `xml:"Error"`
		RequestID string     `xml:"RequestId"`
	}{Error: queryError{who, f.Type[strings.LastIndex(f.Type, "#")+1:], f.Message}, RequestID: id})
	h := http.Header{}
	h.Set("Content-Type", "text/xml")
	h.Set("X-Amzn-Requestid", id)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return f.Status, h, body
}

func requestID() string { return "faultproxy-" + strconv.FormatInt(time.Now().UnixNano(), 36) }

// jsonAnswer is the fault as the AWS JSON 1.0 protocol writes an error: the type in the header
// and in the body, and the body's CRC32 as DynamoDB sends it (its client checks it).
func (f Fault) jsonAnswer() (int, http.Header, []byte) {
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{f.Type, f.Message})
	h := http.Header{}
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("X-Amzn-Errortype", f.Type)
	h.Set("X-Amzn-Requestid", requestID())
	h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return f.Status, h, body
}

// pause waits d, or less if ctx ends first; it reports whether the whole wait passed.
func pause(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
