package redisstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/redis/go-redis/v9/auth"
)

// EntraScope is what a token for Azure Managed Redis is asked for.
const EntraScope = "https://redis.azure.com/.default"

// entraCredentials hands go-redis the user name and password of Microsoft
// Entra ID authentication: the identity's object id (the token's oid claim)
// and a token for EntraScope. It renews the token before it expires and hands
// the new one to every connection, which go-redis then authenticates again
// (Azure Managed Redis closes a connection whose token has expired).
//
// Written here because Redis' own Entra ID package is not available as a
// module; it implements go-redis' auth.StreamingCredentialsProvider.
type entraCredentials struct {
	cred azcore.TokenCredential
	now  func() time.Time

	mu        sync.Mutex
	current   auth.Credentials
	expires   time.Time
	listeners map[auth.CredentialsListener]struct{}
	running   bool
	closed    bool
	stop      chan struct{}
	done      chan struct{}
}

func newEntraCredentials(cred azcore.TokenCredential) *entraCredentials {
	return &entraCredentials{cred: cred, now: time.Now, listeners: map[auth.CredentialsListener]struct{}{},
		stop: make(chan struct{}), done: make(chan struct{})}
}

// tokenBudget bounds one request for a token.
const tokenBudget = 10 * time.Second

// Subscribe returns the current credentials (getting a token first when there
// is none, or only an expired one) and sends l every renewed one.
func (e *entraCredentials) Subscribe(l auth.CredentialsListener) (auth.Credentials, auth.UnsubscribeFunc, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, nil, fmt.Errorf("%w: the store is closed", errEntra)
	}
	if e.current == nil || !e.now().Before(e.expires) {
		ctx, cancel := context.WithTimeout(context.Background(), tokenBudget)
		err := e.renewLocked(ctx)
		cancel()
		if err != nil {
			return nil, nil, err
		}
	}
	e.listeners[l] = struct{}{}
	if !e.running {
		e.running = true
		go e.keepFresh()
	}
	var once sync.Once
	unsubscribe := func() error {
		once.Do(func() {
			e.mu.Lock()
			delete(e.listeners, l)
			e.mu.Unlock()
		})
		return nil
	}
	return e.current, unsubscribe, nil
}

// renewLocked gets a token and makes it the current credentials. Needs e.mu.
func (e *entraCredentials) renewLocked(ctx context.Context) error {
	creds, expires, err := e.fetch(ctx)
	if err == nil {
		e.current, e.expires = creds, expires
	}
	return err
}

// fetch gets a token and the credentials it makes.
func (e *entraCredentials) fetch(ctx context.Context) (auth.Credentials, time.Time, error) {
	tok, err := e.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{EntraScope}})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: no Microsoft Entra token for Redis: %w", errEntra, err)
	}
	user, err := objectID(tok.Token)
	if err != nil {
		return nil, time.Time{}, err
	}
	return auth.NewBasicCredentials(user, tok.Token), tok.ExpiresOn, nil
}

var errEntra = errors.New("redis: Entra ID authentication failed")

// renewIn is when to renew a token that expires at expires: a quarter of its
// life before, at most 4 minutes before (azidentity hands out its cached token
// until 5 minutes before expiry), and never sooner than a second from now.
func renewIn(now, expires time.Time, life time.Duration) time.Duration {
	margin := min(life/4, 4*time.Minute)
	return max(expires.Sub(now)-margin, time.Second)
}

// keepFresh renews the token before it expires and hands it to every
// listener, until close. A failed renewal is retried, each listener hearing
// of the failure, until the token expires and connections fail over to new
// ones (which ask for a token again).
func (e *entraCredentials) keepFresh() {
	defer close(e.done)
	e.mu.Lock()
	life := e.expires.Sub(e.now())
	wait := renewIn(e.now(), e.expires, life)
	e.mu.Unlock()
	for {
		t := time.NewTimer(wait)
		select {
		case <-e.stop:
			t.Stop()
			return
		case <-t.C:
		}
		// The token is asked for outside the lock: new connections meanwhile
		// take the current one, which is still valid.
		ctx, cancel := context.WithTimeout(context.Background(), tokenBudget)
		fresh, freshExpires, err := e.fetch(ctx)
		cancel()
		e.mu.Lock()
		before := e.expires
		if err == nil && freshExpires.After(before) {
			e.current, e.expires = fresh, freshExpires
		}
		listeners := make([]auth.CredentialsListener, 0, len(e.listeners))
		for l := range e.listeners {
			listeners = append(listeners, l)
		}
		creds, expires := e.current, e.expires
		e.mu.Unlock()
		if err != nil {
			for _, l := range listeners {
				l.OnError(err)
			}
			wait = max(min(expires.Sub(e.now())/2, 30*time.Second), time.Second)
			continue
		}
		if expires.After(before) {
			life = expires.Sub(e.now())
			for _, l := range listeners {
				l.OnNext(creds)
			}
		}
		wait = renewIn(e.now(), expires, life)
	}
}

// close stops the renewals.
func (e *entraCredentials) close() {
	e.mu.Lock()
	running := e.running
	e.running, e.closed = false, true
	e.mu.Unlock()
	if running {
		close(e.stop)
		<-e.done
	}
}

// objectID reads the oid claim of a Microsoft Entra access token: the user
// name Azure Managed Redis expects. The token is not verified here (Redis
// verifies it); it is only read.
func objectID(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("%w: the token is not a JWT", errEntra)
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", fmt.Errorf("%w: the token's claims cannot be read", errEntra)
	}
	var claims struct {
		OID string `json:"oid"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.OID == "" {
		return "", fmt.Errorf("%w: the token names no object id (oid)", errEntra)
	}
	return claims.OID, nil
}
