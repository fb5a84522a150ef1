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
// So this type fetches metadata and keys itself (parsing keys with jwkset).
//
// When keys are fetched:
//   - on a schedule (refreshEvery);
//   - for a kid it does not know, but at most once per unknownKIDCooldown, and
//     never twice for the same kid within missedKIDMemory. Anyone can send a
//     made-up kid, so one such request must not use up the chance to learn a
//     genuine new key: every cooldown window allows a new fetch, and whatever
//     fetch happens brings every key published by then;
//   - after a failed fetch, not before a backoff that doubles up to
//     maxFetchBackoff, so an outage of the key endpoint is not hammered by
//     every request; all concurrent callers share one fetch.
type keySet struct {
	metadataURL string
	client      *http.Client
	now         func() time.Time

	group singleflight.Group

	mu             sync.RWMutex
	keys           map[string]signingKey
	fetchedAt      time.Time            // last successful fetch
	lastUnknownKID time.Time            // last fetch caused by an unknown kid
	missed         map[string]time.Time // kids still unknown after a fetch that followed their arrival
	failures       int                  // consecutive failed fetches
	retryAt        time.Time            // no fetch before this after a failure
}

const (
	refreshEvery       = 24 * time.Hour
	unknownKIDCooldown = 30 * time.Second
	missedKIDMemory    = 5 * time.Minute
	maxMissedKIDs      = 1024
	firstFetchBackoff  = time.Second
	maxFetchBackoff    = 30 * time.Second
	maxKeyDocument     = 1 << 20
)

func newKeySet(metadataURL string, client *http.Client, now func() time.Time) *keySet {
	return &keySet{metadataURL: metadataURL, client: client, now: now, missed: map[string]time.Time{}}
}

var (
	// errUnknownKey means the token names a key that is not published.
	errUnknownKey = errors.New("signing key is not published by the Bot Framework")
	// ErrKeysUnavailable means no key could be had from the Bot Framework: the
	// request may be genuine, so the channel should try again later (503).
	ErrKeysUnavailable = errors.New("the Bot Framework's signing keys cannot be fetched right now")
)

// key returns the published key with this kid, refreshing the set when it is
// stale and, within the limits above, when the kid is unknown.
func (s *keySet) key(ctx context.Context, kid string) (signingKey, error) {
	now := s.now()
	s.mu.RLock()
	k, found := s.keys[kid]
	stale := s.keys == nil || now.Sub(s.fetchedAt) > refreshEvery
	s.mu.RUnlock()

	if stale {
		if err := s.refresh(ctx, false); err != nil {
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
	if !s.mayFetchFor(kid, now) {
		return signingKey{}, errUnknownKey
	}
	if err := s.refresh(ctx, true); err != nil {
		return signingKey{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, found = s.keys[kid]; found {
		return k, nil
	}
	s.rememberMissed(kid, now)
	return signingKey{}, errUnknownKey
}

// mayFetchFor says whether an unknown kid may cause a fetch now.
func (s *keySet) mayFetchFor(kid string, now time.Time) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if at, ok := s.missed[kid]; ok && now.Sub(at) < missedKIDMemory {
		return false // looked for after it arrived, and not there
	}
	return s.lastUnknownKID.IsZero() || now.Sub(s.lastUnknownKID) >= unknownKIDCooldown
}

// rememberMissed notes a kid that a fetch did not find; s.mu is held. The
// memory is bounded: expired entries go first, then arbitrary ones.
func (s *keySet) rememberMissed(kid string, now time.Time) {
	if len(s.missed) >= maxMissedKIDs {
		for k, at := range s.missed {
			if now.Sub(at) >= missedKIDMemory || len(s.missed) >= maxMissedKIDs {
				delete(s.missed, k)
			}
		}
	}
	s.missed[kid] = now
}

// Preload fetches the keys now; used at start and by doctor to report problems early.
func (s *keySet) Preload(ctx context.Context) error { return s.refresh(ctx, false) }

// refresh fetches metadata and keys once for all concurrent callers, unless a
// recent failure asks to wait.
func (s *keySet) refresh(ctx context.Context, forUnknownKID bool) error {
	s.mu.RLock()
	wait := s.retryAt.Sub(s.now())
	s.mu.RUnlock()
	if wait > 0 {
		return fmt.Errorf("%w: the last fetch failed; next try in %s", ErrKeysUnavailable, wait.Round(time.Second))
	}
	_, err, _ := s.group.Do("refresh", func() (any, error) {
		if forUnknownKID {
			s.mu.Lock()
			s.lastUnknownKID = s.now()
			s.mu.Unlock()
		}
		// The fetch outlives a single caller's cancellation: other callers wait on it.
		fetchCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		keys, err := s.fetch(fetchCtx)
		s.mu.Lock()
		defer s.mu.Unlock()
		if err != nil {
			s.failures++
			backoff := min(firstFetchBackoff<<(s.failures-1), maxFetchBackoff)
			s.retryAt = s.now().Add(backoff)
			return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
		}
		s.keys, s.fetchedAt, s.failures, s.retryAt = keys, s.now(), 0, time.Time{}
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
