package auth

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"snowbot/auth/store"
)

// Identity is who a person is in ServiceNow. It is learned at sign-in and kept
// sealed in the same record as their tokens, so every instance sees exactly the
// identity that goes with the tokens it uses, and a new sign-in (as another
// account, say) replaces both at once.
type Identity struct {
	SysID    string `json:"sys_id"`
	UserName string `json:"user_name,omitempty"`
	Name     string `json:"name,omitempty"`
}

// IdentifyFunc looks up the ServiceNow user an access token belongs to.
type IdentifyFunc func(ctx context.Context, accessToken string) (Identity, error)

// identifyBudget bounds the lookup at sign-in: the person waits on the page.
const identifyBudget = 5 * time.Second

// ErrNoIdentity means the tokens were stored without an identity (the lookup
// at sign-in failed, or they predate it): the caller looks it up and hands it
// to RememberIdentity.
var ErrNoIdentity = errors.New("the ServiceNow identity of these tokens is not known yet")

// identify asks ServiceNow who the fresh token belongs to. A failure is not
// fatal to the sign-in: the identity is looked up again when it is needed.
func (s *Service) identify(ctx context.Context, accessToken string) *Identity {
	if s.cfg.Identify == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, identifyBudget)
	defer cancel()
	id, err := s.cfg.Identify(ctx, accessToken)
	if err == nil && id.SysID == "" {
		err = errors.New("ServiceNow named no user")
	}
	if err != nil {
		s.cfg.Log.WarnContext(ctx, "could not look up who signed in; it is looked up again when needed", "error", describeTokenError(err))
		return nil
	}
	return &id
}

// Identity returns the ServiceNow identity stored with the user's tokens.
func (u *UserTokens) Identity(ctx context.Context) (Identity, error) {
	t, err := u.s.loadTokens(ctx, u.user)
	if err != nil {
		return Identity{}, err
	}
	if t.Identity == nil {
		return Identity{}, ErrNoIdentity
	}
	return *t.Identity, nil
}

// RememberIdentity stores the identity with the user's tokens, unless the
// record changed meanwhile (a refresh or a new sign-in): then nothing is
// written and the next use looks it up again.
func (u *UserTokens) RememberIdentity(ctx context.Context, id Identity) error {
	s := u.s
	sealed, err := s.cfg.Store.GetTokens(ctx, u.user)
	if errors.Is(err, store.ErrNotFound) {
		return ErrSignInRequired
	}
	if err != nil {
		return err
	}
	plain, err := s.sealer.Open(kindTokens, u.user, sealed)
	if err != nil {
		return ErrSignInRequired
	}
	var t storedTokens
	if err := json.Unmarshal(plain, &t); err != nil {
		return ErrSignInRequired
	}
	if t.Identity != nil {
		return nil
	}
	t.Identity = &id
	next, err := json.Marshal(t)
	if err != nil {
		return err
	}
	_, err = s.cfg.Store.SwapTokens(ctx, u.user, sealed, s.sealer.Seal(kindTokens, u.user, next))
	return err
}
