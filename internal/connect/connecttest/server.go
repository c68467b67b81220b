// Package connecttest is a test server that speaks Amazon Connect's rest-json protocol for the
// two calls phonewatch makes, DescribePhoneNumber and ListPhoneNumbersV2, so that tests run
// the real aws-sdk-go-v2 client against a real HTTP peer.
//
// The server listens on a loopback port, so a child process can use it too: start it in the
// test and pass srv.URL to the child as AWS_ENDPOINT_URL_CONNECT (with any credentials and
// AWS_REGION). In-process clients set BaseEndpoint to srv.URL.
//
// Numbers are added with Put (from status.Summary values), PutRaw (a response body served
// verbatim, for invalid payloads) or LoadFile (a JSON array of DescribePhoneNumber outputs).
// SetStatus, Remove, FailNext, FailNextList, SetLatency and SetRateLimit change what the
// server answers; Describes, TotalDescribes, Lists and Throttled count what it was asked.
// Every method is safe for concurrent use, also while requests are being served.
//
// What the server checks like Connect does: the request must be SigV4-signed for service
// "connect" (403 otherwise); MaxResults must be 1-1000 (400 InvalidParameterException);
// NextToken must be one it issued; TargetArn and InstanceId filter the list and are not
// accepted together. What it does not model: the other list filters (answered 400 so that a
// test never relies on a filter that is silently ignored), Regions and accounts (every number
// is visible whatever the request's Region), and signature verification.
package connecttest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/phonewatch/phonewatch/internal/status"
)

// Server is a running Connect test server. Create it with NewServer and Close it when done.
type Server struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:43117: the Connect endpoint.
	URL string

	ts *httptest.Server

	mu       sync.Mutex
	numbers  map[string]*number // by PhoneNumberId
	byARN    map[string]string  // PhoneNumberArn -> PhoneNumberId
	failures map[string][]failure
	latency  time.Duration
	// Connect's quotas are per API, so each operation has its own bucket (nil: no limit).
	describeLimit, listLimit *rate.Limiter

	describes      map[string]int
	totalDescribes int
	lists          int
	throttled      int
}

// number is one phone number as the server serves it.
type number struct {
	id, arn string
	// body is the DescribePhoneNumber response body, served as is.
	body []byte
	// summary is body's ClaimedPhoneNumberSummary when it decodes, else nil; it feeds the
	// list and SetStatus.
	summary *status.Summary
}

// failure is an injected error answer.
type failure struct {
	httpStatus int
	errorType  string
}

// NewServer starts a server with no numbers, no latency and no rate limit.
func NewServer() *Server {
	s := &Server{
		numbers:   make(map[string]*number),
		byARN:     make(map[string]string),
		failures:  make(map[string][]failure),
		describes: make(map[string]int),
	}
	mux := http.NewServeMux()
	// The SDK path-escapes the PhoneNumberId label, so an ARN's "/" arrives as %2F and stays
	// within the one segment that {id} matches.
	mux.HandleFunc("GET /phone-number/{id}", s.describe)
	mux.HandleFunc("POST /phone-number/list", s.list)
	mux.HandleFunc("/", s.unknown)
	s.ts = httptest.NewServer(mux)
	s.URL = s.ts.URL
	return s
}

// Close shuts the server down, waiting for requests in flight.
func (s *Server) Close() { s.ts.Close() }

// Put adds or replaces numbers. Each summary needs a PhoneNumberId; it is served as
// {"ClaimedPhoneNumberSummary": summary}, nil fields left out, and listed with the fields
// that ListPhoneNumbersV2 carries. Put panics on a summary without PhoneNumberId: use PutRaw
// to serve one.
func (s *Server) Put(summaries ...status.Summary) {
	for _, sum := range summaries {
		id := deref(sum.PhoneNumberID)
		if id == "" {
			panic("connecttest: Put needs a PhoneNumberId (use PutRaw for a payload without one)")
		}
		body, err := marshalOutput(&sum)
		if err != nil {
			panic(fmt.Sprintf("connecttest: Put %s: %v", id, err))
		}
		s.store(id, body, &sum)
	}
}

// PutRaw adds or replaces the number id with body as its DescribePhoneNumber response,
// served byte for byte whatever it holds (an unknown status, a 300-character message, a
// missing field, even invalid JSON). The number is listed with what of
// ClaimedPhoneNumberSummary decodes, and at least its PhoneNumberId id.
func (s *Server) PutRaw(id string, body []byte) {
	var out status.DescribeOutput
	var sum *status.Summary
	if json.Unmarshal(body, &out) == nil {
		sum = out.ClaimedPhoneNumberSummary
	}
	s.store(id, bytes.Clone(body), sum)
}

func (s *Server) store(id string, body []byte, sum *status.Summary) {
	n := &number{id: id, body: body}
	if sum != nil {
		c := cloneSummary(*sum)
		n.summary, n.arn = &c, deref(c.PhoneNumberArn)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.numbers[id]; ok && old.arn != "" {
		delete(s.byARN, old.arn)
	}
	s.numbers[id] = n
	if n.arn != "" {
		s.byARN[n.arn] = id
	}
}

// LoadFile puts every number of a JSON file holding an array of DescribePhoneNumber outputs,
// [{"ClaimedPhoneNumberSummary": {...}}, ...], each served verbatim as PutRaw does (so the
// file may hold invalid payloads). It returns how many numbers it loaded.
func (s *Server) LoadFile(path string) (int, error) {
	data, err := os.ReadFile(path) //nolint:gosec // G304: reading the fixture the caller names is the point
	if err != nil {
		return 0, fmt.Errorf("load Connect numbers: %w", err)
	}
	n, err := s.Load(data)
	if err != nil {
		return 0, fmt.Errorf("load Connect numbers from %s: %w", path, err)
	}
	return n, nil
}

// Load is LoadFile on the file's contents. Every entry needs a string
// ClaimedPhoneNumberSummary.PhoneNumberId; on any error nothing is loaded.
func (s *Server) Load(data []byte) (int, error) {
	var entries []json.RawMessage
	if err := json.Unmarshal(data, &entries); err != nil {
		return 0, fmt.Errorf("want a JSON array of DescribePhoneNumber outputs: %w", err)
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		var head struct {
			ClaimedPhoneNumberSummary struct {
				PhoneNumberID any `json:"PhoneNumberId"`
			}
		}
		if err := json.Unmarshal(e, &head); err != nil {
			return 0, fmt.Errorf("entry %d: %w", i, err)
		}
		id, _ := head.ClaimedPhoneNumberSummary.PhoneNumberID.(string)
		if id == "" {
			return 0, fmt.Errorf("entry %d: no ClaimedPhoneNumberSummary.PhoneNumberId string", i)
		}
		ids[i] = id
	}
	for i, e := range entries {
		s.PutRaw(ids[i], e)
	}
	return len(entries), nil
}

// SetStatus changes a number's PhoneNumberStatus (message "" leaves Message out). idOrARN is
// its PhoneNumberId or PhoneNumberArn. It panics if the number does not exist or was put
// raw with a body whose summary does not decode.
func (s *Server) SetStatus(idOrARN, st, message string) {
	s.mu.Lock()
	n := s.lookup(idOrARN)
	s.mu.Unlock()
	if n == nil {
		panic("connecttest: SetStatus of unknown number " + idOrARN)
	}
	if n.summary == nil {
		panic("connecttest: SetStatus of " + idOrARN + ", whose raw body has no summary to change")
	}
	sum := cloneSummary(*n.summary)
	sum.PhoneNumberStatus = &status.PhoneNumberStatus{Status: &st}
	if message != "" {
		sum.PhoneNumberStatus.Message = &message
	}
	s.Put(sum)
}

// Remove deletes a number (by ID or ARN): describing it then answers 404
// ResourceNotFoundException and lists leave it out. Removing an unknown number does nothing.
func (s *Server) Remove(idOrARN string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.lookup(idOrARN); n != nil {
		delete(s.numbers, n.id)
		delete(s.byARN, n.arn)
	}
}

// FailNext makes the next n DescribePhoneNumber requests for idOrARN answer httpStatus with
// error type errorType (e.g. 429 "ThrottlingException", 500 "InternalServiceException",
// 403 "AccessDeniedException"), whether the number exists or not. A known number's
// failures apply whether it is then asked for by ID or by ARN. Calls add up.
func (s *Server) FailNext(idOrARN string, httpStatus int, errorType string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addFailures("describe "+s.key(idOrARN), httpStatus, errorType, n)
}

// FailNextList makes the next n ListPhoneNumbersV2 requests (pages) for targetARN answer
// httpStatus with errorType. targetARN is the request's TargetArn, or its InstanceId, or ""
// for a request of the whole account.
func (s *Server) FailNextList(targetARN string, httpStatus int, errorType string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addFailures("list "+targetARN, httpStatus, errorType, n)
}

func (s *Server) addFailures(key string, httpStatus int, errorType string, n int) {
	for range n {
		s.failures[key] = append(s.failures[key], failure{httpStatus, errorType})
	}
}

// takeFailure pops the next injected failure for key; s.mu must be held.
func (s *Server) takeFailure(key string) (failure, bool) {
	q := s.failures[key]
	if len(q) == 0 {
		return failure{}, false
	}
	if len(q) == 1 {
		delete(s.failures, key)
	} else {
		s.failures[key] = q[1:]
	}
	return q[0], true
}

// SetLatency delays every response by d (0 for none), as a slow network or service would.
// The delay ends early if the client gives up on the request.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetRateLimit enforces a token bucket of rps requests per second and burst requests for
// each operation (DescribePhoneNumber and ListPhoneNumbersV2 have separate quotas, as in
// Connect), counted when a request arrives. A request over it is answered 429
// ThrottlingException and counted by Throttled. rps <= 0 removes the limit.
func (s *Server) SetRateLimit(rps float64, burst int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rps <= 0 {
		s.describeLimit, s.listLimit = nil, nil
		return
	}
	s.describeLimit = rate.NewLimiter(rate.Limit(rps), burst)
	s.listLimit = rate.NewLimiter(rate.Limit(rps), burst)
}

// Describes returns how many DescribePhoneNumber requests arrived for a number, by its ID
// or ARN (whichever was asked), whatever they were answered: throttled and failed ones count.
func (s *Server) Describes(idOrARN string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.describes[s.key(idOrARN)]
}

// TotalDescribes returns how many DescribePhoneNumber requests arrived, however answered.
func (s *Server) TotalDescribes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.totalDescribes
}

// Lists returns how many ListPhoneNumbersV2 requests (pages) arrived, however answered.
func (s *Server) Lists() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lists
}

// Throttled returns how many requests the rate limit of SetRateLimit answered 429 (injected
// failures are not counted).
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// ResetCounters sets every counter back to zero, e.g. between benchmark rounds.
func (s *Server) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.describes)
	s.totalDescribes, s.lists, s.throttled = 0, 0, 0
}

// lookup finds a number by ID or ARN; s.mu must be held.
func (s *Server) lookup(idOrARN string) *number {
	if n, ok := s.numbers[idOrARN]; ok {
		return n
	}
	if id, ok := s.byARN[idOrARN]; ok {
		return s.numbers[id]
	}
	return nil
}

// key is the ID of a known number, or idOrARN as given; s.mu must be held.
func (s *Server) key(idOrARN string) string {
	if n := s.lookup(idOrARN); n != nil {
		return n.id
	}
	return idOrARN
}

// describe serves DescribePhoneNumber: GET /phone-number/{PhoneNumberId}.
func (s *Server) describe(w http.ResponseWriter, r *http.Request) {
	if !signed(w, r) {
		return
	}
	idOrARN := r.PathValue("id")
	s.mu.Lock()
	key := s.key(idOrARN)
	s.describes[key]++
	s.totalDescribes++
	var f failure
	failed := false
	throttled := s.describeLimit != nil && !s.describeLimit.Allow()
	if throttled {
		s.throttled++
	} else {
		f, failed = s.takeFailure("describe " + key)
	}
	n := s.lookup(idOrARN)
	latency := s.latency
	s.mu.Unlock()

	switch {
	case throttled:
		writeError(w, r, latency, http.StatusTooManyRequests, "ThrottlingException", "Rate exceeded")
	case failed:
		writeError(w, r, latency, f.httpStatus, f.errorType, "connecttest: injected "+f.errorType)
	case n == nil:
		writeError(w, r, latency, http.StatusNotFound, "ResourceNotFoundException",
			"Phone number "+idOrARN+" not found")
	default:
		write(w, r, latency, http.StatusOK, n.body)
	}
}

// listRequest is ListPhoneNumbersV2's JSON body.
type listRequest struct {
	TargetArn               *string  `json:"TargetArn"`
	InstanceID              *string  `json:"InstanceId"`
	MaxResults              *int     `json:"MaxResults"`
	NextToken               *string  `json:"NextToken"`
	PhoneNumberCountryCodes []string `json:"PhoneNumberCountryCodes"`
	PhoneNumberTypes        []string `json:"PhoneNumberTypes"`
	PhoneNumberPrefix       *string  `json:"PhoneNumberPrefix"`
}

// listEntry is one ListPhoneNumbersSummary: the summary's fields minus status and tags.
type listEntry struct {
	PhoneNumberID          *string `json:"PhoneNumberId,omitempty"`
	PhoneNumberArn         *string `json:"PhoneNumberArn,omitempty"`
	PhoneNumber            *string `json:"PhoneNumber,omitempty"`
	PhoneNumberCountryCode *string `json:"PhoneNumberCountryCode,omitempty"`
	PhoneNumberType        *string `json:"PhoneNumberType,omitempty"`
	PhoneNumberDescription *string `json:"PhoneNumberDescription,omitempty"`
	TargetArn              *string `json:"TargetArn,omitempty"`
	InstanceID             *string `json:"InstanceId,omitempty"`
	SourcePhoneNumberArn   *string `json:"SourcePhoneNumberArn,omitempty"`
}

// defaultPageSize is this server's page size when MaxResults is absent.
const defaultPageSize = 100

// list serves ListPhoneNumbersV2: POST /phone-number/list, numbers in PhoneNumberId order,
// NextToken an opaque encoding of the last ID returned (so pages stay consistent when
// numbers are removed between them).
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	if !signed(w, r) {
		return
	}
	var req listRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	decodeErr := dec.Decode(&req)
	if decodeErr == io.EOF {
		decodeErr = nil // an empty body is an empty request
	}
	target := deref(req.TargetArn)
	if target == "" {
		target = deref(req.InstanceID)
	}

	s.mu.Lock()
	s.lists++
	throttled := s.listLimit != nil && !s.listLimit.Allow()
	var f failure
	failed := false
	if throttled {
		s.throttled++
	} else {
		f, failed = s.takeFailure("list " + target)
	}
	latency := s.latency
	var entries []listEntry
	if !throttled && !failed && decodeErr == nil {
		for _, n := range s.numbers {
			if e := entryOf(n); matches(e, req) {
				entries = append(entries, e)
			}
		}
	}
	s.mu.Unlock()

	invalid := func(msg string) {
		writeError(w, r, latency, http.StatusBadRequest, "InvalidParameterException", msg)
	}
	switch {
	case throttled:
		writeError(w, r, latency, http.StatusTooManyRequests, "ThrottlingException", "Rate exceeded")
		return
	case failed:
		writeError(w, r, latency, f.httpStatus, f.errorType, "connecttest: injected "+f.errorType)
		return
	case decodeErr != nil:
		invalid("connecttest: bad ListPhoneNumbersV2 body: " + decodeErr.Error())
		return
	case req.TargetArn != nil && req.InstanceID != nil:
		invalid("Provide either TargetArn or InstanceId, not both")
		return
	case req.PhoneNumberCountryCodes != nil || req.PhoneNumberTypes != nil || req.PhoneNumberPrefix != nil:
		invalid("connecttest: PhoneNumberCountryCodes, PhoneNumberTypes and PhoneNumberPrefix are not supported")
		return
	}
	size := defaultPageSize
	if req.MaxResults != nil {
		size = *req.MaxResults
		if size < 1 || size > 1000 {
			invalid(fmt.Sprintf("MaxResults %d is not in 1-1000", size))
			return
		}
	}
	slices.SortFunc(entries, func(a, b listEntry) int { return cmp.Compare(*a.PhoneNumberID, *b.PhoneNumberID) })
	if req.NextToken != nil {
		after, err := base64.RawURLEncoding.DecodeString(*req.NextToken)
		if err != nil || len(after) == 0 {
			invalid("Invalid NextToken")
			return
		}
		start, _ := slices.BinarySearchFunc(entries, string(after), func(e listEntry, id string) int {
			return cmp.Compare(*e.PhoneNumberID, id)
		})
		if start < len(entries) && *entries[start].PhoneNumberID == string(after) {
			start++
		}
		entries = entries[start:]
	}
	resp := struct {
		ListPhoneNumbersSummaryList []listEntry
		NextToken                   *string `json:",omitempty"`
	}{ListPhoneNumbersSummaryList: []listEntry{}}
	if len(entries) > size {
		entries = entries[:size]
		tok := base64.RawURLEncoding.EncodeToString([]byte(*entries[size-1].PhoneNumberID))
		resp.NextToken = &tok
	}
	resp.ListPhoneNumbersSummaryList = append(resp.ListPhoneNumbersSummaryList, entries...)
	body, err := json.Marshal(resp)
	if err != nil {
		writeError(w, r, latency, http.StatusInternalServerError, "InternalServiceException", err.Error())
		return
	}
	write(w, r, latency, http.StatusOK, body)
}

// entryOf is n's list entry: its decoded summary's list fields, and always its ID.
func entryOf(n *number) listEntry {
	id := n.id
	e := listEntry{PhoneNumberID: &id}
	if c := n.summary; c != nil {
		e.PhoneNumberArn, e.PhoneNumber = c.PhoneNumberArn, c.PhoneNumber
		e.PhoneNumberCountryCode, e.PhoneNumberType = c.PhoneNumberCountryCode, c.PhoneNumberType
		e.PhoneNumberDescription, e.TargetArn = c.PhoneNumberDescription, c.TargetArn
		e.InstanceID, e.SourcePhoneNumberArn = c.InstanceID, c.SourcePhoneNumberArn
	}
	return e
}

// matches applies the request's TargetArn or InstanceId filter.
func matches(e listEntry, req listRequest) bool {
	switch {
	case req.TargetArn != nil:
		return deref(e.TargetArn) == *req.TargetArn
	case req.InstanceID != nil:
		return deref(e.InstanceID) == *req.InstanceID
	}
	return true
}

// unknown answers any other request as Connect's front end does for an unknown operation.
func (s *Server) unknown(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, 0, http.StatusNotFound, "UnknownOperationException",
		"connecttest serves only DescribePhoneNumber and ListPhoneNumbersV2, not "+r.Method+" "+r.URL.EscapedPath())
}

// signed reports whether r carries a SigV4 Authorization for service connect, and answers
// 403 when it does not.
func signed(w http.ResponseWriter, r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	if strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") && strings.Contains(auth, "/connect/aws4_request") {
		return true
	}
	writeError(w, r, 0, http.StatusForbidden, "MissingAuthenticationTokenException",
		"connecttest: the request is not SigV4-signed for service connect")
	return false
}

// writeError answers in Connect's error format: the status, x-amzn-ErrorType and a JSON
// body with Message.
func writeError(w http.ResponseWriter, r *http.Request, latency time.Duration, code int, errorType, message string) {
	body, _ := json.Marshal(struct{ Message string }{message})
	w.Header().Set("X-Amzn-Errortype", errorType)
	write(w, r, latency, code, body)
}

// write waits out the latency (or the client's giving up), then answers.
func write(w http.ResponseWriter, r *http.Request, latency time.Duration, code int, body []byte) {
	if latency > 0 && !sleep(r.Context(), latency) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Requestid", fmt.Sprintf("connecttest-%d", time.Now().UnixNano()))
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

// marshalOutput encodes {"ClaimedPhoneNumberSummary": sum} leaving nil fields out, as
// Connect does.
func marshalOutput(sum *status.Summary) ([]byte, error) {
	raw, err := json.Marshal(status.DescribeOutput{ClaimedPhoneNumberSummary: sum})
	if err != nil {
		return nil, err
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	return json.Marshal(dropNulls(doc))
}

// dropNulls removes null members from JSON objects, recursively.
func dropNulls(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, m := range v {
			if m == nil {
				delete(v, k)
			} else {
				v[k] = dropNulls(m)
			}
		}
	case []any:
		for i, m := range v {
			v[i] = dropNulls(m)
		}
	}
	return v
}

// cloneSummary copies a summary deeply enough that the caller's later changes do not reach
// the server's copy.
func cloneSummary(s status.Summary) status.Summary {
	c := s
	for _, p := range []**string{
		&c.PhoneNumberID, &c.PhoneNumberArn, &c.PhoneNumber, &c.PhoneNumberCountryCode, &c.PhoneNumberType,
		&c.PhoneNumberDescription, &c.TargetArn, &c.InstanceID, &c.SourcePhoneNumberArn,
	} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	c.Tags = maps.Clone(s.Tags)
	if st := s.PhoneNumberStatus; st != nil {
		cs := status.PhoneNumberStatus{}
		if st.Status != nil {
			v := *st.Status
			cs.Status = &v
		}
		if st.Message != nil {
			v := *st.Message
			cs.Message = &v
		}
		c.PhoneNumberStatus = &cs
	}
	return c
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
