package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"snowbot/auth/store"
)

// refreshLockTTL bounds how long one instance may hold a user's refresh lock,
// so a crashed holder blocks nobody for longer.
const refreshLockTTL = 5 * time.Second

func (s *Service) saveTokens(ctx context.Context, user string, t storedTokens) error {
	plain, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return s.cfg.Store.PutTokens(ctx, user, s.sealer.Seal(kindTokens, user, plain))
}

// loadTokens returns the user's tokens, re-sealing a record of a rotated-out key.
func (s *Service) loadTokens(ctx context.Context, user string) (storedTokens, error) {
	sealed, err := s.cfg.Store.GetTokens(ctx, user)
	if errors.Is(err, store.ErrNotFound) {
		return storedTokens{}, ErrSignInRequired
	}
	if err != nil {
		return storedTokens{}, err
	}
	plain, err := s.sealer.Open(kindTokens, user, sealed)
	if err != nil {
		// Sealed under a key we no longer have (or damaged): the only way on is a new sign-in.
		s.cfg.Log.WarnContext(ctx, "stored tokens cannot be opened; the user must sign in again", "error", err)
		return storedTokens{}, ErrSignInRequired
	}
	var t storedTokens
	if err := json.Unmarshal(plain, &t); err != nil {
		return storedTokens{}, ErrSignInRequired
	}
	if s.sealer.Stale(sealed) {
		_ = s.saveTokens(ctx, user, t)
	}
	return t, nil
}

// Tokens is the source of the user's access tokens for ServiceNow calls.
func (s *Service) Tokens(user string) *UserTokens { return &UserTokens{s: s, user: user} }

// UserTokens hands out one user's access token, refreshing it when needed.
type UserTokens struct {
	s    *Service
	user string
}

// Token returns a usable access token, refreshing it shortly before it expires.
func (u *UserTokens) Token(ctx context.Context) (string, error) {
	t, err := u.s.loadTokens(ctx, u.user)
	if err != nil {
		return "", err
	}
	if fresh(t, u.s.now()) {
		return t.Access, nil
	}
	return u.Refresh(ctx, t.Access)
}

func fresh(t storedTokens, now time.Time) bool {
	return t.Expiry.IsZero() || t.Expiry.Sub(now) > refreshBefore
}

// Refresh returns a new access token after ServiceNow refused stale. Concurrent
// callers for one user share one refresh; a caller whose stale token was
// already replaced gets the new one without another refresh.
func (u *UserTokens) Refresh(ctx context.Context, stale string) (string, error) {
	ch := u.s.refresh.DoChan(u.user, func() (any, error) {
		// Shared by every waiting caller: no single caller's cancellation ends it.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		return u.refreshOnce(rctx, stale)
	})
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	}
}

func (u *UserTokens) refreshOnce(ctx context.Context, stale string) (string, error) {
	s := u.s
	t, err := s.loadTokens(ctx, u.user)
	if err != nil {
		return "", err
	}
	if t.Access != stale && fresh(t, s.now()) {
		return t.Access, nil
	}
	if locker, ok := s.cfg.Store.(store.Locker); ok {
		// Several instances: one refreshes, the others wait and re-read its result.
		release, err := u.lock(ctx, locker, stale)
		if err != nil {
			return "", err
		}
		if release == nil {
			return u.s.reread(ctx, u.user, stale)
		}
		defer release()
		if t, err = s.loadTokens(ctx, u.user); err != nil {
			return "", err
		}
		if t.Access != stale && fresh(t, s.now()) {
			return t.Access, nil
		}
	}
	if t.Refresh == "" {
		_ = s.cfg.Store.DeleteTokens(ctx, u.user)
		return "", ErrSessionEnded
	}
	src := s.oauth.TokenSource(s.withClient(ctx), &oauth2.Token{RefreshToken: t.Refresh, Expiry: time.Unix(1, 0)})
	nt, err := src.Token()
	if err != nil {
		switch classifyTokenError(err) {
		case grantDead:
			s.cfg.Log.InfoContext(ctx, "ServiceNow refused the refresh token; the user must sign in again", "error", describeTokenError(err))
			if derr := s.cfg.Store.DeleteTokens(ctx, u.user); derr != nil {
				return "", derr
			}
			return "", ErrSessionEnded
		case clientRefused:
			s.cfg.Log.ErrorContext(ctx, "ServiceNow refused snowbot's client credentials during a refresh", "error", describeTokenError(err))
			return "", fmt.Errorf("%w: %s", ErrMisconfigured, describeTokenError(err))
		default:
			s.cfg.Log.WarnContext(ctx, "token refresh failed for now", "error", describeTokenError(err))
			if timedOut(err) {
				// Not an answer at all: to the person, ServiceNow is not answering.
				return "", fmt.Errorf("%w: %w", ErrServiceNowUnavailable, context.DeadlineExceeded)
			}
			return "", fmt.Errorf("%w: %s", ErrServiceNowUnavailable, describeTokenError(err))
		}
	}
	next := fromOAuth(nt)
	if next.Refresh == "" {
		next.Refresh = t.Refresh // ServiceNow may keep the refresh token unchanged
	}
	next.Identity = t.Identity
	// Persisted before anyone uses it: a crash now must not lose the new refresh token.
	if err := s.saveTokens(ctx, u.user, next); err != nil {
		return "", err
	}
	return next.Access, nil
}

// lock takes the user's refresh lock, or returns a nil release when another
// instance refreshed meanwhile (or holds the lock until it expires).
func (u *UserTokens) lock(ctx context.Context, l store.Locker, stale string) (func(), error) {
	deadline := time.Now().Add(refreshLockTTL + time.Second)
	for {
		release, ok, err := l.TryLock(ctx, "refresh:"+u.user, refreshLockTTL)
		if err != nil {
			return nil, err
		}
		if ok {
			return release, nil
		}
		if t, err := u.s.loadTokens(ctx, u.user); err == nil && t.Access != stale && fresh(t, u.s.now()) {
			return nil, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: another instance is still refreshing", ErrServiceNowUnavailable)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// reread returns the token another instance just stored.
func (s *Service) reread(ctx context.Context, user, stale string) (string, error) {
	t, err := s.loadTokens(ctx, user)
	if err != nil {
		return "", err
	}
	if t.Access == stale {
		return "", ErrSessionEnded
	}
	return t.Access, nil
}

// Forget deletes the user's tokens without revoking them: ServiceNow already
// stopped accepting them.
func (s *Service) Forget(ctx context.Context, user string) error {
	return s.cfg.Store.DeleteTokens(ctx, user)
}

// SignOut revokes the user's refresh and access tokens at the instance and
// forgets them. It forgets them even when revocation fails, and reports
// whether the instance confirmed the revocation.
func (s *Service) SignOut(ctx context.Context, user string) (revoked bool, err error) {
	t, err := s.loadTokens(ctx, user)
	if errors.Is(err, ErrSignInRequired) {
		return false, ErrSignInRequired
	}
	if err != nil {
		return false, err
	}
	revoked = true
	for _, tok := range []string{t.Refresh, t.Access} {
		if tok == "" {
			continue
		}
		if rerr := s.revoke(ctx, tok); rerr != nil {
			s.cfg.Log.WarnContext(ctx, "token revocation failed; forgetting the tokens anyway", "error", rerr)
			revoked = false
		}
	}
	if err := s.cfg.Store.DeleteTokens(ctx, user); err != nil {
		return false, err
	}
	return revoked, nil
}

// revoke posts one token to oauth_revoke_token.do, form-encoded, with the
// configured client authentication. x/oauth2 has no revocation call.
func (s *Service) revoke(ctx context.Context, token string) error {
	form := url.Values{"token": {token}}
	basic := s.oauth.Endpoint.AuthStyle == oauth2.AuthStyleInHeader
	if !basic {
		form.Set("client_id", s.cfg.ClientID)
		form.Set("client_secret", s.cfg.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.RevokeURL(), strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic {
		req.SetBasicAuth(url.QueryEscape(s.cfg.ClientID), url.QueryEscape(s.cfg.ClientSecret))
	}
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("ServiceNow did not answer: %w", scrubURLError(err))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ServiceNow answered HTTP %d", resp.StatusCode)
	}
	return nil
}

// scrubURLError drops the URL from a transport error (it carries no secret
// here, but keeps log lines short and uniform).
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// tokenErrorKind sorts a failed token request.
type tokenErrorKind int

const (
	transient     tokenErrorKind = iota // timeout, 5xx: try later, keep everything
	grantDead                           // the code or refresh token is no longer accepted
	clientRefused                       // snowbot's own client credentials are refused
)

func classifyTokenError(err error) tokenErrorKind {
	te, ok := TokenErrorOf(err)
	switch {
	case !ok:
		return transient
	case te.Code == "invalid_client" || te.Code == "unauthorized_client":
		return clientRefused
	case te.Code == "invalid_grant":
		return grantDead
	case te.Status >= 500:
		return transient
	case te.Status == http.StatusUnauthorized || te.Status == http.StatusBadRequest:
		return grantDead
	}
	return transient
}

// timedOut reports whether a token request got no answer in time.
func timedOut(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// describeTokenError is a log-safe summary: ServiceNow's error code and
// description, never a request body.
func describeTokenError(err error) string {
	if te, ok := TokenErrorOf(err); ok {
		return fmt.Sprintf("HTTP %d %s: %s", te.Status, te.Code, te.Description)
	}
	if timedOut(err) {
		return "timed out"
	}
	return scrubURLError(err).Error()
}

// ErrKeyMismatch means the stored tokens were sealed with another key.
var ErrKeyMismatch = errors.New("the stored tokens were sealed with another key")

// CheckKey opens one stored token record with the configured keys. It reports
// whether there was a record to check.
func (s *Service) CheckKey(ctx context.Context) (bool, error) {
	sampler, ok := s.cfg.Store.(store.Sampler)
	if !ok {
		return false, nil
	}
	user, sealed, err := sampler.SampleTokens(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if _, err := s.sealer.Open(kindTokens, user, sealed); err != nil {
		return true, fmt.Errorf("%w: %w", ErrKeyMismatch, err)
	}
	return true, nil
}
