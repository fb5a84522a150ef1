package channelauth

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
)

// signingKey is one published key and the channels it is endorsed for.
type signingKey struct {
	public       *rsa.PublicKey
	endorsements []string // nil when the key carries no endorsements
}

// keySet caches the Bot Framework's signing keys.
//
// keyfunc/jwkset would fetch and refresh a JWK Set, but they drop the
// Bot Framework's "endorsements" member that binds a key to channels, and they
// know only a fixed JWKS URL, not the OpenID metadata document that names it.
// So this type fetches metadata and keys itself (parsing keys with jwkset) and
// keeps the same refresh rules: on a schedule, and on an unknown kid at most once
// per unknownKIDEvery.
type keySet struct {
	metadataURL     string
	client          *http.Client
	refreshEvery    time.Duration
	unknownKIDLimit *rate.Limiter

	group singleflight.Group

	mu        sync.RWMutex
	keys      map[string]signingKey
	fetchedAt time.Time
}

const (
	defaultRefreshEvery = 24 * time.Hour
	unknownKIDEvery     = 5 * time.Minute
	maxKeyDocument      = 1 << 20
)

func newKeySet(metadataURL string, client *http.Client) *keySet {
	return &keySet{
		metadataURL:     metadataURL,
		client:          client,
		refreshEvery:    defaultRefreshEvery,
		unknownKIDLimit: rate.NewLimiter(rate.Every(unknownKIDEvery), 1),
	}
}

// errUnknownKey means the token names a key that is not published, even after a refresh.
var errUnknownKey = errors.New("signing key is not published by the Bot Framework")

// key returns the published key with this kid, refreshing the set when it is
// stale, and (rate-limited) when the kid is unknown.
func (s *keySet) key(ctx context.Context, kid string) (signingKey, error) {
	s.mu.RLock()
	k, found := s.keys[kid]
	stale := s.keys == nil || time.Since(s.fetchedAt) > s.refreshEvery
	s.mu.RUnlock()

	if stale {
		if err := s.refresh(ctx); err != nil {
			if found {
				// Keep serving a known key when the refresh fails: an outage of the
				// key endpoint must not lock every user out.
				return k, nil
			}
			return signingKey{}, err
		}
		s.mu.RLock()
		k, found = s.keys[kid]
		s.mu.RUnlock()
	}
	if found {
		return k, nil
	}
	if !s.unknownKIDLimit.Allow() {
		return signingKey{}, errUnknownKey
	}
	if err := s.refresh(ctx); err != nil {
		return signingKey{}, err
	}
	s.mu.RLock()
	k, found = s.keys[kid]
	s.mu.RUnlock()
	if !found {
		return signingKey{}, errUnknownKey
	}
	return k, nil
}

// Preload fetches the keys now; used at start and by doctor to report problems early.
func (s *keySet) Preload(ctx context.Context) error { return s.refresh(ctx) }

// refresh fetches metadata and keys once for all concurrent callers.
func (s *keySet) refresh(ctx context.Context) error {
	_, err, _ := s.group.Do("refresh", func() (any, error) {
		// The fetch outlives a single caller's cancellation: other callers wait on it.
		fetchCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		keys, err := s.fetch(fetchCtx)
		if err != nil {
			s.mu.Lock()
			if s.keys != nil {
				// Try again in a minute rather than on every request of an outage.
				s.fetchedAt = time.Now().Add(time.Minute - s.refreshEvery)
			}
			s.mu.Unlock()
			return nil, err
		}
		s.mu.Lock()
		s.keys = keys
		s.fetchedAt = time.Now()
		s.mu.Unlock()
		return nil, nil
	})
	return err
}

func (s *keySet) fetch(ctx context.Context) (map[string]signingKey, error) {
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := s.getJSON(ctx, s.metadataURL, &meta); err != nil {
		return nil, fmt.Errorf("OpenID metadata %s: %w", s.metadataURL, err)
	}
	if meta.JWKSURI == "" {
		return nil, fmt.Errorf("OpenID metadata %s has no jwks_uri", s.metadataURL)
	}
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := s.getJSON(ctx, meta.JWKSURI, &doc); err != nil {
		return nil, fmt.Errorf("signing keys %s: %w", meta.JWKSURI, err)
	}
	keys := make(map[string]signingKey, len(doc.Keys))
	for _, raw := range doc.Keys {
		var extra struct {
			Endorsements []string `json:"endorsements"`
		}
		if err := json.Unmarshal(raw, &extra); err != nil {
			continue
		}
		jwk, err := jwkset.NewJWKFromRawJSON(raw, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			continue // a key we cannot read cannot verify anything; skip it
		}
		pub, ok := jwk.Key().(*rsa.PublicKey)
		if !ok || jwk.Marshal().KID == "" {
			continue
		}
		keys[jwk.Marshal().KID] = signingKey{public: pub, endorsements: extra.Endorsements}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("signing keys %s: no usable RSA key", meta.JWKSURI)
	}
	return keys, nil
}

func (s *keySet) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, maxKeyDocument)).Decode(v)
}
