// Package fakeservicenow runs snowbot's in-memory ServiceNow instance
// (servicenow/instance) on loopback for the end-to-end tests, behind what only
// tests need: a record of every request it received, and switches that make
// requests fail, throttle or hang.
package fakeservicenow

import (
	"bytes"
	"io"
	"maps"
	mathrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"snowbot/servicenow/instance"
)

// The instance's own types, as the tests know them.
type (
	User     = instance.User
	Incident = instance.Incident
	Journal  = instance.Journal
	Approval = instance.Approval
)

// DemoUser is the account the demo's sign-in page consents as.
const DemoUser = instance.DemoUser

// Server is a running instance with its test switches.
type Server struct {
	*instance.Instance
	*httptest.Server

	// TableFaults makes a random share of Table API calls fail.
	TableFaults Faults
	// Latency delays every answer, as an instance far away does.
	Latency time.Duration
	// Quiet keeps no record of requests, for load runs.
	Quiet bool

	mu       sync.Mutex
	requests []Request
	failures []Failure
	// tableBytes counts the bytes of the Table API's answers (their bodies).
	tableBytes atomic.Int64
}

// TableBytes is how many bytes of answers the Table API has sent so far.
func (s *Server) TableBytes() int64 { return s.tableBytes.Load() }

// Request is one request the instance received.
type Request struct {
	Method      string
	Path        string
	Query       url.Values
	Form        url.Values // form fields of a form-encoded POST
	ContentType string
	BasicUser   string // the client id of an HTTP Basic header, if any
	Bearer      string // the bearer token of a Table API call
	Body        string // the raw body of a Table API write
	Status      int
}

// Failure is an answer given instead of serving a request whose path starts with Path.
type Failure struct {
	Path       string        // e.g. "/api/now/table/incident" or "/oauth_token.do"
	Method     string        // only requests of this method; any when empty
	Query      string        // only requests whose sysparm_query holds this; any when empty
	User       string        // only requests made with this user's token (a user_name); any when empty
	Status     int           // 0 with Hang set: no answer for Hang
	RetryAfter string        // Retry-After header, for 429
	Hang       time.Duration // wait this long before answering (or before Status)
	// Late: the instance does the work at once, and its answer comes this
	// late (never, when the client gives up first).
	Late    time.Duration
	Message string // error.message; a default per status otherwise
	Detail  string
	Body    string // a raw body instead of the error body
	// ContentType of Body; JSON when empty.
	ContentType string
}

// Faults are random failures of Table API calls.
type Faults struct {
	Rate5xx, Rate429 float64 // shares of calls answered 503, or 429 with RetryAfter
	RetryAfter       string
}

// New starts an instance with seed users and incidents on loopback.
func New() *Server {
	s := &Server{Instance: instance.New()}
	s.Server = httptest.NewServer(s.recording(s.failing(s.Instance.Handler())))
	s.Instance.BaseURL = s.Server.URL
	return s
}

// Configure changes settings of the running instance (and its switches) safely.
func (s *Server) Configure(f func(s *Server)) {
	s.Instance.Configure(func(*instance.Instance) {
		s.mu.Lock()
		defer s.mu.Unlock()
		f(s)
	})
}

// Fail makes the next requests under f.Path answer with f, in order.
func (s *Server) Fail(f ...Failure) {
	s.mu.Lock()
	s.failures = append(s.failures, f...)
	s.mu.Unlock()
}

// statusWriter remembers the status of an answer.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.bytes += int64(len(b))
	return w.ResponseWriter.Write(b)
}

// recording keeps every request for tests to inspect. It reads the body first:
// only then does the server notice a client that gives up on a hanging answer.
func (s *Server) recording(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), ContentType: r.Header.Get("Content-Type")}
		if strings.HasPrefix(req.ContentType, "application/x-www-form-urlencoded") {
			req.Form, _ = url.ParseQuery(string(body))
		} else if strings.HasPrefix(r.URL.Path, "/api/now/table/") {
			req.Body = string(body)
		}
		if u, _, ok := r.BasicAuth(); ok {
			req.BasicUser = u
		}
		if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			req.Bearer = b
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		req.Status = sw.status
		if strings.HasPrefix(r.URL.Path, "/api/now/table/") {
			s.tableBytes.Add(sw.bytes)
		}
		s.mu.Lock()
		if !s.Quiet {
			s.requests = append(s.requests, req)
		}
		s.mu.Unlock()
	})
}

// failing serves queued failures before the instance does.
func (s *Server) failing(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		userName := "" // asked before s.mu: Configure takes the instance's lock first
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			if u := s.Instance.UserOfToken(tok); u != nil {
				userName = u.UserName
			}
		}
		s.mu.Lock()
		var f *Failure
		for i := range s.failures {
			if strings.HasPrefix(r.URL.Path, s.failures[i].Path) && (s.failures[i].Method == "" || s.failures[i].Method == r.Method) &&
				strings.Contains(r.URL.Query().Get("sysparm_query"), s.failures[i].Query) &&
				(s.failures[i].User == "" || s.failures[i].User == userName) {
				ff := s.failures[i]
				f = &ff
				s.failures = append(s.failures[:i], s.failures[i+1:]...)
				break
			}
		}
		if f == nil && strings.HasPrefix(r.URL.Path, "/api/now/table/") {
			switch x := mathrand.Float64(); {
			case x < s.TableFaults.Rate5xx:
				f = &Failure{Status: http.StatusServiceUnavailable}
			case x < s.TableFaults.Rate5xx+s.TableFaults.Rate429:
				f = &Failure{Status: http.StatusTooManyRequests, RetryAfter: s.TableFaults.RetryAfter}
			}
		}
		latency := s.Latency
		s.mu.Unlock()
		if latency > 0 {
			time.Sleep(latency)
		}
		if f == nil {
			next.ServeHTTP(w, r)
			return
		}
		if f.Late > 0 {
			done := httptest.NewRecorder()
			next.ServeHTTP(done, r)
			select {
			case <-time.After(f.Late):
			case <-r.Context().Done():
				return
			}
			maps.Copy(w.Header(), done.Header())
			w.WriteHeader(done.Code)
			_, _ = w.Write(done.Body.Bytes())
			return
		}
		if f.Hang > 0 {
			select {
			case <-time.After(f.Hang):
			case <-r.Context().Done():
				return
			}
			if f.Status == 0 {
				next.ServeHTTP(w, r)
				return
			}
		}
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		if f.Body != "" {
			ct := f.ContentType
			if ct == "" {
				ct = "application/json;charset=UTF-8"
			}
			w.Header().Set("Content-Type", ct)
			w.WriteHeader(f.Status)
			_, _ = w.Write([]byte(f.Body))
			return
		}
		msg, detail := f.Message, f.Detail
		if msg == "" {
			msg, detail = defaultError(f.Status)
		}
		instance.WriteError(w, f.Status, msg, detail)
	})
}

func defaultError(status int) (string, string) {
	switch status {
	case http.StatusUnauthorized:
		return "User Not Authenticated", "Required to provide Auth information"
	case http.StatusForbidden:
		return "Operation Failed", "ACL Exception Update Failed due to security constraints"
	case http.StatusNotFound:
		return "No Record found", "Record doesn't exist or ACL restricts the record retrieval"
	case http.StatusTooManyRequests:
		return "Rate limit exceeded", "Too many requests for this user; retry later"
	}
	return "Internal server error", "The instance could not process the request"
}

// Requests lists the requests received, optionally only those whose path starts with prefix.
func (s *Server) Requests(prefix string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if strings.HasPrefix(r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// TokenRequests lists the requests to oauth_token.do with this grant type ("" for all).
func (s *Server) TokenRequests(grantType string) []Request {
	var out []Request
	for _, r := range s.Requests("/oauth_token.do") {
		if grantType == "" || (r.Form != nil && r.Form.Get("grant_type") == grantType) {
			out = append(out, r)
		}
	}
	return out
}
