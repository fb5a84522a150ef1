package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/oauth2"
)

// CallbackPath is where ServiceNow sends the browser back after the person
// allowed (or declined) access: PUBLIC_BASE_URL + CallbackPath is the redirect URI.
const CallbackPath = "/auth/callback"

// CallbackResult is what a ServiceNow redirect to the callback came to.
type CallbackResult struct {
	// Code is the verification code the person types in Teams (or Teams passes
	// on) to bind the sign-in; set when Err is nil.
	Code string
	// Err says what went wrong: ErrStateInvalid, ErrStateExpired or
	// ErrStateUsed (the link), ErrUnavailable (the store), an *AuthorizeError
	// (ServiceNow sent an error instead of a code), ErrNoCode, or a failed
	// exchange (see TokenErrorOf).
	Err error
}

// ErrNoCode is a redirect that carries neither a code nor an error.
var ErrNoCode = errors.New("ServiceNow sent the browser back without a code")

// AuthorizeError is an error ServiceNow's authorize page sent back in the redirect.
type AuthorizeError struct {
	Code        string // error
	Description string // error_description
}

func (e *AuthorizeError) Error() string {
	return fmt.Sprintf("ServiceNow answered the authorize request with %s: %s", e.Code, e.Description)
}

// Callback handles ServiceNow's redirect: it checks the state (signed,
// unexpired, unused), exchanges the code (form-encoded, with the PKCE
// verifier) and holds the tokens under a fresh verification code for the
// person who started the sign-in. errCode and errDescription are the
// redirect's error parameters, if any.
func (s *Service) Callback(ctx context.Context, state, code, errCode, errDescription string) CallbackResult {
	r := s.callback(ctx, state, code, errCode, errDescription)
	if r.Err != nil {
		countSignIn(ctx, stageFailed)
	} else {
		countSignIn(ctx, stageExchanged)
	}
	return r
}

func (s *Service) callback(ctx context.Context, state, code, errCode, errDescription string) CallbackResult {
	p, err := s.takePending(ctx, state)
	if err != nil {
		s.cfg.Log.WarnContext(ctx, "sign-in callback refused", "reason", err.Error())
		return CallbackResult{Err: err}
	}
	if errCode != "" {
		s.cfg.Log.InfoContext(ctx, "ServiceNow sent the user back with an error", "error", errCode)
		return CallbackResult{Err: &AuthorizeError{Code: errCode, Description: errDescription}}
	}
	if code == "" {
		return CallbackResult{Err: ErrNoCode}
	}
	held, err := s.exchange(ctx, p, code)
	if err != nil {
		s.cfg.Log.WarnContext(ctx, "authorization code exchange failed", "error", describeTokenError(err))
		return CallbackResult{Err: err}
	}
	s.cfg.Log.InfoContext(ctx, "authorization code exchanged; waiting for the verification code")
	return CallbackResult{Code: held}
}

// TokenError is what a token endpoint answered when it refused a request.
type TokenError struct {
	Status      int    // the HTTP status
	Code        string // error
	Description string // error_description
}

// TokenErrorOf reads the token endpoint's answer out of an error of
// golang.org/x/oauth2; ok is false when the endpoint gave no error answer
// (it could not be reached, say).
func TokenErrorOf(err error) (TokenError, bool) {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return TokenError{}, false
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	return TokenError{Status: status, Code: re.ErrorCode, Description: re.ErrorDescription}, true
}

// MissingAccessToken reports a token answer that was a success without a token
// (x/oauth2 reports it only as text): a login page or a proxy answered.
func MissingAccessToken(err error) bool {
	return err != nil && strings.Contains(err.Error(), "missing access_token")
}
