// Package instance is a ServiceNow instance in memory: the OAuth endpoints
// (oauth_auth.do, oauth_token.do, oauth_revoke_token.do) and the Table API,
// with ServiceNow's quirks (a token request that is not form-encoded is
// refused with server_error/access_denied, error bodies as
// {"error":{"message","detail"},"status":"failure"}, results in a
// {"result": …} envelope, ACLs that hide or refuse records), seeded with a few
// people and a dozen incidents.
//
// `snowbot demo` runs it so that anyone can try snowbot without an instance,
// and the end-to-end tests run it behind their own recording and
// fault-injecting wrapper (test/fakeservicenow).
package instance

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"snowbot/servicenow/events"
)

// Instance is a ServiceNow instance in memory. Serve its Handler; set BaseURL
// to where it is served (record links point there).
type Instance struct {
	mu sync.Mutex

	// BaseURL is where the instance is reached, without a trailing slash.
	BaseURL string
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
	// OnEvent hears the change events snowbot's business rules would send
	// (see events.go); nil sends none. It runs on a goroutine of its own.
	OnEvent func(events.Event)

	users     []*User
	groups    []*Group
	incidents []*Incident
	nextInc   int
	nextTask  int // the last number given to a task AddTask made
	tasks     []*Task
	approvals []*Approval
	catItems  []*CatItem
	orders    []Order
	relabels  map[[2]string]string // an administrator's own labels, by table and field
	articles  []*Article

	// NoTextSearch makes the keyword search (123TEXTQUERY321) find nothing,
	// as on an instance whose tables are not text-indexed.
	NoTextSearch bool

	codes     map[string]*authCode
	access    map[string]*grant
	refresh   map[string]*grant
	issuedLog []string
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

// New returns an instance with seed users and incidents and a random client secret.
func New() *Instance {
	s := &Instance{
		ClientID:     "snowbot-client",
		ClientSecret: "s3cr3t-" + randomHex(6),
		ClientAuth:   "body",
		AccessTTL:    1799 * time.Second,
		BrowserUser:  DemoUser,
		codes:        map[string]*authCode{},
		access:       map[string]*grant{},
		refresh:      map[string]*grant{},
	}
	s.seed()
	return s
}

// Handler serves the instance's endpoints.
func (s *Instance) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth_auth.do", s.authorize)
	mux.HandleFunc("/oauth_token.do", s.token)
	mux.HandleFunc("/oauth_revoke_token.do", s.revoke)
	mux.HandleFunc("/api/now/table/{table}", s.table)
	mux.HandleFunc("/api/now/table/{table}/{sys_id}", s.table)
	mux.HandleFunc("/api/sn_sc/servicecatalog/items", s.catalog)
	mux.HandleFunc("/api/sn_sc/servicecatalog/items/{sys_id}", s.catalog)
	mux.HandleFunc("/api/sn_sc/servicecatalog/items/{sys_id}/{action}", s.catalog)
	mux.HandleFunc("/nav_to.do", s.navTo)
	mux.HandleFunc("/sp", s.portal)
	return mux
}

// Configure changes settings of the running instance safely.
func (s *Instance) Configure(f func(s *Instance)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// ExpireAccessTokens makes every issued access token invalid, as after its lifetime.
func (s *Instance) ExpireAccessTokens() {
	s.mu.Lock()
	for _, g := range s.access {
		g.expires = time.Now().Add(-time.Second)
	}
	s.mu.Unlock()
}

// RevokeRefreshTokens makes every refresh token of userName invalid (and its
// access tokens), as an administrator revoking a user's OAuth tokens does.
func (s *Instance) RevokeRefreshTokens(userName string) {
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
func (s *Instance) ActiveRefreshTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.refresh)
}

// IssuedSecrets lists every token and authorization code the instance ever
// handed out, for checks that none of them leaks.
func (s *Instance) IssuedSecrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issuedLog...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError writes ServiceNow's REST error body.
func WriteError(w http.ResponseWriter, status int, message, detail string) {
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
func (s *Instance) navTo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte("<!doctype html><title>ServiceNow</title><p>The ServiceNow user interface would show " + htmlEscape(r.URL.Query().Get("uri")) + " here.</p>"))
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
