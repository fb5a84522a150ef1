package auth

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"

	"snowbot/auth/store"
	"snowbot/auth/store/boltstore"
	"snowbot/auth/store/redisstore"
	"snowbot/auth/store/storetest"
)

var scale = flag.Int("scale", 0, "fill a store with this many signed-in people and measure it, e.g. -scale 100000")

// TestStoreAtScale fills a bolt file and a Redis with -scale signed-in people
// (sealed tokens with their identity, as a sign-in leaves them) and reports
// the store's size, this process's memory, and what one turn's token read costs
// at that size:
//
//	go test ./auth -run TestStoreAtScale -scale 100000 -v
func TestStoreAtScale(t *testing.T) {
	if *scale == 0 {
		t.Skip("run with -scale N")
	}
	record := func(s *Service, user string) []byte {
		plain, _ := json.Marshal(storedTokens{
			Access: strings.Repeat("a", 64), Refresh: strings.Repeat("r", 64), Expiry: time.Now().Add(30 * time.Minute),
			Identity: &Identity{SysID: fmt.Sprintf("%032x", rand.Uint64()), UserName: "someone.long-named", Name: "Someone With A Name"},
		})
		return s.sealer.Seal(kindTokens, user, plain)
	}
	users := make([]string, *scale)
	for i := range users {
		users[i] = fmt.Sprintf("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/00000000-0000-4000-8000-%012d", i)
	}
	measure := func(t *testing.T, s *Service) {
		debug.FreeOSMemory() // leave the fill's garbage out of the figures
		rss0 := rss(t)
		var lat []time.Duration
		for range 20000 {
			u := users[rand.IntN(len(users))]
			start := time.Now()
			if _, err := s.Tokens(u).Token(context.Background()); err != nil {
				t.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		debug.FreeOSMemory()
		t.Logf("one turn's token read (store read, decrypt, decode), 20,000 random people: p50 %s, p99 %s; resident memory %d MB before the reads, %d MB after",
			lat[len(lat)/2], lat[len(lat)*99/100], rss0>>20, rss(t)>>20)
	}

	t.Run("bolt", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "snowbot.db")
		st, err := boltstore.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		s := newScaleService(t, st)
		st.Close()
		// One transaction for the fill: a bolt write waits for its fsync.
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte("tokens"))
			for _, u := range users {
				if err := b.Put([]byte(u), record(s, u)); err != nil {
					return err
				}
			}
			return nil
		})
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		st, err = boltstore.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		s.cfg.Store = st
		info, _ := os.Stat(path)
		t.Logf("%d people: bolt file %d MB", len(users), info.Size()>>20)
		measure(t, s)
	})

	t.Run("redis", func(t *testing.T) {
		r := storetest.StartRedis(t)
		st, err := redisstore.Open(r.URL(), redisstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		s := newScaleService(t, st)
		rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.Port)})
		defer rdb.Close()
		ctx := context.Background()
		for i := 0; i < len(users); i += 1000 {
			pipe := rdb.Pipeline()
			for _, u := range users[i:min(i+1000, len(users))] {
				pipe.Set(ctx, "snowbot:tokens:"+u, record(s, u), 0)
			}
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		used, _ := rdb.MemoryUsage(ctx, "snowbot:tokens:"+users[0]).Result()
		info, _ := rdb.Info(ctx, "memory").Result()
		for _, line := range strings.Split(info, "\r\n") {
			if strings.HasPrefix(line, "used_memory_human:") {
				t.Logf("%d people: Redis %s (%d bytes per person's key)", len(users), strings.TrimPrefix(line, "used_memory_human:"), used)
			}
		}
		measure(t, s)
	})
}

func newScaleService(t *testing.T, st store.Store) *Service {
	t.Helper()
	key := make([]byte, 32)
	s, err := New(Config{InstanceURL: "https://x.example", ClientID: "id", ClientSecret: "secret", RedirectURL: "https://bot.example/auth/callback", Key: key, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rss is this process's resident memory.
func rss(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
			return kb << 10
		}
	}
	return 0
}
