package attrs

import (
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

type key struct{ kind string }

func (k key) Attributes() []attribute.KeyValue {
	return []attribute.KeyValue{attribute.String("kind", k.kind)}
}

func TestASetIsMadeOncePerKey(t *testing.T) {
	var c Cache[key]
	a, b := c.Of(key{"message"}), c.Of(key{"invoke"})
	if v, _ := a.Value("kind"); v.AsString() != "message" {
		t.Errorf("set %v", a)
	}
	if a.Equals(&b) {
		t.Error("two keys share a set")
	}
	if again := c.Of(key{"message"}); !again.Equals(&a) || len(c.sets) != 2 {
		t.Errorf("the cache holds %d sets", len(c.sets))
	}
}
