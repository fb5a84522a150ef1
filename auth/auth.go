// Package auth signs people in to ServiceNow with the OAuth 2.0
// authorization-code flow and keeps what that takes: it builds the authorize
// URL (signed, single-use state; PKCE), handles the redirect (Callback: the code
// exchange and who signed in), holds the tokens under a six-digit code until the
// same person confirms it, then stores them sealed with their ServiceNow
// identity, refreshes them once for all concurrent callers and instances, and
// revokes them at sign-out. It also keeps small sealed records per person for
// the conversation. Protocol and storage only: it knows nothing of Teams (a
// user is an opaque key, what to resume after sign-in an opaque JSON value) and
// renders no page (package bot/pages does).
package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"snowbot/auth/seal"
	"snowbot/auth/store"
)

// Lifetimes of the sign-in steps.
const (
	// StateTTL is how long a sign-in link works.
	StateTTL = 10 * time.Minute
	// CodeTTL is how long a verification code works.
	CodeTTL = 10 * time.Minute
	// MaxCodeFailures is how many wrong codes discard a held sign-in.
	MaxCodeFailures = 5
	// refreshBefore is how close to expiry a token is refreshed before use.
	refreshBefore = time.Minute
)

// Errors a caller acts on.
var (
	// ErrSignInRequired: the user has no usable tokens and must sign in.
	ErrSignInRequired = errors.New("ServiceNow sign-in required")
	// ErrSessionEnded: the tokens existed but ServiceNow no longer accepts them.
	ErrSessionEnded = wrapf(ErrSignInRequired, "your ServiceNow session has ended")
	// ErrServiceNowUnavailable: ServiceNow did not answer a token request; nothing was lost.
	ErrServiceNowUnavailable = errors.New("ServiceNow is not answering token requests")
	// ErrMisconfigured: ServiceNow refused snowbot's own client credentials.
	ErrMisconfigured = errors.New("ServiceNow refused snowbot's client credentials")
	// ErrNoSignInWaiting: a code was typed but no sign-in waits for this user.
	ErrNoSignInWaiting = errors.New("no sign-in is waiting for a code")
	// ErrTooManyCodes: the held sign-in was discarded after MaxCodeFailures wrong codes.
	ErrTooManyCodes = errors.New("too many wrong codes")
)

// WrongCodeError is a wrong verification code that still leaves tries.
type WrongCodeError struct{ Left int }

func (e *WrongCodeError) Error() string { return "wrong verification code" }

// Config configures a Service.
type Config struct {
	InstanceURL  string // SERVICENOW_INSTANCE_URL, without a trailing slash
	ClientID     string
	ClientSecret string
	ClientAuth   string // "body" or "basic"
	Scope        string
	PKCE         bool
	RedirectURL  string // PUBLIC_BASE_URL/auth/callback

	// Key (TOKEN_ENCRYPTION_KEY) seals every record and signs sign-in state;
	// PreviousKeys (TOKEN_ENCRYPTION_KEY_PREVIOUS) still open records sealed before a rotation.
	Key          []byte
	PreviousKeys [][]byte
	Store        store.Store
	HTTPClient   *http.Client // for ServiceNow's OAuth endpoints; has a timeout
	Log          *slog.Logger
	// Identify looks up who signed in, right after the code exchange; nil skips it.
	Identify IdentifyFunc

	// StateTTL and CodeTTL shorten the sign-in steps' lifetimes in tests; zero means the defaults.
	StateTTL, CodeTTL time.Duration
}

// Service runs sign-ins and hands out tokens.
type Service struct {
	cfg      Config
	sealer   *seal.Sealer
	oauth    *oauth2.Config
	stateKey []byte
	refresh  singleflight.Group
	now      func() time.Time
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("auth: a Store is required")
	}
	sealer, err := seal.New(cfg.Key, cfg.PreviousKeys...)
	if err != nil {
		return nil, err
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.StateTTL <= 0 {
		cfg.StateTTL = StateTTL
	}
	if cfg.CodeTTL <= 0 {
		cfg.CodeTTL = CodeTTL
	}
	stateKey, err := seal.Derive(cfg.Key, "snowbot sign-in state v1", 32)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, sealer: sealer, oauth: OAuthConfig(cfg), stateKey: stateKey, now: time.Now}, nil
}

// OAuthConfig is the x/oauth2 configuration for the instance: its endpoints,
// and where the client credentials go (form body or Basic header).
func OAuthConfig(cfg Config) *oauth2.Config {
	style := oauth2.AuthStyleInParams
	if strings.EqualFold(cfg.ClientAuth, "basic") {
		style = oauth2.AuthStyleInHeader
	}
	c := &oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		RedirectURL:  cfg.RedirectURL,
		Endpoint: oauth2.Endpoint{
			AuthURL:   cfg.InstanceURL + "/oauth_auth.do",
			TokenURL:  cfg.InstanceURL + "/oauth_token.do",
			AuthStyle: style,
		},
	}
	if cfg.Scope != "" {
		c.Scopes = strings.Fields(cfg.Scope)
	}
	return c
}

// RevokeURL is the instance's token revocation endpoint.
func (s *Service) RevokeURL() string { return s.cfg.InstanceURL + "/oauth_revoke_token.do" }

// withClient makes x/oauth2 use the configured HTTP client (and its timeout).
func (s *Service) withClient(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, s.cfg.HTTPClient)
}

func wrapf(err error, msg string) error { return &wrapped{msg: msg, err: err} }

type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }
