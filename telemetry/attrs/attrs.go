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

// Cache holds the set of each key.
type Cache[K Key] struct {
	mu   sync.RWMutex
	sets map[K]attribute.Set
}

// Of is k's attribute set.
func (c *Cache[K]) Of(k K) attribute.Set {
	c.mu.RLock()
	s, ok := c.sets[k]
	c.mu.RUnlock()
	if ok {
		return s
	}
	s = attribute.NewSet(k.Attributes()...)
	c.mu.Lock()
	if c.sets == nil {
		c.sets = map[K]attribute.Set{}
	}
	c.sets[k] = s
	c.mu.Unlock()
	return s
}
