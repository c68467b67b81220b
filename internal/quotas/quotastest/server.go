// Package quotastest is a test server that speaks Service Quotas' JSON 1.1 protocol for the
// one call phonewatch makes, GetServiceQuota (X-Amz-Target
// ServiceQuotasV20190624.GetServiceQuota), so that tests run the real aws-sdk-go-v2 client
// against a real HTTP peer. Like Service Quotas it requires a SigV4 Authorization header for
// service "servicequotas", and answers NoSuchResourceException for a quota it does not hold.
package quotastest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Target is the X-Amz-Target of GetServiceQuota.
const Target = "ServiceQuotasV20190624.GetServiceQuota"

// Server is a running test server; create it with NewServer, Close it when done.
type Server struct {
	URL string
	ts  *httptest.Server

	mu     sync.Mutex
	values map[string]float64 // "service/quota" -> value
	fail   string             // error type of the next answers ("" none)
	calls  int
}

// NewServer starts a server that holds no quota.
func NewServer() *Server {
	s := &Server{values: map[string]float64{}}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.ts.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.ts.Close() }

// Set holds value for the quota.
func (s *Server) Set(service, quota string, value float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[service+"/"+quota] = value
}

// Fail answers every next call with errorType (400), until Fail("").
func (s *Server) Fail(errorType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = errorType
}

// Calls is how many calls were answered.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != Target {
		writeError(w, http.StatusBadRequest, "UnknownOperationException", "only "+Target)
		return
	}
	if !strings.Contains(r.Header.Get("Authorization"), "/servicequotas/aws4_request") {
		writeError(w, http.StatusForbidden, "MissingAuthenticationTokenException", "no SigV4 signature for servicequotas")
		return
	}
	if s.fail != "" {
		writeError(w, http.StatusBadRequest, s.fail, "injected")
		return
	}
	var req struct{ ServiceCode, QuotaCode, ContextId string }
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.ServiceCode == "" || req.QuotaCode == "" {
		writeError(w, http.StatusBadRequest, "IllegalArgumentException", "ServiceCode and QuotaCode are required")
		return
	}
	v, ok := s.values[req.ServiceCode+"/"+req.QuotaCode]
	if !ok {
		writeError(w, http.StatusBadRequest, "NoSuchResourceException", "no such quota")
		return
	}
	body, _ := json.Marshal(map[string]any{"Quota": map[string]any{
		"ServiceCode": req.ServiceCode, "QuotaCode": req.QuotaCode, "Value": v, "Adjustable": true,
		"QuotaArn":            fmt.Sprintf("arn:aws:servicequotas:us-east-1:123456789012:%s/%s", req.ServiceCode, req.QuotaCode),
		"QuotaAppliedAtLevel": "ACCOUNT",
	}})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_, _ = w.Write(body)
}

func writeError(w http.ResponseWriter, code int, errType, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", errType)
	w.WriteHeader(code)
	body, _ := json.Marshal(map[string]string{"__type": errType, "message": msg})
	_, _ = w.Write(body)
}
