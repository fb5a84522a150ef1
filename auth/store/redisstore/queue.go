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

// The queue is keys that share a hash tag, so that its scripts touch one
// slot of a clustered Redis: a sorted set of batch keys by the time each is
// due (a claimed batch is due again when its lease ends), a hash with each
// batch's items ("i:<key>", encoded as store.AppendItem does) and its current
// claim ("c:<key>" = "<token>:<bytes handed out>"), and one key per id that
// EnqueueOnce remembers. Time is Redis' own, so instances whose clocks differ
// agree on what is due.
func (s *Store) queueKeys() []string {
	return []string{s.prefix + "{queue}:due", s.prefix + "{queue}:items"}
}

func (s *Store) onceKey(once string) string { return s.prefix + "{queue}:once:" + once }

const luaNow = `local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// enqueueOnce remembers an id and appends one encoded item, in one step:
// 0 when the id was seen, -1 when the batch is full, 1 when enqueued.
var enqueueOnce = redis.NewScript(luaNow + `
if redis.call("EXISTS", KEYS[3]) == 1 then return 0 end
local f = "i:" .. ARGV[1]
local v = redis.call("HGET", KEYS[2], f) or ""
if #v + #ARGV[2] > tonumber(ARGV[4]) then return -1 end
redis.call("HSET", KEYS[2], f, v .. ARGV[2])
redis.call("ZADD", KEYS[1], "NX", now + tonumber(ARGV[3]), ARGV[1])
redis.call("SET", KEYS[3], "1", "PX", ARGV[5])
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

// ours is the part of the scripts below that checks a claim: it leaves the
// bytes the claim handed out in n, or returns 0 when the claim is another's.
const ours = `
local c = redis.call("HGET", KEYS[2], "c:" .. ARGV[1])
if not c then return 0 end
local sep = string.find(c, ":", 1, true)
if string.sub(c, 1, sep - 1) ~= ARGV[2] then return 0 end
local n = tonumber(string.sub(c, sep + 1))
`

// extend pushes a claimed batch's due time to the end of a new lease.
var extend = redis.NewScript(luaNow + ours + `
redis.call("ZADD", KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
return 1`)

// finish drops what a claim handed out, if the claim is still the batch's.
var finish = redis.NewScript(luaNow + ours + `
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

// retry gives a claimed batch back whole, due after a delay.
var retry = redis.NewScript(luaNow + ours + `
redis.call("HDEL", KEYS[2], "c:" .. ARGV[1])
redis.call("ZADD", KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
return 1`)

func (s *Store) EnqueueOnce(ctx context.Context, once string, memory time.Duration, key string, item []byte, delay time.Duration) (bool, error) {
	keys := append(s.queueKeys(), s.onceKey(once))
	n, err := enqueueOnce.Run(ctx, s.rdb, keys, key, store.AppendItem(nil, item), delay.Milliseconds(), store.MaxBatchBytes, max(memory.Milliseconds(), 1)).Int()
	switch {
	case err != nil:
		return false, fail(err)
	case n < 0:
		return false, store.ErrBatchFull
	}
	return n == 1, nil
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

func (s *Store) Extend(ctx context.Context, b store.Batch, lease time.Duration) (bool, error) {
	n, err := extend.Run(ctx, s.rdb, s.queueKeys(), b.Key, b.Claim, lease.Milliseconds()).Int()
	return n == 1, fail(err)
}

func (s *Store) Finish(ctx context.Context, b store.Batch, delay time.Duration) error {
	return fail(finish.Run(ctx, s.rdb, s.queueKeys(), b.Key, b.Claim, delay.Milliseconds()).Err())
}

func (s *Store) Retry(ctx context.Context, b store.Batch, delay time.Duration) error {
	return fail(retry.Run(ctx, s.rdb, s.queueKeys(), b.Key, b.Claim, max(delay.Milliseconds(), 0)).Err())
}

func (s *Store) QueueStats(ctx context.Context) (store.QueueStats, error) {
	due := s.queueKeys()[0]
	n, err := s.rdb.ZCard(ctx, due).Result()
	if err != nil {
		return store.QueueStats{}, fail(err)
	}
	st := store.QueueStats{Batches: int(n)}
	first, err := s.rdb.ZRangeWithScores(ctx, due, 0, 0).Result()
	if err != nil {
		return store.QueueStats{}, fail(err)
	}
	if len(first) == 1 {
		st.OldestDue = time.UnixMilli(int64(first[0].Score))
	}
	return st, nil
}

func (s *Store) markKey(key string) string { return s.prefix + "mark:" + key }

// Mark sets every key in one round trip. Durability is the server's, as for
// every write (see PutTokens).
func (s *Store) Mark(ctx context.Context, keys []string, ttl time.Duration) error {
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Set(ctx, s.markKey(k), "1", max(ttl, 0))
		}
		return nil
	})
	return fail(err)
}

func (s *Store) Marked(ctx context.Context, keys []string) ([]bool, error) {
	out := make([]bool, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = s.markKey(k)
	}
	// One key per command: MGET would need every key in one slot of a cluster.
	cmds, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range full {
			p.Exists(ctx, k)
		}
		return nil
	})
	if err != nil {
		return nil, fail(err)
	}
	for i, c := range cmds {
		out[i] = c.(*redis.IntCmd).Val() == 1
	}
	return out, nil
}

// reserveSend is the sliding log of store.SendLog as a script: the log of one
// key is a sorted set of reserved send times. ARGV: span and max
// (milliseconds, count) of each window, the longest last.
var reserveSend = redis.NewScript(luaNow + `
local longest = tonumber(ARGV[#ARGV - 1])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now - longest)
local n = redis.call("ZCARD", KEYS[1])
local at = now
if n > 0 then
  local last = redis.call("ZRANGE", KEYS[1], -1, -1, "WITHSCORES")
  at = math.max(at, tonumber(last[2]))
end
for i = 1, #ARGV, 2 do
  local span, limit = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  if n >= limit then
    local e = redis.call("ZRANGE", KEYS[1], n - limit, n - limit, "WITHSCORES")
    at = math.max(at, tonumber(e[2]) + span)
  end
end
local seq = redis.call("INCR", KEYS[2])
redis.call("ZADD", KEYS[1], at, at .. ":" .. seq)
redis.call("PEXPIRE", KEYS[1], longest * 2)
redis.call("PEXPIRE", KEYS[2], longest * 2)
return at - now`)

func (s *Store) ReserveSend(ctx context.Context, key string, limits []store.Window) (time.Duration, error) {
	if len(limits) == 0 {
		return 0, nil
	}
	args := make([]any, 0, 2*len(limits))
	for _, w := range limits {
		args = append(args, w.Span.Milliseconds(), w.Max)
	}
	tag := "{pace:" + key + "}"
	wait, err := reserveSend.Run(ctx, s.rdb, []string{s.prefix + tag + ":log", s.prefix + tag + ":seq"}, args...).Int64()
	if err != nil {
		return 0, fail(err)
	}
	return time.Duration(wait) * time.Millisecond, nil
}
