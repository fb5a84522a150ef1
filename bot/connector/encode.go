package connector

import (
	"encoding/json"

	"github.com/infracloudio/msbotbuilder-go/schema"
)

// zeroTime is how encoding/json writes an unset time.Time.
const zeroTime = "0001-01-01T00:00:00Z"

// EncodeActivity writes an activity as the connector expects it.
//
// msbotbuilder-go's schema types hold times and nested structs by value, so
// encoding/json writes "expiration":"0001-01-01T00:00:00Z" (an activity that
// expired long ago) and empty objects such as "suggestedActions":{} for every
// field left unset. Those are pruned here so the channel sees only what the bot
// set.
func EncodeActivity(a schema.Activity) ([]byte, error) {
	raw, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	var tree map[string]any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return nil, err
	}
	prune(tree)
	return json.Marshal(tree)
}

// prune removes zero times and empty objects, recursively (but not inside an
// attachment's content); it reports whether m is now empty.
func prune(m map[string]any) bool {
	for k, v := range m {
		switch x := v.(type) {
		case string:
			if x == zeroTime {
				delete(m, k)
			}
		case map[string]any:
			if k == "content" {
				continue // an attachment's card is the bot's own JSON: leave it as written
			}
			if prune(x) {
				delete(m, k)
			}
		case []any:
			for _, e := range x {
				if em, ok := e.(map[string]any); ok {
					prune(em)
				}
			}
		}
	}
	return len(m) == 0
}
