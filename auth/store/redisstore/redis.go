// Package redisstore keeps snowbot's state in Redis (Azure Managed Redis in
// production, with Microsoft Entra ID authentication), so that several
// instances of the bot share it: a sign-in may start on one instance, come
// back on another and be confirmed on a third. Every read-modify-write is one
// atomic Redis command or script.
package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/redis/go-redis/v9"

	"snowbot/auth/store"
)

func init() {
	// go-redis prints its own lines (dial failures, pool errors) to stderr. The
	// store reports every failure as an error, which the bot logs as JSON and
	// doctor explains, so those lines would only repeat them in another format.
	redis.SetLogger(quiet{})
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// Options tune a Store.
type Options struct {
	// Prefix starts every key; the default is "snowbot:".
	Prefix string
	// Credential gets the Microsoft Entra ID tokens of a URL with auth=entra;
	// nil: azidentity's default chain (on App Service the managed identity,
	// the user-assigned one named by AZURE_CLIENT_ID; on a workstation the
	// Azure CLI's sign-in).
	Credential azcore.TokenCredential
}

// Store is a Redis-backed store.Store and store.Locker.
type Store struct {
	rdb    *redis.Client
	prefix string
	entra  *entraCredentials // nil unless the URL asks for Entra ID
}

// ParseURL reads STORE_URL's Redis form: redis:// or rediss://, with
// go-redis' options, and auth=entra for Microsoft Entra ID authentication
// (Azure Managed Redis: rediss://<name>.<region>.redis.azure.net:10000/0?auth=entra),
// which takes no user name or password in the URL.
func ParseURL(raw string) (o *redis.Options, entra bool, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, false, errors.New("malformed URL")
	}
	q := u.Query()
	switch q.Get("auth") {
	case "":
	case "entra":
		entra = true
		if u.User != nil {
			return nil, false, errors.New("with auth=entra the URL takes no user name or password: the identity's token is the password")
		}
		q.Del("auth")
		u.RawQuery = q.Encode()
	default:
		return nil, false, fmt.Errorf("auth=%s is not known (auth=entra is)", q.Get("auth"))
	}
	o, err = redis.ParseURL(u.String())
	return o, entra, err
}

var (
	_ store.Store   = (*Store)(nil)
	_ store.Locker  = (*Store)(nil)
	_ store.Sampler = (*Store)(nil)
	_ store.SendLog = (*Store)(nil)
)

// Open connects to the Redis at url (redis:// or rediss://). A server that is
// down at start is not an error: the bot starts, answers "try again in a
// moment", and the client reconnects when Redis is back.
func Open(url string, opts Options) (*Store, error) {
	o, entra, err := ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("STORE_URL is not a valid Redis URL: %w", err)
	}
	var creds *entraCredentials
	if entra {
		cred := opts.Credential
		if cred == nil {
			if cred, err = azidentity.NewDefaultAzureCredential(nil); err != nil {
				return nil, fmt.Errorf("STORE_URL asks for Microsoft Entra ID, but no credential is available: %w", err)
			}
		}
		creds = newEntraCredentials(cred)
		o.StreamingCredentialsProvider = creds
	}
	// Fail fast when Redis is away, so a turn answers instead of hanging.
	o.DialTimeout = 2 * time.Second
	o.ReadTimeout = time.Second
	o.WriteTimeout = time.Second
	o.PoolTimeout = 2 * time.Second
	o.MaxRetries = 1
	if opts.Prefix == "" {
		opts.Prefix = "snowbot:"
	}
	return &Store{rdb: redis.NewClient(o), prefix: opts.Prefix, entra: creds}, nil
}

func (s *Store) tokensKey(user string) string   { return s.prefix + "tokens:" + user }
func (s *Store) pendingKey(id string) string    { return s.prefix + "pending:" + id }
func (s *Store) heldKey(user string) string     { return s.prefix + "held:" + user }
func (s *Store) lockKey(name string) string     { return s.prefix + "lock:" + name }
func (s *Store) recordKey(key string) string    { return s.prefix + "record:" + key }
func (s *Store) tokensPattern() string          { return s.prefix + "tokens:*" }
func (s *Store) userOf(tokensKey string) string { return tokensKey[len(s.prefix+"tokens:"):] }

// fail sorts a Redis error: a missing key is ErrNotFound, a script's own
// verdict passes through, anything about the connection is ErrUnavailable.
func fail(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, redis.Nil):
		return store.ErrNotFound
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error { return fail(s.rdb.Ping(ctx).Err()) }

// Close closes the connections (and stops renewing an Entra ID token).
func (s *Store) Close() error {
	if s.entra != nil {
		s.entra.close()
	}
	return s.rdb.Close()
}

func (s *Store) GetTokens(ctx context.Context, user string) ([]byte, error) {
	b, err := s.rdb.Get(ctx, s.tokensKey(user)).Bytes()
	return b, fail(err)
}

// PutTokens writes the tokens. Durability across a Redis restart is the
// server's: persistence (AOF) or replication, as Azure Cache for Redis
// Standard and Premium provide.
func (s *Store) PutTokens(ctx context.Context, user string, sealed []byte) error {
	return fail(s.rdb.Set(ctx, s.tokensKey(user), sealed, 0).Err())
}

func (s *Store) DeleteTokens(ctx context.Context, user string) error {
	return fail(s.rdb.Del(ctx, s.tokensKey(user)).Err())
}

// swapTokens replaces the value only if it is still exactly the one read.
var swapTokens = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
  redis.call("SET", KEYS[1], ARGV[2])
  return 1
end
return 0`)

func (s *Store) SwapTokens(ctx context.Context, user string, old, sealed []byte) (bool, error) {
	n, err := swapTokens.Run(ctx, s.rdb, []string{s.tokensKey(user)}, old, sealed).Int()
	if err != nil {
		return false, fail(err)
	}
	return n == 1, nil
}

func (s *Store) PutRecord(ctx context.Context, key string, sealed []byte, ttl time.Duration) error {
	return fail(s.rdb.Set(ctx, s.recordKey(key), sealed, max(ttl, 0)).Err())
}

// PutRecordIfAbsent is SET NX: one instance wins, whichever asks first.
func (s *Store) PutRecordIfAbsent(ctx context.Context, key string, sealed []byte, ttl time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.recordKey(key), sealed, max(ttl, 0)).Result()
	return ok, fail(err)
}

// swapRecord sets the record only if it is still exactly ARGV[1] (or, with
// ARGV[3] = "absent", only if there is none); ARGV[4] is the ttl in ms, 0 for none.
var swapRecord = redis.NewScript(`
local cur = redis.call("GET", KEYS[1])
if ARGV[3] == "absent" then
  if cur then return 0 end
elseif cur ~= ARGV[1] then
  return 0
end
if tonumber(ARGV[4]) > 0 then
  redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[4])
else
  redis.call("SET", KEYS[1], ARGV[2])
end
return 1`)

func (s *Store) SwapRecord(ctx context.Context, key string, old, sealed []byte, ttl time.Duration) (bool, error) {
	mode := "equal"
	if old == nil {
		mode = "absent"
	}
	n, err := swapRecord.Run(ctx, s.rdb, []string{s.recordKey(key)}, old, sealed, mode, max(ttl, 0).Milliseconds()).Int()
	if err != nil {
		return false, fail(err)
	}
	return n == 1, nil
}

func (s *Store) GetRecord(ctx context.Context, key string) ([]byte, error) {
	b, err := s.rdb.Get(ctx, s.recordKey(key)).Bytes()
	return b, fail(err)
}

func (s *Store) DeleteRecord(ctx context.Context, key string) error {
	return fail(s.rdb.Del(ctx, s.recordKey(key)).Err())
}

func (s *Store) PutPending(ctx context.Context, id string, sealed []byte, ttl time.Duration) error {
	return fail(s.rdb.Set(ctx, s.pendingKey(id), sealed, ttl).Err())
}

// TakePending reads and deletes in one command, so a state is used once even
// when two instances receive the same callback.
func (s *Store) TakePending(ctx context.Context, id string) ([]byte, error) {
	b, err := s.rdb.GetDel(ctx, s.pendingKey(id)).Bytes()
	return b, fail(err)
}

// A held record is a hash: "v" the sealed value, "f" the wrong-code count.

func (s *Store) PutHeld(ctx context.Context, user string, sealed []byte, ttl time.Duration) error {
	key := s.heldKey(user)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, key)
		p.HSet(ctx, key, "v", sealed, "f", 0)
		p.PExpire(ctx, key, ttl)
		return nil
	})
	return fail(err)
}

func (s *Store) GetHeld(ctx context.Context, user string) ([]byte, int, error) {
	vals, err := s.rdb.HMGet(ctx, s.heldKey(user), "v", "f").Result()
	if err != nil {
		return nil, 0, fail(err)
	}
	v, ok := vals[0].(string)
	if !ok {
		return nil, 0, store.ErrNotFound
	}
	f := 0
	if fs, ok := vals[1].(string); ok {
		fmt.Sscan(fs, &f)
	}
	return []byte(v), f, nil
}

// failHeld counts a wrong code and deletes the record at the limit, keeping
// the remaining expiry otherwise. Returns -1 when there is no record.
var failHeld = redis.NewScript(`
if redis.call("EXISTS", KEYS[1]) == 0 then return -1 end
local n = redis.call("HINCRBY", KEYS[1], "f", 1)
if n >= tonumber(ARGV[1]) then redis.call("DEL", KEYS[1]) end
return n`)

func (s *Store) FailHeld(ctx context.Context, user string, max int) (int, error) {
	n, err := failHeld.Run(ctx, s.rdb, []string{s.heldKey(user)}, max).Int()
	if err != nil {
		return 0, fail(err)
	}
	if n < 0 {
		return 0, store.ErrNotFound
	}
	return n, nil
}

// takeHeld deletes the record only if it still holds exactly the value that was checked.
var takeHeld = redis.NewScript(`
if redis.call("HGET", KEYS[1], "v") == ARGV[1] then
  redis.call("DEL", KEYS[1])
  return 1
end
return 0`)

func (s *Store) TakeHeld(ctx context.Context, user string, sealed []byte) (bool, error) {
	n, err := takeHeld.Run(ctx, s.rdb, []string{s.heldKey(user)}, sealed).Int()
	if err != nil {
		return false, fail(err)
	}
	return n == 1, nil
}

// releaseLock deletes the lock only if this holder still owns it.
var releaseLock = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`)

// TryLock takes the named lock for at most ttl; a crashed holder blocks others no longer.
func (s *Store) TryLock(ctx context.Context, name string, ttl time.Duration) (func(), bool, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	key := s.lockKey(name)
	ok, err := s.rdb.SetNX(ctx, key, token, ttl).Result()
	if err != nil {
		return nil, false, fail(err)
	}
	if !ok {
		return nil, false, nil
	}
	release := func() {
		// The holder's own context may be done; releasing must still happen.
		rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = releaseLock.Run(rctx, s.rdb, []string{key}, token).Err()
	}
	return release, true, nil
}

// SampleTokens returns one stored token record.
func (s *Store) SampleTokens(ctx context.Context) (string, []byte, error) {
	var cursor uint64
	for {
		keys, next, err := s.rdb.Scan(ctx, cursor, s.tokensPattern(), 100).Result()
		if err != nil {
			return "", nil, fail(err)
		}
		for _, k := range keys {
			if b, err := s.rdb.Get(ctx, k).Bytes(); err == nil {
				return s.userOf(k), b, nil
			}
		}
		if cursor = next; cursor == 0 {
			return "", nil, store.ErrNotFound
		}
	}
}
