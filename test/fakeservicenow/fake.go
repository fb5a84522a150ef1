// Package fakeservicenow is a ServiceNow instance on loopback for tests and the
// demo: the OAuth endpoints (oauth_auth.do, oauth_token.do,
// oauth_revoke_token.do) and the Table API, with ServiceNow's quirks (a token
// request that is not form-encoded is refused with server_error/access_denied,
// error bodies as {"error":{"message","detail"},"status":"failure"}, results in
// a {"result": …} envelope). It records every request and can be told to fail.
package fakeservicenow

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	mathrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Server is a running fake instance.
type Server struct {
	*httptest.Server

	mu sync.Mutex

	// ClientID and ClientSecret are the Application Registry entry.
	ClientID     string
	ClientSecret string
	// ClientAuth is where the instance expects client credentials: "body" or "basic".
	ClientAuth string
	// RedirectURI is the registered redirect URL; empty accepts any.
	RedirectURI string
	// AccessTTL is the lifetime of access tokens (ServiceNow's default is 30 minutes).
	AccessTTL time.Duration
	// RotateRefresh makes a refresh return a new refresh token.
	RotateRefresh bool
	// ConsentPage shows an Allow/Deny page instead of consenting at once.
	ConsentPage bool
	// BrowserUser is the user_name of the person logged in to the instance in the browser.
	BrowserUser string
	// TableFaults makes a random share of Table API calls fail.
	TableFaults Faults

	users     []*User
	groups    []*Group
	incidents []*Incident
	nextInc   int

	codes     map[string]*authCode
	access    map[string]*grant
	refresh   map[string]*grant
	requests  []Request
	failures  []Failure
	issuedLog []string
}

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
	Status     int           // 0 with Hang set: no answer for Hang
	RetryAfter string        // Retry-After header, for 429
	Hang       time.Duration // wait this long before answering (or before Status)
	Message    string        // error.message; a default per status otherwise
	Detail     string
	Body       string // a raw body instead of the error body
	// ContentType of Body; JSON when empty.
	ContentType string
}

// Faults are random failures of Table API calls.
type Faults struct {
	Rate5xx, Rate429 float64 // shares of calls answered 503, or 429 with RetryAfter
	RetryAfter       string
}

type authCode struct {
	clientID, redirectURI, challenge, method, user string
	expires                                        time.Time
}

type grant struct {
	user    string
	refresh string // for an access token: the refresh token it came from
	expires time.Time
}

// New starts a fake instance with seed users and incidents.
func New() *Server {
	s := &Server{
		ClientID:     "snowbot-client",
		ClientSecret: "s3cr3t-" + randomHex(6),
		ClientAuth:   "body",
		AccessTTL:    1799 * time.Second,
		BrowserUser:  "ada.lovelace",
		codes:        map[string]*authCode{},
		access:       map[string]*grant{},
		refresh:      map[string]*grant{},
	}
	s.seed()
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth_auth.do", s.authorize)
	mux.HandleFunc("/oauth_token.do", s.token)
	mux.HandleFunc("/oauth_revoke_token.do", s.revoke)
	mux.HandleFunc("/api/now/table/{table}", s.table)
	mux.HandleFunc("/api/now/table/{table}/{sys_id}", s.table)
	mux.HandleFunc("/nav_to.do", s.navTo)
	s.Server = httptest.NewUnstartedServer(s.failing(mux))
	s.Start()
	return s
}

// Configure changes settings of the running instance safely.
func (s *Server) Configure(f func(s *Server)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// Fail makes the next requests under f.Path answer with f, in order.
func (s *Server) Fail(f ...Failure) {
	s.mu.Lock()
	s.failures = append(s.failures, f...)
	s.mu.Unlock()
}

// failing serves queued failures before the real handlers.
func (s *Server) failing(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		var f *Failure
		for i := range s.failures {
			if strings.HasPrefix(r.URL.Path, s.failures[i].Path) {
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
		s.mu.Unlock()
		if f == nil {
			next.ServeHTTP(w, r)
			return
		}
		if f.Hang > 0 {
			// Read the body first: only then does the server notice a client that gives up.
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
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
		s.record(r, nil, "", f.Status)
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
		writeError(w, f.Status, msg, detail)
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

// record keeps a request for tests to inspect.
func (s *Server) record(r *http.Request, form url.Values, body string, status int) {
	req := Request{
		Method:      r.Method,
		Path:        r.URL.Path,
		Query:       r.URL.Query(),
		Form:        form,
		ContentType: r.Header.Get("Content-Type"),
		Body:        body,
		Status:      status,
	}
	if u, _, ok := r.BasicAuth(); ok {
		req.BasicUser = u
	}
	if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		req.Bearer = b
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
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

// ExpireAccessTokens makes every issued access token invalid, as after its lifetime.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	for _, g := range s.access {
		g.expires = time.Now().Add(-time.Second)
	}
	s.mu.Unlock()
}

// RevokeRefreshTokens makes every refresh token of userName invalid (and its access tokens).
func (s *Server) RevokeRefreshTokens(userName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok, g := range s.refresh {
		if u := s.userByID(g.user); u != nil && u.UserName == userName {
			delete(s.refresh, tok)
		}
	}
	for tok, g := range s.access {
		if u := s.userByID(g.user); u != nil && u.UserName == userName {
			delete(s.access, tok)
		}
	}
}

// ActiveRefreshTokens counts unrevoked refresh tokens.
func (s *Server) ActiveRefreshTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.refresh)
}

// IssuedSecrets lists every token and authorization code the instance ever
// handed out, for tests that check none of them leaks.
func (s *Server) IssuedSecrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issuedLog...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes ServiceNow's REST error body.
func writeError(w http.ResponseWriter, status int, message, detail string) {
	writeJSON(w, status, map[string]any{
		"error":  map[string]string{"message": message, "detail": detail},
		"status": "failure",
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// navTo is the instance's UI link target; the bot links incidents here.
func (s *Server) navTo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte("<!doctype html><title>ServiceNow</title><p>The ServiceNow user interface would show " + htmlEscape(r.URL.Query().Get("uri")) + " here.</p>"))
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
