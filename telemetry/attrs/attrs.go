// Package attrs keeps the attribute sets of metrics made once per key: a set
// sorts and copies its attributes, which each turn would otherwise pay for
// several times. It depends on OpenTelemetry's API alone.
package attrs

import (
	"sync"

	"go.opentelemetry.io/otel/attribute"
)

// Key is what a metric's points are told apart by: a comparable value of
// bounded variety (kinds, statuses, tables), never anything a person typed.
type Key interface {
	comparable
	Attributes() []attribute.KeyValue
}

// Cache holds the set of each key, and its attributes as a list (for a
// span, which takes a list).
type Cache[K Key] struct {
	mu   sync.RWMutex
	sets map[K]entry
}

type entry struct {
	set  attribute.Set
	list []attribute.KeyValue // shared: never to be changed
}

// Of is k's attribute set.
func (c *Cache[K]) Of(k K) attribute.Set { return c.entry(k).set }

// List is k's attributes, to start a span with; the caller must not change it.
func (c *Cache[K]) List(k K) []attribute.KeyValue { return c.entry(k).list }

func (c *Cache[K]) entry(k K) entry {
	c.mu.RLock()
	e, ok := c.sets[k]
	c.mu.RUnlock()
	if ok {
		return e
	}
	list := k.Attributes()
	e = entry{set: attribute.NewSet(list...), list: list[:len(list):len(list)]}
	c.mu.Lock()
	if c.sets == nil {
		c.sets = map[K]entry{}
	}
	c.sets[k] = e
	c.mu.Unlock()
	return e
}
