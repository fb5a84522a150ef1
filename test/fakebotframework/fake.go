// Package fakebotframework is a Bot Framework on loopback for tests: the
// OpenID metadata and signing keys (with endorsements) that channel tokens are
// checked against, the Entra token endpoint a bot gets its own token from, an
// App Service managed-identity endpoint, and a connector that records every
// activity the bot sends and can be told to throttle or fail.
package fakebotframework

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Server is a running fake Bot Framework.
type Server struct {
	*httptest.Server

	// Issuer is the iss of channel tokens (BOT_TOKEN_ISSUER).
	Issuer string
	// TrustedKey signs genuine channel tokens; its public half is published.
	TrustedKey *rsa.PrivateKey
	TrustedKID string
	// UntrustedKey is never published: tokens it signs must be refused.
	UntrustedKey *rsa.PrivateKey
	UntrustedKID string
	// Endorsements are the channels the published key is endorsed for.
	Endorsements []string

	// AppID, AppPassword and AppTenant are the bot's Entra app registration.
	AppID       string
	AppPassword string
	AppTenant   string
	// MultiTenant makes the app known in the botframework.com tenant too.
	MultiTenant bool
	// RequireBotToken makes the connector refuse activities without a valid bot
	// token; off for a bot in development mode.
	RequireBotToken bool
	// IdentityHeader is the secret App Service gives a managed identity endpoint's callers.
	IdentityHeader string
	// KeysDown makes the OpenID metadata endpoint answer 503, as in an outage.
	KeysDown bool
	// Hang makes the connector hold every request until the caller gives up.
	Hang bool
	// Latency delays every answer of the connector, as a channel far away does.
	Latency time.Duration
	// Lean keeps no record of what the connector receives and reads nothing of
	// it but its type; OnDelivery still hears of each activity. For load runs.
	Lean       bool
	OnDelivery func(conversationID string, typing bool)
	// OnAccept hears of each message the connector accepts, before it
	// answers: the bot is still waiting for the answer then.
	OnAccept func(a Activity)
	// TeamsLimits makes the connector throttle as Teams does: a message to a
	// conversation over 7 in 1 s, 8 in 2 s or 60 in 30 s, or to a tenant over
	// 30 in 1 s, is answered 429 with Retry-After.
	TeamsLimits bool

	mu              sync.Mutex
	metadataFetches int
	keyFetches      int
	tokenRequests   []TokenRequest
	issued          map[string]time.Time
	attempts        []Activity
	delivered       []Activity
	failures        []Failure
	nextID          int
	changed         chan struct{} // closed and replaced at every delivery
	byConversation  map[string][]Activity
	removed         map[string]bool        // conversations whose user removed the app
	sentAt          map[string][]time.Time // accepted messages per conversation or tenant, for TeamsLimits
	throttled       int
	received        atomic.Int64 // bytes of activities the connector was sent
}

// ReceivedBytes is how many bytes of activities the connector has been sent so far.
func (s *Server) ReceivedBytes() int64 { return s.received.Load() }

// TokenRequest is one request to the Entra token endpoint.
type TokenRequest struct {
	Tenant      string
	ContentType string
	Form        url.Values
}

// Activity is one request to the connector.
type Activity struct {
	ID             string // the id the connector gave a new activity
	Method         string
	Path           string
	ConversationID string
	ActivityID     string // from the path: the replied-to, updated or deleted activity
	Authorization  string
	Body           map[string]any
	Status         int
	At             time.Time // when the connector answered
}

// Type is the activity's type ("message", "typing").
func (a Activity) Type() string { s, _ := a.Body["type"].(string); return s }

// Text is the activity's text.
func (a Activity) Text() string { s, _ := a.Body["text"].(string); return s }

// JSON is the whole body as JSON text, for searching.
func (a Activity) JSON() string { b, _ := json.Marshal(a.Body); return string(b) }

// Failure is an answer the connector gives instead of accepting an activity.
type Failure struct {
	Status     int
	RetryAfter string
}

// New starts a fake Bot Framework with fresh keys and credentials.
func New() *Server {
	s := &Server{
		Issuer:          "https://api.botframework.com",
		TrustedKey:      mustKey(),
		TrustedKID:      "trusted-" + randomHex(4),
		UntrustedKey:    mustKey(),
		UntrustedKID:    "untrusted-" + randomHex(4),
		Endorsements:    []string{"msteams", "emulator"},
		AppID:           "5c0b1a2e-7f3d-4e8a-9b6c-1d2e3f4a5b6c",
		AppPassword:     "fake-bot-secret-" + randomHex(8),
		AppTenant:       "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
		IdentityHeader:  randomHex(16),
		RequireBotToken: true,
		issued:          map[string]time.Time{},
		changed:         make(chan struct{}),
		byConversation:  map[string][]Activity{},
		removed:         map[string]bool{},
		sentAt:          map[string][]time.Time{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/.well-known/openidconfiguration", s.metadata)
	mux.HandleFunc("GET /v1/.well-known/keys", s.keys)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token)
	mux.HandleFunc("GET /msi/token", s.managedIdentity)
	mux.HandleFunc("POST /{region}/v3/conversations", s.createConversation)
	mux.HandleFunc("/{region}/v3/conversations/{conversation}/activities", s.connector)
	mux.HandleFunc("/{region}/v3/conversations/{conversation}/activities/{activity}", s.connector)
	s.Server = httptest.NewUnstartedServer(mux)
	s.Start()
	return s
}

// Configure changes settings of a running fake safely (the handlers read them under the same lock).
func (s *Server) Configure(f func(s *Server)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// MetadataURL is BOT_OPENID_METADATA_URL for this fake.
func (s *Server) MetadataURL() string { return s.URL + "/v1/.well-known/openidconfiguration" }

// LoginURL is BOT_LOGIN_URL for this fake.
func (s *Server) LoginURL() string { return s.URL }

// ServiceURL is the serviceUrl the fake channel puts in activities.
func (s *Server) ServiceURL() string { return s.URL + "/amer/" }

// IdentityEndpoint is IDENTITY_ENDPOINT for azidentity's App Service managed identity.
func (s *Server) IdentityEndpoint() string { return s.URL + "/msi/token" }

func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.metadataFetches++
	down := s.KeysDown
	s.mu.Unlock()
	if down {
		writeJSON(w, http.StatusServiceUnavailable, errorBody("ServiceUnavailable", "try again later"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.Issuer,
		"authorization_endpoint":                "https://invalid.botframework.com",
		"jwks_uri":                              s.URL + "/v1/.well-known/keys",
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
	})
}

func (s *Server) keys(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.keyFetches++
	pub := s.TrustedKey.PublicKey
	kid, endorsements := s.TrustedKID, s.Endorsements
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]any{{
		"kty":          "RSA",
		"use":          "sig",
		"kid":          kid,
		"n":            base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":            base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		"endorsements": endorsements,
	}}})
}

// KeyFetches is how many times the signing keys were downloaded.
func (s *Server) KeyFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keyFetches
}

// MetadataFetches is how many times the OpenID metadata was downloaded.
func (s *Server) MetadataFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.metadataFetches
}

// token is the Entra v2 token endpoint for the client-credentials grant.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	ct := r.Header.Get("Content-Type")
	_ = r.ParseForm()
	s.mu.Lock()
	s.tokenRequests = append(s.tokenRequests, TokenRequest{Tenant: tenant, ContentType: ct, Form: r.PostForm})
	appID, password, home, multi := s.AppID, s.AppPassword, s.AppTenant, s.MultiTenant
	s.mu.Unlock()

	fail := func(status int, code, desc string) {
		writeJSON(w, status, map[string]any{"error": code, "error_description": desc, "error_codes": []int{}, "timestamp": time.Now().UTC().Format(time.DateTime)})
	}
	switch {
	case !strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		fail(http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
	case r.PostForm.Get("grant_type") != "client_credentials":
		fail(http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
	case tenant != home && !(tenant == "botframework.com" && multi):
		if tenant == "botframework.com" {
			fail(http.StatusBadRequest, "unauthorized_client", fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory 'Bot Framework'.", r.PostForm.Get("client_id")))
		} else {
			fail(http.StatusBadRequest, "invalid_request", fmt.Sprintf("AADSTS90002: Tenant '%s' not found.", tenant))
		}
	case r.PostForm.Get("client_id") != appID:
		fail(http.StatusBadRequest, "unauthorized_client", fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory.", r.PostForm.Get("client_id")))
	case r.PostForm.Get("client_secret") != password:
		fail(http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
	case r.PostForm.Get("scope") != "https://api.botframework.com/.default":
		fail(http.StatusBadRequest, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid.")
	default:
		tok := s.issue()
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
	}
}

// managedIdentity is App Service's managed identity endpoint (api-version 2019-08-01).
func (s *Server) managedIdentity(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.tokenRequests = append(s.tokenRequests, TokenRequest{Tenant: "msi", Form: q})
	appID, header := s.AppID, s.IdentityHeader
	s.mu.Unlock()
	switch {
	case r.Header.Get("X-IDENTITY-HEADER") != header:
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_request", "error_description": "X-IDENTITY-HEADER missing or wrong"})
	case q.Get("client_id") != appID:
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "Identity not found"})
	default:
		writeJSON(w, http.StatusOK, map[string]any{
			"access_token": s.issue(),
			"expires_on":   strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10),
			"resource":     q.Get("resource"),
			"token_type":   "Bearer",
			"client_id":    appID,
		})
	}
}

func (s *Server) issue() string {
	tok := "fake-bot-token-" + randomHex(16)
	s.mu.Lock()
	s.issued[tok] = time.Now().Add(time.Hour)
	s.mu.Unlock()
	return tok
}

// TokenRequests lists the requests made to the token endpoints.
func (s *Server) TokenRequests() []TokenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]TokenRequest(nil), s.tokenRequests...)
}

// ValidBotToken reports whether tok was issued by this fake and is unexpired.
func (s *Server) ValidBotToken(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.issued[tok]
	return ok && time.Now().Before(exp)
}

// RevokeBotTokens forgets every issued bot token, as when a secret is rotated.
func (s *Server) RevokeBotTokens() {
	s.mu.Lock()
	s.issued = map[string]time.Time{}
	s.mu.Unlock()
}

// FailNext makes the connector answer the next len(f) activities with these failures.
func (s *Server) FailNext(f ...Failure) {
	s.mu.Lock()
	s.failures = append(s.failures, f...)
	s.mu.Unlock()
}

// connector accepts activities: POST (send, reply), PUT (update), DELETE.
func (s *Server) connector(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.received.Add(int64(len(body)))
	s.mu.Lock()
	latency, lean, onDelivery := s.Latency, s.Lean, s.OnDelivery
	s.mu.Unlock()
	if latency > 0 {
		time.Sleep(latency)
	}
	if lean {
		writeJSON(w, http.StatusOK, map[string]string{"id": "1"})
		if onDelivery != nil {
			onDelivery(r.PathValue("conversation"), bytes.Contains(body, []byte(`"type":"typing"`)))
		}
		return
	}
	rec := Activity{
		Method:         r.Method,
		Path:           r.URL.Path,
		ConversationID: r.PathValue("conversation"),
		ActivityID:     r.PathValue("activity"),
		Authorization:  r.Header.Get("Authorization"),
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &rec.Body); err != nil {
			rec.Status = http.StatusBadRequest
			s.record(rec, false)
			writeJSON(w, http.StatusBadRequest, errorBody("BadArgument", "body is not JSON"))
			return
		}
	}
	if r.Method != http.MethodDelete && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		rec.Status = http.StatusUnsupportedMediaType
		s.record(rec, false)
		writeJSON(w, rec.Status, errorBody("BadArgument", "Content-Type must be application/json"))
		return
	}
	s.mu.Lock()
	requireToken, hang := s.RequireBotToken, s.Hang
	var f *Failure
	if len(s.failures) > 0 {
		f = &s.failures[0]
		s.failures = s.failures[1:]
	}
	s.mu.Unlock()

	if hang {
		<-r.Context().Done() // like a connector that accepted the connection and never answers
		rec.Status = 0
		s.record(rec, false)
		return
	}
	if requireToken {
		tok, _ := strings.CutPrefix(rec.Authorization, "Bearer ")
		if !s.ValidBotToken(tok) {
			rec.Status = http.StatusUnauthorized
			s.record(rec, false)
			writeJSON(w, rec.Status, errorBody("Unauthorized", "Authorization has been denied for this request."))
			return
		}
	}
	if s.refuseRemoved(w, &rec) || s.throttle(w, &rec, r) {
		return
	}
	if f != nil {
		rec.Status = f.Status
		s.record(rec, false)
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		writeJSON(w, f.Status, errorBody("ServiceError", http.StatusText(f.Status)))
		return
	}
	rec.Status = http.StatusOK
	s.mu.Lock()
	onAccept := s.OnAccept
	s.mu.Unlock()
	if onAccept != nil && r.Method == http.MethodPost && rec.Type() == "message" {
		onAccept(rec)
	}
	id := s.record(rec, true)
	switch r.Method {
	case http.MethodPost:
		writeJSON(w, http.StatusOK, map[string]string{"id": id})
	case http.MethodPut:
		writeJSON(w, http.StatusOK, map[string]string{"id": rec.ActivityID})
	default:
		w.WriteHeader(http.StatusOK)
	}
}

// PersonalChatOf is the id of the 1:1 conversation the connector gives a bot
// and a member: the tests' convention, "a:<id without 29:>-personal".
func PersonalChatOf(memberID string) string {
	return "a:" + strings.TrimPrefix(memberID, "29:") + "-personal"
}

// createConversation starts (or finds) the bot's 1:1 conversation with one
// member, as Teams does, and records the request.
func (s *Server) createConversation(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := Activity{Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization")}
	_ = json.Unmarshal(body, &rec.Body)
	s.mu.Lock()
	requireToken := s.RequireBotToken
	s.mu.Unlock()
	if tok, _ := strings.CutPrefix(rec.Authorization, "Bearer "); requireToken && !s.ValidBotToken(tok) {
		rec.Status = http.StatusUnauthorized
		s.record(rec, false)
		writeJSON(w, rec.Status, errorBody("Unauthorized", "Authorization has been denied for this request."))
		return
	}
	var req struct {
		Members []struct {
			ID string `json:"id"`
		} `json:"members"`
		ChannelData struct {
			Tenant struct {
				ID string `json:"id"`
			} `json:"tenant"`
		} `json:"channelData"`
	}
	if json.Unmarshal(body, &req) != nil || len(req.Members) != 1 || req.Members[0].ID == "" || req.ChannelData.Tenant.ID == "" {
		rec.Status = http.StatusBadRequest
		s.record(rec, false)
		writeJSON(w, rec.Status, errorBody("BadArgument", "one member and the tenant are required"))
		return
	}
	rec.Status = http.StatusCreated
	rec.ConversationID = PersonalChatOf(req.Members[0].ID)
	s.record(rec, false)
	writeJSON(w, http.StatusCreated, map[string]string{"id": rec.ConversationID})
}

// RemoveConversation makes the connector refuse the bot's messages to a
// conversation as Teams does once the user removed the app or blocked the bot
// (403 ConversationBlockedByUser); RestoreConversation undoes it.
func (s *Server) RemoveConversation(id string) {
	s.mu.Lock()
	s.removed[id] = true
	s.mu.Unlock()
}

// RestoreConversation lets the bot's messages into the conversation again.
func (s *Server) RestoreConversation(id string) {
	s.mu.Lock()
	delete(s.removed, id)
	s.mu.Unlock()
}

// Throttled counts the requests answered 429 for going over Teams' limits.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

func (s *Server) refuseRemoved(w http.ResponseWriter, rec *Activity) bool {
	s.mu.Lock()
	removed := s.removed[rec.ConversationID]
	s.mu.Unlock()
	if !removed {
		return false
	}
	rec.Status = http.StatusForbidden
	s.record(*rec, false)
	writeJSON(w, rec.Status, errorBody("ConversationBlockedByUser", "User blocked the conversation with the bot."))
	return true
}

// limit is one of Teams' limits on a bot's messages: at most max within span.
type limit struct {
	span time.Duration
	max  int
}

// Teams' limits per conversation, and per tenant.
var (
	conversationLimits = []limit{{time.Second, 7}, {2 * time.Second, 8}, {30 * time.Second, 60}}
	tenantLimits       = []limit{{time.Second, 30}}
)

// throttle answers 429 when a new message would go over a limit.
func (s *Server) throttle(w http.ResponseWriter, rec *Activity, r *http.Request) bool {
	if r.Method != http.MethodPost || rec.Type() != "message" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.TeamsLimits {
		return false
	}
	now := time.Now()
	tenant := ""
	if c, ok := rec.Body["conversation"].(map[string]any); ok {
		tenant, _ = c["tenantId"].(string)
	}
	over := func(key string, limits []limit) bool {
		for _, l := range limits {
			n := 0
			for _, at := range s.sentAt[key] {
				if now.Sub(at) < l.span {
					n++
				}
			}
			if n >= l.max {
				return true
			}
		}
		return false
	}
	if over("c:"+rec.ConversationID, conversationLimits) || over("t:"+tenant, tenantLimits) {
		s.throttled++
		rec.Status = http.StatusTooManyRequests
		rec.At = now
		s.attempts = append(s.attempts, *rec)
		w.Header().Set("Retry-After", "1")
		writeJSON(w, rec.Status, errorBody("Throttled", "Too many requests"))
		return true
	}
	s.sentAt["c:"+rec.ConversationID] = append(s.sentAt["c:"+rec.ConversationID], now)
	s.sentAt["t:"+tenant] = append(s.sentAt["t:"+tenant], now)
	return false
}

func (s *Server) record(a Activity, delivered bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a.At = time.Now()
	s.attempts = append(s.attempts, a)
	if !delivered {
		return ""
	}
	s.nextID++
	if a.Method == http.MethodPost {
		a.ID = fmt.Sprintf("1%012d", s.nextID)
	}
	s.delivered = append(s.delivered, a)
	s.byConversation[a.ConversationID] = append(s.byConversation[a.ConversationID], a)
	close(s.changed)
	s.changed = make(chan struct{})
	return fmt.Sprintf("1%012d", s.nextID)
}

// Delivered lists the activities the connector accepted, in order.
func (s *Server) Delivered() []Activity {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Activity(nil), s.delivered...)
}

// Attempts lists every request made to the connector, refused ones included.
func (s *Server) Attempts() []Activity {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Activity(nil), s.attempts...)
}

// DeliveredTo lists the accepted activities of one conversation.
func (s *Server) DeliveredTo(conversationID string) []Activity {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Activity(nil), s.byConversation[conversationID]...)
}

// WaitConversation waits until cond holds for the activities delivered to one
// conversation, or timeout.
func (s *Server) WaitConversation(conversationID string, timeout time.Duration, cond func(delivered []Activity) bool) bool {
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		ok := cond(s.byConversation[conversationID])
		changed := s.changed
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-changed:
		case <-deadline:
			return false
		}
	}
}

func errorBody(code, msg string) map[string]any {
	return map[string]any{"error": map[string]string{"code": code, "message": msg}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func mustKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ChannelClaims are the claims of a genuine channel-to-bot token for this bot.
func (s *Server) ChannelClaims(serviceURL string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss":        s.Issuer,
		"aud":        s.AppID,
		"serviceurl": serviceURL,
		"nbf":        now.Add(-time.Minute).Unix(),
		"exp":        now.Add(time.Hour).Unix(),
		"iat":        now.Add(-time.Minute).Unix(),
	}
}

// Sign signs claims with the trusted key, as the channel does.
func (s *Server) Sign(claims jwt.MapClaims) string {
	return SignWith(claims, s.TrustedKey, s.TrustedKID)
}

// SignWith signs claims with any RSA key under any kid.
func SignWith(claims jwt.MapClaims, key *rsa.PrivateKey, kid string) string {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = kid
	t.Header["x5t"] = kid
	out, err := t.SignedString(key)
	if err != nil {
		panic(err)
	}
	return out
}
