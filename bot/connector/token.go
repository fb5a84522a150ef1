package connector

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/sync/singleflight"
)

// Scope is what a bot asks for to call the Bot Connector.
const Scope = "https://api.botframework.com/.default"

// renewBefore is how long before expiry a cached bot token is replaced.
const renewBefore = 5 * time.Minute

// TokenSource hands out the bot's own access token for the connector.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
	// Invalidate drops the cached token, after the connector refused it.
	Invalidate()
}

// FetchFunc obtains a fresh token.
type FetchFunc func(ctx context.Context) (*oauth2.Token, error)

// CachedToken caches a token until renewBefore its expiry and fetches it once
// for all callers that need it at the same moment.
//
// oauth2.ReuseTokenSource caches too, but it takes no context (a turn could not
// stop waiting for a slow token endpoint) and cannot be told that the connector
// refused a token; this is the small part it lacks.
type CachedToken struct {
	fetch FetchFunc
	group singleflight.Group

	mu  sync.RWMutex
	tok *oauth2.Token
}

// NewCachedToken wraps fetch in a cache.
func NewCachedToken(fetch FetchFunc) *CachedToken { return &CachedToken{fetch: fetch} }

// Token returns a cached token or fetches one.
func (c *CachedToken) Token(ctx context.Context) (string, error) {
	c.mu.RLock()
	tok := c.tok
	c.mu.RUnlock()
	if tok != nil && time.Until(tok.Expiry) > renewBefore {
		return tok.AccessToken, nil
	}
	ch := c.group.DoChan("token", func() (any, error) {
		// One fetch serves every waiting turn, so no single turn may cancel it.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		t, err := c.fetch(fctx)
		if err != nil {
			return nil, err
		}
		if t.AccessToken == "" {
			return nil, errors.New("token endpoint returned no access_token")
		}
		c.mu.Lock()
		c.tok = t
		c.mu.Unlock()
		return t, nil
	})
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(*oauth2.Token).AccessToken, nil
	}
}

// Invalidate drops the cached token.
func (c *CachedToken) Invalidate() {
	c.mu.Lock()
	c.tok = nil
	c.mu.Unlock()
}

// ClientCredentials fetches bot tokens with the client-credentials grant at
// tokenURL (BOT_LOGIN_URL/{tenant}/oauth2/v2.0/token), form-encoded.
func ClientCredentials(tokenURL, appID, password string, client *http.Client) FetchFunc {
	cfg := clientcredentials.Config{
		ClientID:     appID,
		ClientSecret: password,
		TokenURL:     tokenURL,
		Scopes:       []string{Scope},
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	return func(ctx context.Context) (*oauth2.Token, error) {
		return cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, client))
	}
}

// ManagedIdentity fetches bot tokens from the user-assigned managed identity
// whose client ID is appID (MICROSOFT_APP_TYPE=UserAssignedMSI).
func ManagedIdentity(appID string) (FetchFunc, error) {
	cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
		ID: azidentity.ClientID(appID),
	})
	if err != nil {
		return nil, err
	}
	return fromAzure(cred), nil
}

func fromAzure(cred azcore.TokenCredential) FetchFunc {
	return func(ctx context.Context) (*oauth2.Token, error) {
		t, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{Scope}})
		if err != nil {
			return nil, err
		}
		return &oauth2.Token{AccessToken: t.Token, TokenType: "Bearer", Expiry: t.ExpiresOn}, nil
	}
}
