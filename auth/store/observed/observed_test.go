package observed_test

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"snowbot/auth/store"
	"snowbot/auth/store/boltstore"
	"snowbot/auth/store/observed"
	"snowbot/auth/store/redisstore"
	"snowbot/auth/store/storetest"
)

// An observed store is the store it wraps: the conformance suite passes
// through it, on both kinds, and a shared store stays a shared one.
func TestObservedStoresConform(t *testing.T) {
	t.Run("bolt", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			s, err := boltstore.Open(filepath.Join(t.TempDir(), "snowbot.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			o := observed.Wrap(s, "bolt")
			if _, ok := o.(store.Locker); ok {
				t.Fatal("an observed bolt store claims to lock across instances")
			}
			return o
		})
	})
	t.Run("redis", func(t *testing.T) {
		srv := storetest.StartRedis(t)
		var n atomic.Int32
		storetest.Run(t, func(t *testing.T) store.Store {
			s, err := redisstore.Open(srv.URL(), redisstore.Options{Prefix: fmt.Sprintf("observed%d:", n.Add(1))})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			o := observed.Wrap(s, "redis")
			if _, ok := o.(store.SendLog); !ok {
				t.Fatal("an observed Redis store lost its send log")
			}
			return o
		})
	})
}
