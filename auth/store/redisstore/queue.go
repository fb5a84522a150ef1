package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"snowbot/auth/store"
)

// The queue is two keys that share a hash tag, so that its scripts touch one
// slot of a clustered Redis: a sorted set of batch keys by the time each is
// due (a claimed batch is due again when its lease ends), and a hash with
// each batch's items ("i:<key>", encoded as store.AppendItem does) and its
// current claim ("c:<key>" = "<token>:<bytes handed out>"). Time is Redis'
// own, so instances whose clocks differ agree on what is due.
func (s *Store) queueKeys() []string {
	return []string{s.prefix + "{queue}:due", s.prefix + "{queue}:items"}
}

const luaNow = `local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// enqueue appends one encoded item; 0 when the batch is full.
var enqueue = redis.NewScript(luaNow + `
local f = "i:" .. ARGV[1]
local v = redis.call("HGET", KEYS[2], f) or ""
if #v + #ARGV[2] > tonumber(ARGV[4]) then return 0 end
redis.call("HSET", KEYS[2], f, v .. ARGV[2])
redis.call("ZADD", KEYS[1], "NX", now + tonumber(ARGV[3]), ARGV[1])
return 1`)

// claim hands out due batches and pushes their due time to the lease's end.
var claim = redis.NewScript(luaNow + `
local ks = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", now, "LIMIT", 0, tonumber(ARGV[1]))
local out = {}
for _, k in ipairs(ks) do
  local v = redis.call("HGET", KEYS[2], "i:" .. k)
  if v then
    redis.call("ZADD", KEYS[1], now + tonumber(ARGV[2]), k)
    redis.call("HSET", KEYS[2], "c:" .. k, ARGV[3] .. ":" .. #v)
    table.insert(out, k)
    table.insert(out, v)
  else
    redis.call("ZREM", KEYS[1], k)
  end
end
return out`)

// finish drops what a claim handed out, if the claim is still the batch's.
var finish = redis.NewScript(luaNow + `
local c = redis.call("HGET", KEYS[2], "c:" .. ARGV[1])
if not c then return 0 end
local sep = string.find(c, ":", 1, true)
if string.sub(c, 1, sep - 1) ~= ARGV[2] then return 0 end
local n = tonumber(string.sub(c, sep + 1))
redis.call("HDEL", KEYS[2], "c:" .. ARGV[1])
local v = redis.call("HGET", KEYS[2], "i:" .. ARGV[1]) or ""
if #v <= n then
  redis.call("HDEL", KEYS[2], "i:" .. ARGV[1])
  redis.call("ZREM", KEYS[1], ARGV[1])
else
  redis.call("HSET", KEYS[2], "i:" .. ARGV[1], string.sub(v, n + 1))
  redis.call("ZADD", KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
end
return 1`)

func (s *Store) Enqueue(ctx context.Context, key string, item []byte, delay time.Duration) error {
	ok, err := enqueue.Run(ctx, s.rdb, s.queueKeys(), key, store.AppendItem(nil, item), delay.Milliseconds(), store.MaxBatchBytes).Int()
	if err != nil {
		return fail(err)
	}
	if ok == 0 {
		return store.ErrBatchFull
	}
	return nil
}

func (s *Store) Claim(ctx context.Context, max int, lease time.Duration) ([]store.Batch, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	vals, err := claim.Run(ctx, s.rdb, s.queueKeys(), max, lease.Milliseconds(), token).StringSlice()
	if err != nil {
		return nil, fail(err)
	}
	out := make([]store.Batch, 0, len(vals)/2)
	for i := 0; i+1 < len(vals); i += 2 {
		items, err := store.SplitItems([]byte(vals[i+1]))
		if err != nil {
			return nil, fmt.Errorf("batch %s: %w", vals[i], err)
		}
		out = append(out, store.Batch{Key: vals[i], Items: items, Claim: token})
	}
	return out, nil
}

func (s *Store) Finish(ctx context.Context, b store.Batch, delay time.Duration) error {
	return fail(finish.Run(ctx, s.rdb, s.queueKeys(), b.Key, b.Claim, delay.Milliseconds()).Err())
}
