// Package cloudtrailtest is a test server that speaks CloudTrail's JSON 1.1 protocol for the
// one call phonewatch makes, LookupEvents, so that tests run the real aws-sdk-go-v2 client
// against a real HTTP peer.
//
// The server listens on a loopback port, so a child process can use it too: pass srv.URL as
// AWS_ENDPOINT_URL_CLOUDTRAIL. In-process clients set BaseEndpoint to srv.URL.
//
// Events are added with Add (the helpers Claim, Update and Release build phone-number calls).
// FailNext, SetLatency and SetRateLimit change what the server answers; Calls and Throttled
// count what it was asked. Every method is safe for concurrent use.
//
// What the server checks like CloudTrail does: the X-Amz-Target header; a SigV4
// Authorization for service "cloudtrail" (403 otherwise); at most one lookup attribute, of
// the keys EventId, EventName, EventSource, ReadOnly or Username; MaxResults 1-50;
// StartTime not after EndTime (both inclusive); a NextToken it issued for the same query.
// Pages are newest first. By default it allows 2 lookups/s with a burst of 2 and answers
// 400 ThrottlingException beyond (CloudTrail documents 2/s, not its burst). It does not
// verify signatures or model Regions, accounts, categories or the 90-day retention.
package cloudtrailtest

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Target is the X-Amz-Target of LookupEvents.
const Target = "CloudTrail_20131101.LookupEvents"

// Server is a running LookupEvents test server. Create it with NewServer, Close it when done.
type Server struct {
	// URL is the server's base URL: the CloudTrail endpoint.
	URL string

	ts *httptest.Server

	mu        sync.Mutex
	events    []Event
	nextID    int
	failures  []failure
	latency   time.Duration
	limit     *rate.Limiter // nil: no limit
	calls     int
	throttled int
}

// failure is an injected error answer.
type failure struct {
	httpStatus int
	errorType  string
}

// NewServer starts a server with no events, no latency and CloudTrail's 2 lookups/s.
func NewServer() *Server {
	s := &Server{limit: rate.NewLimiter(2, 2)}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.ts.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.ts.Close() }

// Add stores events; an event without ID gets one (in order, unique in this server). It
// returns the IDs.
func (s *Server) Add(events ...Event) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, len(events))
	for i, e := range events {
		if e.ID == "" {
			s.nextID++
			e.ID = fmt.Sprintf("%08x-0000-4000-8000-%012x", s.nextID, s.nextID)
		}
		e.Time = e.Time.UTC().Truncate(time.Second)
		s.events = append(s.events, e)
		ids[i] = e.ID
	}
	return ids
}

// FailNext makes the next n lookups answer httpStatus with errorType (e.g. 400
// "AccessDeniedException", 500 "InternalServerError"). Calls add up.
func (s *Server) FailNext(httpStatus int, errorType string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, failure{httpStatus, errorType})
	}
}

// SetLatency delays every answer by d (0 for none); the delay ends if the client gives up.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetRateLimit enforces a token bucket of rps lookups a second and burst, counted when a
// request arrives; rps <= 0 removes the limit.
func (s *Server) SetRateLimit(rps float64, burst int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit = nil
	if rps > 0 {
		s.limit = rate.NewLimiter(rate.Limit(rps), burst)
	}
}

// Calls returns how many requests arrived, however answered.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Throttled returns how many requests the rate limit answered ThrottlingException.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// ResetCounters sets Calls and Throttled back to zero.
func (s *Server) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls, s.throttled = 0, 0
}

// request is LookupEvents' JSON body. Times are epoch seconds.
type request struct {
	LookupAttributes []struct {
		AttributeKey   string
		AttributeValue string
	}
	StartTime     *float64
	EndTime       *float64
	EventCategory *string
	MaxResults    *int
	NextToken     *string
}

// apiError is an error answer.
type apiError struct {
	code      int
	errorType string
	message   string
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if e := checkHeaders(r); e != nil {
		writeError(w, r, 0, *e)
		return
	}
	var req request
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	decodeErr := dec.Decode(&req)

	s.mu.Lock()
	s.calls++
	latency := s.latency
	var answer *apiError
	switch {
	case s.limit != nil && !s.limit.Allow():
		s.throttled++
		answer = &apiError{http.StatusBadRequest, "ThrottlingException", "Rate exceeded"}
	case len(s.failures) > 0:
		f := s.failures[0]
		s.failures = s.failures[1:]
		answer = &apiError{f.httpStatus, f.errorType, "cloudtrailtest: injected " + f.errorType}
	case decodeErr != nil:
		answer = &apiError{http.StatusBadRequest, "SerializationException", decodeErr.Error()}
	}
	var body []byte
	if answer == nil {
		body, answer = s.lookup(req)
	}
	s.mu.Unlock()

	if answer != nil {
		writeError(w, r, latency, *answer)
		return
	}
	write(w, r, latency, http.StatusOK, body)
}

// checkHeaders checks the operation and the signature's presence.
func checkHeaders(r *http.Request) *apiError {
	if t := r.Header.Get("X-Amz-Target"); t != Target {
		return &apiError{http.StatusBadRequest, "UnknownOperationException",
			"cloudtrailtest serves only " + Target + ", not " + t}
	}
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !strings.Contains(auth, "/cloudtrail/aws4_request") {
		return &apiError{http.StatusForbidden, "MissingAuthenticationTokenException",
			"cloudtrailtest: the request is not SigV4-signed for service cloudtrail"}
	}
	return nil
}

// lookup answers a valid request with one page; s.mu must be held.
func (s *Server) lookup(req request) ([]byte, *apiError) {
	invalid := func(errorType, msg string) ([]byte, *apiError) {
		return nil, &apiError{http.StatusBadRequest, errorType, msg}
	}
	if len(req.LookupAttributes) > 1 {
		return invalid("InvalidLookupAttributesException", "You can only specify one lookup attribute")
	}
	size := 50
	if req.MaxResults != nil {
		size = *req.MaxResults
		if size < 1 || size > 50 {
			return invalid("InvalidMaxResultsException", fmt.Sprintf("MaxResults %d is not in 1-50", size))
		}
	}
	start, end := epoch(req.StartTime, time.Time{}), epoch(req.EndTime, time.Now())
	if start.After(end) {
		return invalid("InvalidTimeRangeException", "StartTime is after EndTime")
	}
	match, err := matcher(req)
	if err != nil {
		return invalid("InvalidLookupAttributesException", err.Error())
	}
	var page []Event
	for _, e := range s.events {
		if !e.Time.Before(start) && !e.Time.After(end) && match(e) {
			page = append(page, e)
		}
	}
	slices.SortFunc(page, newestFirst)
	if req.NextToken != nil {
		after, ok := decodeToken(*req.NextToken, queryHash(req))
		if !ok {
			return invalid("InvalidNextTokenException", "Invalid NextToken")
		}
		i, _ := slices.BinarySearchFunc(page, after, newestFirst)
		if i < len(page) && page[i].ID == after.ID {
			i++
		}
		page = page[i:]
	}
	resp := response{Events: []entry{}}
	if len(page) > size {
		page = page[:size]
		tok := encodeToken(page[size-1], queryHash(req))
		resp.NextToken = &tok
	}
	for _, e := range page {
		resp.Events = append(resp.Events, entryOf(e))
	}
	body, err := json.Marshal(resp)
	if err != nil {
		return nil, &apiError{http.StatusInternalServerError, "InternalServerError", err.Error()}
	}
	return body, nil
}

// newestFirst orders events as CloudTrail's pages do; same instant: by ID, descending.
func newestFirst(a, b Event) int {
	if c := b.Time.Compare(a.Time); c != 0 {
		return c
	}
	return cmp.Compare(b.ID, a.ID)
}

// matcher is the request's attribute filter.
func matcher(req request) (func(Event) bool, error) {
	if len(req.LookupAttributes) == 0 {
		return func(Event) bool { return true }, nil
	}
	a := req.LookupAttributes[0]
	v := a.AttributeValue
	switch a.AttributeKey {
	case "EventId":
		return func(e Event) bool { return e.ID == v }, nil
	case "EventName":
		return func(e Event) bool { return e.Name == v }, nil
	case "EventSource":
		return func(e Event) bool { return e.source() == v }, nil
	case "ReadOnly":
		return func(e Event) bool { return fmt.Sprint(e.ReadOnly) == v }, nil
	case "Username":
		return func(e Event) bool { return lastPart(e.By) == v }, nil
	}
	return nil, fmt.Errorf("cloudtrailtest does not filter by AttributeKey %q", a.AttributeKey)
}

// epoch converts epoch seconds (nil: def).
func epoch(secs *float64, def time.Time) time.Time {
	if secs == nil {
		return def
	}
	whole, frac := math.Modf(*secs)
	return time.Unix(int64(whole), int64(frac*1e9))
}

// A token is the last event returned, with a hash of the query it belongs to: CloudTrail
// takes a token only with the parameters it was issued for.
type token struct {
	Time  int64  `json:"t"`
	ID    string `json:"id"`
	Query string `json:"q"`
}

func queryHash(req request) string {
	req.NextToken, req.MaxResults = nil, nil
	b, _ := json.Marshal(req)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func encodeToken(last Event, query string) string {
	b, _ := json.Marshal(token{last.Time.Unix(), last.ID, query})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s, query string) (Event, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var t token
	if err != nil || json.Unmarshal(b, &t) != nil || t.Query != query || t.ID == "" {
		return Event{}, false
	}
	return Event{ID: t.ID, Time: time.Unix(t.Time, 0).UTC()}, true
}

// response is LookupEvents' answer.
type response struct {
	Events    []entry
	NextToken *string `json:",omitempty"`
}

// entry is one event as LookupEvents returns it; EventTime is epoch seconds.
type entry struct {
	EventId         string //nolint:revive // the wire's name
	EventName       string
	EventSource     string
	EventTime       float64
	Username        string `json:",omitempty"`
	ReadOnly        string
	AccessKeyId     string //nolint:revive // the wire's name
	Resources       []resource
	CloudTrailEvent string
}

type resource struct {
	ResourceType string
	ResourceName string
}

func entryOf(e Event) entry {
	en := entry{
		EventId: e.ID, EventName: e.Name, EventSource: e.source(), EventTime: float64(e.Time.Unix()),
		Username: lastPart(e.By), ReadOnly: fmt.Sprint(e.ReadOnly), AccessKeyId: "ASIAEXAMPLEKEYID",
		Resources: []resource{}, CloudTrailEvent: e.CloudTrailEvent(),
	}
	for _, m := range []map[string]any{e.Request, e.Response} {
		if v, _ := m["phoneNumberArn"].(string); v != "" {
			en.Resources = append(en.Resources, resource{"AWS::Connect::PhoneNumber", v})
			break
		}
	}
	return en
}

// writeError answers in JSON 1.1's error format: __type and message in the body.
func writeError(w http.ResponseWriter, r *http.Request, latency time.Duration, e apiError) {
	body, _ := json.Marshal(map[string]string{"__type": e.errorType, "message": e.message})
	write(w, r, latency, e.code, body)
}

// write waits out the latency (or the client's giving up), then answers.
func write(w http.ResponseWriter, r *http.Request, latency time.Duration, code int, body []byte) {
	if latency > 0 && !sleep(r.Context(), latency) {
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", fmt.Sprintf("cloudtrailtest-%d", time.Now().UnixNano()))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
