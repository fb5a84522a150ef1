package channelauth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/infracloudio/msbotbuilder-go/schema"
)

const appID = "5c0b1a2e-7f3d-4e8a-9b6c-1d2e3f4a5b6c"

// keyServer publishes OpenID metadata and one RSA key; it counts key downloads.
type keyServer struct {
	*httptest.Server
	mu           sync.Mutex
	key          *rsa.PrivateKey
	kid          string
	endorsements []string
	fetches      int
}

func newKeyServer(t *testing.T) *keyServer {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	ks := &keyServer{key: k, kid: "k1", endorsements: []string{"msteams"}}
	mux := http.NewServeMux()
	mux.HandleFunc("/meta", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"jwks_uri": ks.URL + "/keys"})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		ks.mu.Lock()
		defer ks.mu.Unlock()
		ks.fetches++
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]any{{
			"kty": "RSA", "use": "sig", "kid": ks.kid,
			"n":            base64.RawURLEncoding.EncodeToString(ks.key.N.Bytes()),
			"e":            base64.RawURLEncoding.EncodeToString(big.NewInt(int64(ks.key.E)).Bytes()),
			"endorsements": ks.endorsements,
		}}})
	})
	ks.Server = httptest.NewServer(mux)
	t.Cleanup(ks.Close)
	return ks
}

func (ks *keyServer) sign(claims jwt.MapClaims, kid string) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = kid
	s, _ := tok.SignedString(ks.key)
	return s
}

func (ks *keyServer) keyFetches() int {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return ks.fetches
}

func claims(serviceURL string) jwt.MapClaims {
	return jwt.MapClaims{"iss": "https://api.botframework.com", "aud": appID, "serviceurl": serviceURL,
		"nbf": time.Now().Add(-time.Minute).Unix(), "exp": time.Now().Add(time.Hour).Unix()}
}

func newValidator(ks *keyServer, cache bool) *Validator {
	return New(Settings{AppID: appID, Issuer: "https://api.botframework.com", MetadataURL: ks.URL + "/meta", CacheVerified: cache})
}

func act(channel string) schema.Activity {
	return schema.Activity{ServiceURL: "https://smba.example/amer/", ChannelID: channel}
}

func TestAcceptsAGenuineTokenWithinTheSkew(t *testing.T) {
	ks := newKeyServer(t)
	v := newValidator(ks, false)
	c := claims("https://smba.example/amer/")
	c["exp"] = time.Now().Add(-4 * time.Minute).Unix() // expired, but within the 5 minutes of skew
	if _, err := v.Authenticate(context.Background(), act("msteams"), "Bearer "+ks.sign(c, "k1")); err != nil {
		t.Fatal(err)
	}
	c["exp"] = time.Now().Add(-6 * time.Minute).Unix()
	if _, err := v.Authenticate(context.Background(), act("msteams"), "Bearer "+ks.sign(c, "k1")); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("6 minutes past exp accepted: %v", err)
	}
}

func TestEndorsementsMustNameTheChannel(t *testing.T) {
	ks := newKeyServer(t)
	v := newValidator(ks, true)
	tok := "Bearer " + ks.sign(claims("https://smba.example/amer/"), "k1")
	if _, err := v.Authenticate(context.Background(), act("msteams"), tok); err != nil {
		t.Fatal(err)
	}
	// The same (cached) token for a channel the key is not endorsed for.
	if _, err := v.Authenticate(context.Background(), act("webchat"), tok); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("unendorsed channel accepted: %v", err)
	}
}

func TestKeysAreRefreshedOnScheduleAndOnUnknownKidAtMostEveryFiveMinutes(t *testing.T) {
	ks := newKeyServer(t)
	v := newValidator(ks, false)
	good := "Bearer " + ks.sign(claims("https://smba.example/amer/"), "k1")
	for range 3 {
		if _, err := v.Authenticate(context.Background(), act("msteams"), good); err != nil {
			t.Fatal(err)
		}
	}
	if ks.keyFetches() != 1 {
		t.Fatalf("%d key fetches for three requests, want 1 (cached)", ks.keyFetches())
	}

	// The channel rotates to a new kid: the first token with it triggers a refresh.
	ks.mu.Lock()
	ks.kid = "k2"
	ks.mu.Unlock()
	rotated := "Bearer " + ks.sign(claims("https://smba.example/amer/"), "k2")
	if _, err := v.Authenticate(context.Background(), act("msteams"), rotated); err != nil {
		t.Fatalf("rotated key refused: %v", err)
	}
	if ks.keyFetches() != 2 {
		t.Fatalf("%d key fetches, want 2", ks.keyFetches())
	}
	// Unknown kids right after do not cause more fetches.
	for range 5 {
		if _, err := v.Authenticate(context.Background(), act("msteams"), "Bearer "+ks.sign(claims("https://smba.example/amer/"), "nope")); !errors.Is(err, ErrUnauthorized) {
			t.Fatal("unknown kid accepted")
		}
	}
	if ks.keyFetches() != 2 {
		t.Fatalf("%d key fetches after a flood of unknown kids, want 2", ks.keyFetches())
	}
	// A day later the set is refreshed on schedule.
	v.keys.mu.Lock()
	v.keys.fetchedAt = time.Now().Add(-25 * time.Hour)
	v.keys.mu.Unlock()
	if _, err := v.Authenticate(context.Background(), act("msteams"), rotated); err != nil {
		t.Fatal(err)
	}
	if ks.keyFetches() != 3 {
		t.Fatalf("%d key fetches after 24 h, want 3", ks.keyFetches())
	}
}

func TestAKnownKeyKeepsWorkingWhileTheKeyEndpointIsDown(t *testing.T) {
	ks := newKeyServer(t)
	v := newValidator(ks, false)
	good := "Bearer " + ks.sign(claims("https://smba.example/amer/"), "k1")
	if _, err := v.Authenticate(context.Background(), act("msteams"), good); err != nil {
		t.Fatal(err)
	}
	ks.Close()
	v.keys.mu.Lock()
	v.keys.fetchedAt = time.Now().Add(-25 * time.Hour)
	v.keys.mu.Unlock()
	if _, err := v.Authenticate(context.Background(), act("msteams"), good); err != nil {
		t.Fatalf("known key refused during a key-endpoint outage: %v", err)
	}
}

func TestVerifiedTokenCacheIsBounded(t *testing.T) {
	ks := newKeyServer(t)
	v := newValidator(ks, true)
	for i := range maxCachedTokens + 10 {
		c := claims("https://smba.example/amer/")
		c["jti"] = i
		if _, err := v.Authenticate(context.Background(), act("msteams"), "Bearer "+ks.sign(c, "k1")); err != nil {
			t.Fatal(err)
		}
	}
	v.mu.Lock()
	n := len(v.verified)
	v.mu.Unlock()
	if n > maxCachedTokens {
		t.Fatalf("cache holds %d tokens, bound is %d", n, maxCachedTokens)
	}
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestABogusKidCannotStarveAKeyRotation(t *testing.T) {
	ks := newKeyServer(t)
	clock := &fakeClock{now: time.Now()}
	v := New(Settings{AppID: appID, Issuer: "https://api.botframework.com", MetadataURL: ks.URL + "/meta", Now: clock.Now})
	su := "https://smba.example/amer/"
	if _, err := v.Authenticate(context.Background(), act("msteams"), "Bearer "+ks.sign(claims(su), "k1")); err != nil {
		t.Fatal(err)
	}
	// An attacker sends a made-up kid: one fetch, nothing found.
	bogus := func(i int) error {
		_, err := v.Authenticate(context.Background(), act("msteams"), "Bearer "+ks.sign(claims(su), fmt.Sprintf("bogus-%d", i)))
		return err
	}
	if err := bogus(0); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("bogus kid: %v", err)
	}
	if ks.keyFetches() != 2 {
		t.Fatalf("%d key fetches, want 2", ks.keyFetches())
	}
	// Right after, the Bot Framework rotates to a new key, and the attacker keeps
	// sending a fresh made-up kid every second.
	ks.mu.Lock()
	ks.kid = "k2"
	ks.mu.Unlock()
	genuine := "Bearer " + ks.sign(claims(su), "k2")
	accepted := false
	for i := 1; i <= int(unknownKIDCooldown/time.Second)+1; i++ {
		clock.Advance(time.Second)
		_ = bogus(i)
		if _, err := v.Authenticate(context.Background(), act("msteams"), genuine); err == nil {
			accepted = true
			break
		}
	}
	if !accepted {
		t.Fatalf("a genuine token with the rotated key was still refused %s after the rotation", unknownKIDCooldown+time.Second)
	}
	// The flood of made-up kids cost at most one fetch per cooldown window.
	if n := ks.keyFetches(); n > 3 {
		t.Fatalf("%d key fetches during a flood of made-up kids, want at most 3", n)
	}
	// The same bogus kid again, even after the cooldown, causes no fetch: it was looked for.
	clock.Advance(unknownKIDCooldown)
	before := ks.keyFetches()
	_ = bogus(0)
	if ks.keyFetches() != before {
		t.Fatal("a kid already looked for caused another fetch")
	}
}

func TestNoFetchStormWhileTheKeyEndpointIsDown(t *testing.T) {
	var fetches atomic.Int32
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)
	clock := &fakeClock{now: time.Now()}
	v := New(Settings{AppID: appID, Issuer: "https://api.botframework.com", MetadataURL: down.URL + "/meta", Now: clock.Now})
	tok := "Bearer " + newKeyServer(t).sign(claims("https://smba.example/amer/"), "k1")

	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := v.Authenticate(context.Background(), act("msteams"), tok)
			if !errors.Is(err, ErrKeysUnavailable) {
				t.Errorf("with no keys to be had: %v, want ErrKeysUnavailable", err)
			}
		}()
	}
	wg.Wait()
	for range 100 {
		_, _ = v.Authenticate(context.Background(), act("msteams"), tok)
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("200 requests during an outage caused %d metadata fetches, want 1 (then a backoff)", n)
	}
	// The backoff doubles: 1 s, then 2 s.
	clock.Advance(1100 * time.Millisecond)
	_, _ = v.Authenticate(context.Background(), act("msteams"), tok)
	clock.Advance(1100 * time.Millisecond)
	_, _ = v.Authenticate(context.Background(), act("msteams"), tok)
	if n := fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2: the second backoff is 2 s", n)
	}
}

func TestTokensFromTheFutureAreRefused(t *testing.T) {
	ks := newKeyServer(t)
	v := newValidator(ks, true)
	su := "https://smba.example/amer/"
	farExp := claims(su)
	farExp["exp"] = time.Now().Add(10 * 365 * 24 * time.Hour).Unix()
	futureIat := claims(su)
	futureIat["iat"] = time.Now().Add(time.Hour).Unix()
	futureNbf := claims(su)
	futureNbf["nbf"] = time.Now().Add(6 * time.Minute).Unix()
	for name, c := range map[string]jwt.MapClaims{"exp ten years ahead": farExp, "iat an hour ahead": futureIat, "nbf beyond the skew": futureNbf} {
		if _, err := v.Authenticate(context.Background(), act("msteams"), "Bearer "+ks.sign(c, "k1")); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("%s accepted: %v", name, err)
		}
	}
}
