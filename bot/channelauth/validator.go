// Package channelauth verifies that an activity really comes from the Bot
// Framework: the JWT in its Authorization header must be signed with a published
// key endorsed for the activity's channel, issued for this bot, unexpired, and
// bound to the activity's serviceUrl.
package channelauth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	bfauth "github.com/infracloudio/msbotbuilder-go/connector/auth"
	"github.com/infracloudio/msbotbuilder-go/schema"
)

// ErrUnauthorized wraps every reason a request is refused.
var ErrUnauthorized = errors.New("unauthorized")

// Settings configure a Validator.
type Settings struct {
	AppID       string // the audience tokens must carry
	Issuer      string // BOT_TOKEN_ISSUER
	MetadataURL string // BOT_OPENID_METADATA_URL
	HTTPClient  *http.Client
	// CacheVerified keeps verified tokens (by hash, until they expire) so a busy
	// conversation skips the signature check. On by default in production.
	CacheVerified bool
	// Now replaces the clock in tests.
	Now func() time.Time
}

// Leeway is the clock skew accepted on exp, nbf and iat.
const Leeway = 5 * time.Minute

// maxLifetime is the longest a channel token may still be valid for: the Bot
// Framework issues tokens for far less, so an exp beyond it is not genuine. It
// also bounds how long a verified token is remembered.
const maxLifetime = 24 * time.Hour

// maxCachedTokens bounds the verified-token cache.
const maxCachedTokens = 4096

// Validator authenticates channel-to-bot requests.
//
// It replaces msbotbuilder-go's JwtTokenValidator, which fetches the OpenID
// metadata on every request, never refreshes keys on an unknown kid, ignores key
// endorsements, cannot be given another issuer, panics on a missing claim and is
// not safe for concurrent use. It satisfies the library's TokenValidator interface so
// it plugs into the library's adapter.
type Validator struct {
	settings Settings
	keys     *keySet
	parser   *jwt.Parser

	mu       sync.Mutex
	verified map[[32]byte]verifiedToken
}

// verifiedToken is what the cache remembers of a token whose signature checked out.
type verifiedToken struct {
	claims       jwt.MapClaims
	endorsements []string
	expires      time.Time
}

// New returns a Validator for these settings.
func New(s Settings) *Validator {
	if s.HTTPClient == nil {
		s.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	return &Validator{
		settings: s,
		keys:     newKeySet(s.MetadataURL, s.HTTPClient, s.Now),
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{"RS256"}),
			jwt.WithIssuer(s.Issuer),
			jwt.WithAudience(s.AppID),
			jwt.WithLeeway(Leeway),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithTimeFunc(s.Now),
		),
		verified: make(map[[32]byte]verifiedToken),
	}
}

// Preload fetches the metadata and keys now, so a broken key endpoint shows at start.
func (v *Validator) Preload(ctx context.Context) error { return v.keys.Preload(ctx) }

// AuthenticateRequest implements msbotbuilder-go's auth.TokenValidator. The
// credentials and channelService arguments are unused: the audience and issuer
// come from Settings.
func (v *Validator) AuthenticateRequest(ctx context.Context, activity schema.Activity, authHeader string, _ bfauth.CredentialProvider, _ string) (bfauth.ClaimsIdentity, error) {
	claims, err := v.Authenticate(ctx, activity, authHeader)
	if err != nil {
		return nil, err
	}
	return Identity(claims), nil
}

// Authenticate verifies the Authorization header for this activity and returns the token's claims.
func (v *Validator) Authenticate(ctx context.Context, activity schema.Activity, authHeader string) (jwt.MapClaims, error) {
	raw, ok := strings.CutPrefix(strings.TrimSpace(authHeader), "Bearer ")
	if !ok || raw == "" {
		return nil, fmt.Errorf("%w: no Bearer token", ErrUnauthorized)
	}
	tok, err := v.verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	if su, _ := tok.claims["serviceurl"].(string); su == "" || su != activity.ServiceURL {
		return nil, fmt.Errorf("%w: serviceurl claim does not match the activity's serviceUrl", ErrUnauthorized)
	}
	if tok.endorsements != nil && !slices.Contains(tok.endorsements, activity.ChannelID) {
		return nil, fmt.Errorf("%w: signing key is not endorsed for channel %q", ErrUnauthorized, activity.ChannelID)
	}
	return tok.claims, nil
}

// verify checks signature and registered claims, using the cache when allowed.
func (v *Validator) verify(ctx context.Context, raw string) (verifiedToken, error) {
	now := v.settings.Now()
	var hash [32]byte
	if v.settings.CacheVerified {
		hash = sha256.Sum256([]byte(raw))
		v.mu.Lock()
		tok, ok := v.verified[hash]
		v.mu.Unlock()
		if ok && now.Before(tok.expires) {
			return tok, nil
		}
	}

	var endorsements []string
	token, err := v.parser.Parse(raw, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("token names no kid")
		}
		k, err := v.keys.key(ctx, kid)
		if err != nil {
			return nil, err
		}
		endorsements = k.endorsements
		return k.public, nil
	})
	if err != nil {
		return verifiedToken{}, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	claims, _ := token.Claims.(jwt.MapClaims)
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return verifiedToken{}, fmt.Errorf("%w: no exp", ErrUnauthorized)
	}
	if exp.Sub(now) > maxLifetime+Leeway {
		return verifiedToken{}, fmt.Errorf("%w: exp is %s away, longer than any channel token lives", ErrUnauthorized, exp.Sub(now).Round(time.Minute))
	}
	tok := verifiedToken{claims: claims, endorsements: endorsements, expires: exp.Add(Leeway)}
	if v.settings.CacheVerified {
		v.remember(hash, tok, now)
	}
	return tok, nil
}

func (v *Validator) remember(hash [32]byte, tok verifiedToken, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.verified) >= maxCachedTokens {
		for h, t := range v.verified {
			if !now.Before(t.expires) {
				delete(v.verified, h)
			}
		}
		// Still full of live tokens: forget an arbitrary one (map order is random).
		for h := range v.verified {
			if len(v.verified) < maxCachedTokens {
				break
			}
			delete(v.verified, h)
		}
	}
	v.verified[hash] = tok
}

// identity exposes claims through msbotbuilder-go's ClaimsIdentity without the
// library's DefaultClaimIdentity, which panics on a missing or non-string claim.
type identity jwt.MapClaims

// Identity wraps verified claims as a ClaimsIdentity.
func Identity(c jwt.MapClaims) bfauth.ClaimsIdentity { return identity(c) }

func (i identity) GetClaimValue(name string) string {
	s, _ := i[name].(string)
	return s
}

func (i identity) IsAuthenticated() bool { return true }
