package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"snowbot/auth/store"
)

// Record kinds, bound into each sealed record.
const (
	kindPending = "pending"
	kindHeld    = "held"
	kindTokens  = "tokens"
)

// pending is a sign-in waiting for ServiceNow's redirect.
type pending struct {
	User     string          `json:"user"`
	Verifier string          `json:"verifier,omitempty"` // PKCE: never leaves the server
	Resume   json.RawMessage `json:"resume,omitempty"`
}

// held is a finished exchange waiting for the user's verification code.
type held struct {
	Code   string          `json:"code"`
	Tokens storedTokens    `json:"tokens"`
	Resume json.RawMessage `json:"resume,omitempty"`
}

// storedTokens are a user's ServiceNow tokens and who they belong to.
type storedTokens struct {
	Access   string    `json:"access"`
	Refresh  string    `json:"refresh,omitempty"`
	Expiry   time.Time `json:"expiry,omitzero"`
	Identity *Identity `json:"identity,omitempty"`
}

func fromOAuth(t *oauth2.Token) storedTokens {
	return storedTokens{Access: t.AccessToken, Refresh: t.RefreshToken, Expiry: t.Expiry}
}

// StartSignIn keeps a pending sign-in for user and returns the URL of
// ServiceNow's authorize page. resume is handed back when the sign-in completes.
func (s *Service) StartSignIn(ctx context.Context, user string, resume json.RawMessage) (string, error) {
	state, id := s.newState()
	p := pending{User: user, Resume: resume}
	var opts []oauth2.AuthCodeOption
	if s.cfg.PKCE {
		p.Verifier = oauth2.GenerateVerifier()
		opts = append(opts, oauth2.S256ChallengeOption(p.Verifier))
	}
	plain, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	key := pendingKey(id)
	if err := s.cfg.Store.PutPending(ctx, key, s.sealer.Seal(kindPending, key, plain), s.cfg.StateTTL); err != nil {
		return "", fmt.Errorf("keeping the sign-in: %w", err)
	}
	countSignIn(ctx, stageStarted)
	return s.oauth.AuthCodeURL(state, opts...), nil
}

// takePending checks a state and returns its pending sign-in, once.
func (s *Service) takePending(ctx context.Context, state string) (pending, error) {
	id, err := s.checkState(state)
	if err != nil {
		return pending{}, err
	}
	key := pendingKey(id)
	sealed, err := s.cfg.Store.TakePending(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return pending{}, ErrStateUsed
	}
	if err != nil {
		return pending{}, err
	}
	plain, err := s.sealer.Open(kindPending, key, sealed)
	if err != nil {
		return pending{}, err
	}
	var p pending
	return p, json.Unmarshal(plain, &p)
}

// exchange trades the authorization code for tokens (form-encoded, with the
// configured client authentication and the PKCE verifier) and holds them under
// a fresh verification code for the user who started the sign-in.
func (s *Service) exchange(ctx context.Context, p pending, code string) (string, error) {
	var opts []oauth2.AuthCodeOption
	if p.Verifier != "" {
		opts = append(opts, oauth2.VerifierOption(p.Verifier))
	}
	tok, err := s.oauth.Exchange(s.withClient(ctx), code, opts...)
	if err != nil {
		return "", err
	}
	h := held{Code: newVerificationCode(), Tokens: fromOAuth(tok), Resume: p.Resume}
	h.Tokens.Identity = s.identify(ctx, tok.AccessToken)
	plain, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	if err := s.cfg.Store.PutHeld(ctx, p.User, s.sealer.Seal(kindHeld, p.User, plain), s.cfg.CodeTTL); err != nil {
		return "", fmt.Errorf("keeping the tokens until the code is typed: %w", err)
	}
	return h.Code, nil
}

// newVerificationCode is six uniformly random digits.
func newVerificationCode() string {
	const limit = 4_294_000_000 // largest multiple of 1e6 below 2^32: no modulo bias
	var b [4]byte
	for {
		_, _ = rand.Read(b[:])
		if n := binary.BigEndian.Uint32(b[:]); n < limit {
			return fmt.Sprintf("%06d", n%1_000_000)
		}
	}
}

// NormalizeCode returns the six digits of a typed code ("123 456" or
// "123-456" included), or "" when the text is not a code.
func NormalizeCode(text string) string {
	var digits strings.Builder
	for _, r := range strings.TrimSpace(text) {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == ' ' || r == '-':
		default:
			return ""
		}
	}
	if digits.Len() != 6 {
		return ""
	}
	return digits.String()
}

// SignedIn is a sign-in that completed: what to resume, and who the person
// is in ServiceNow (nil when the lookup at sign-in failed).
type SignedIn struct {
	Resume   json.RawMessage
	Identity *Identity
}

// CompleteSignIn binds the held tokens to user if code is the one shown to
// this same user, and returns what to resume. A wrong code counts towards
// MaxCodeFailures; another user's code finds nothing held for this user.
func (s *Service) CompleteSignIn(ctx context.Context, user, code string) (SignedIn, error) {
	sealed, _, err := s.cfg.Store.GetHeld(ctx, user)
	if errors.Is(err, store.ErrNotFound) {
		return SignedIn{}, ErrNoSignInWaiting
	}
	if err != nil {
		return SignedIn{}, err
	}
	plain, err := s.sealer.Open(kindHeld, user, sealed)
	if err != nil {
		return SignedIn{}, err
	}
	var h held
	if err := json.Unmarshal(plain, &h); err != nil {
		return SignedIn{}, err
	}
	if subtle.ConstantTimeCompare([]byte(NormalizeCode(code)), []byte(h.Code)) != 1 {
		n, err := s.cfg.Store.FailHeld(ctx, user, MaxCodeFailures)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return SignedIn{}, ErrNoSignInWaiting
		case err != nil:
			return SignedIn{}, err
		case n >= MaxCodeFailures:
			s.cfg.Log.WarnContext(ctx, "sign-in discarded after too many wrong codes")
			countSignIn(ctx, stageFailed)
			return SignedIn{}, ErrTooManyCodes
		}
		countSignIn(ctx, stageFailed)
		return SignedIn{}, &WrongCodeError{Left: MaxCodeFailures - n}
	}
	taken, err := s.cfg.Store.TakeHeld(ctx, user, sealed)
	if err != nil {
		return SignedIn{}, err
	}
	if !taken {
		return SignedIn{}, ErrNoSignInWaiting // bound a moment ago by another turn, or replaced
	}
	if err := s.saveTokens(ctx, user, h.Tokens); err != nil {
		return SignedIn{}, err
	}
	countSignIn(ctx, stageCompleted)
	s.cfg.Log.InfoContext(ctx, "ServiceNow sign-in completed")
	return SignedIn{Resume: h.Resume, Identity: h.Tokens.Identity}, nil
}
