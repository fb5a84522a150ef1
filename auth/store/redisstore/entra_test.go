package redisstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/redis/go-redis/v9"
	redisauth "github.com/redis/go-redis/v9/auth"

	"snowbot/auth/store"
	"snowbot/auth/store/storetest"
)

// fakeEntra hands out Entra-shaped tokens (a JWT with an oid claim) that
// expire after life, numbered: token 1, token 2, …; it can be made to fail.
type fakeEntra struct {
	oid  string
	life time.Duration

	mu     sync.Mutex
	issued []time.Time // when each token was asked for
	scopes []string
	fail   error
}

func jwtFor(oid string, n int) string {
	enc := base64.RawURLEncoding.EncodeToString
	claims, _ := json.Marshal(map[string]any{"oid": oid, "aud": "https://redis.azure.com", "n": n})
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(claims) + ".c2lnbmF0dXJl"
}

func (f *fakeEntra) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scopes = append(f.scopes, o.Scopes...)
	if f.fail != nil {
		return azcore.AccessToken{}, f.fail
	}
	f.issued = append(f.issued, time.Now())
	return azcore.AccessToken{Token: jwtFor(f.oid, len(f.issued)), ExpiresOn: time.Now().Add(f.life)}, nil
}

func (f *fakeEntra) calls() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.issued...)
}

// entraRedis is a redis-server whose only users are the identity (object id
// oid, with tokens 1 to 3 as its passwords) and an administrator.
func entraRedis(t *testing.T, oid string) (*storetest.Redis, *redis.Client) {
	srv := storetest.StartRedis(t,
		"--user", "default", "off",
		"--user", oid, "on", ">"+jwtFor(oid, 1), ">"+jwtFor(oid, 2), ">"+jwtFor(oid, 3), "~*", "&*", "+@all",
		"--user", "admin", "on", ">admin-password", "~*", "&*", "+@all")
	admin := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", srv.Port), Username: "admin", Password: "admin-password"})
	t.Cleanup(func() { admin.Close() })
	return srv, admin
}

// openWithEntra opens the store on srv with tokens from fake and writes one
// record through it.
func openWithEntra(t *testing.T, srv *storetest.Redis, fake *fakeEntra) *Store {
	t.Helper()
	s, err := Open(srv.URL()+"?auth=entra", Options{Credential: fake})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.PutTokens(context.Background(), "t/ada", []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	return s
}

const testOID = "6f1d2c3b-0000-4000-8000-00000000e17a"

func TestEntraIDAuthenticatesAsTheIdentitysObjectID(t *testing.T) {
	srv, admin := entraRedis(t, testOID)
	fake := &fakeEntra{oid: testOID, life: time.Hour}
	s := openWithEntra(t, srv, fake)
	ctx := context.Background()
	if got, err := s.GetTokens(ctx, "t/ada"); err != nil || string(got) != "sealed" {
		t.Fatalf("GetTokens = %q, %v", got, err)
	}
	clients, err := admin.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(clients, "user="+testOID) {
		t.Errorf("no connection as the object id:\n%s", clients)
	}
	fake.mu.Lock()
	scopes := fake.scopes
	fake.mu.Unlock()
	if len(scopes) == 0 || scopes[0] != "https://redis.azure.com/.default" {
		t.Errorf("tokens asked for %v", scopes)
	}
	// Without Entra ID, the same server refuses the store.
	plain, err := Open(srv.URL(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if err := plain.Ping(ctx); err == nil {
		t.Error("the default user got in")
	}
}

// The token is renewed before it expires, and connections made after the
// renewal use the new one: the old one may then be revoked.
func TestEntraIDTokensAreRenewedBeforeTheyExpire(t *testing.T) {
	srv, admin := entraRedis(t, testOID)
	fake := &fakeEntra{oid: testOID, life: 3 * time.Second}
	s := openWithEntra(t, srv, fake)
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for len(fake.calls()) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	calls := fake.calls()
	if len(calls) < 2 {
		t.Fatal("the token was never renewed")
	}
	if renewedAfter := calls[1].Sub(calls[0]); renewedAfter >= 3*time.Second {
		t.Fatalf("renewed %s after the first token, which expired after 3s", renewedAfter)
	}
	// Token 1 is revoked and every connection dropped: new ones get in with token 2.
	if err := admin.Do(ctx, "ACL", "SETUSER", testOID, "<"+jwtFor(testOID, 1)).Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.Do(ctx, "CLIENT", "KILL", "USER", testOID).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetTokens(ctx, "t/ada"); err != nil || string(got) != "sealed" {
		t.Fatalf("after the renewal: %q, %v", got, err)
	}
}

// No token (the identity is missing or not allowed): the store is unavailable,
// which people are told as "try again in a moment", not a hang.
func TestNoEntraTokenMeansUnavailable(t *testing.T) {
	srv, _ := entraRedis(t, testOID)
	fake := &fakeEntra{oid: testOID, life: time.Hour, fail: errors.New("ManagedIdentityCredential: no identity assigned")}
	s, err := Open(srv.URL()+"?auth=entra", Options{Credential: fake})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	err = s.PutTokens(context.Background(), "t/ada", []byte("x"))
	if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "Entra") {
		t.Fatalf("without a token: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s", took)
	}
}

func TestParseURLForEntraID(t *testing.T) {
	o, entra, err := ParseURL("rediss://snowbot.westeurope.redis.azure.net:10000/0?auth=entra")
	if err != nil || !entra || o.Addr != "snowbot.westeurope.redis.azure.net:10000" || o.TLSConfig == nil {
		t.Fatalf("%+v, %v, %v", o, entra, err)
	}
	for _, bad := range []string{
		"rediss://:key@host:10000/0?auth=entra", // a key and Entra ID at once
		"rediss://host:10000/0?auth=password",
		"rediss://host:10000/0?nonsense=1",
	} {
		if _, _, err := ParseURL(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// Once closed, the provider starts no new renewals: a late subscriber (a
// connection dialled while the client shuts down) gets an error, not a panic.
func TestClosedEntraCredentialsRefuseNewSubscribers(t *testing.T) {
	e := newEntraCredentials(&fakeEntra{oid: testOID, life: time.Hour})
	if _, unsubscribe, err := e.Subscribe(nopListener{}); err != nil {
		t.Fatal(err)
	} else {
		_ = unsubscribe()
	}
	e.close()
	if _, _, err := e.Subscribe(nopListener{}); err == nil {
		t.Fatal("a closed provider accepted a subscriber")
	}
	e.close() // a second close is harmless
}

type nopListener struct{}

func (nopListener) OnNext(redisauth.Credentials) {}
func (nopListener) OnError(error)                {}
