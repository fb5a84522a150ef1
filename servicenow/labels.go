package servicenow

import (
	"context"
	"strings"
	"sync"
	"time"
)

// englishLabels name fields when the instance's own labels cannot be read.
var englishLabels = map[string]string{
	"number": "Number", "short_description": "Short description", "state": "State", "priority": "Priority",
	"assigned_to": "Assigned to", "assignment_group": "Assignment group", "opened_by": "Opened by",
	"sys_updated_on": "Updated", "type": "Type", "risk": "Risk", "start_date": "Planned start date",
	"end_date": "Planned end date", "cat_item": "Item", "request": "Request", "stage": "Stage",
	"known_error": "Known error", "request_item": "Request item", "caller_id": "Caller", "urgency": "Urgency",
}

// labelMemory is how long a table's labels are kept; a failed read is tried
// again sooner.
const (
	labelMemory       = time.Hour
	labelRetry        = 5 * time.Minute
	labelsAskedAtOnce = 40
)

// labels are a table's field labels, as read once for every person.
type labels struct {
	mu      sync.Mutex
	byTable map[string]tableLabels
}

type tableLabels struct {
	names map[string]string
	until time.Time
}

// Labels names the fields of table as the instance labels them (its
// dictionary's labels, in English, read with the person's token and kept
// for an hour for everyone), falling back to English names where the
// instance's cannot be read.
func (s *Session) Labels(ctx context.Context, table string, fields []string) map[string]string {
	c := s.c
	c.labels.mu.Lock()
	cached, ok := c.labels.byTable[table]
	c.labels.mu.Unlock()
	if !ok || time.Now().After(cached.until) {
		cached = s.readLabels(ctx, table)
		c.labels.mu.Lock()
		if c.labels.byTable == nil {
			c.labels.byTable = map[string]tableLabels{}
		}
		c.labels.byTable[table] = cached
		c.labels.mu.Unlock()
	}
	out := make(map[string]string, len(fields))
	for _, f := range fields {
		switch {
		case cached.names[f] != "":
			out[f] = cached.names[f]
		case englishLabels[f] != "":
			out[f] = englishLabels[f]
		default:
			out[f] = strings.ReplaceAll(f, "_", " ")
		}
	}
	return out
}

// readLabels reads the labels of a table's key fields and of the task fields
// every table inherits (sys_documentation: the table's own label wins).
func (s *Session) readLabels(ctx context.Context, table string) tableLabels {
	fields := recordFields(table)
	q := NewQuery().In("name", table, "task").In("element", fields...).Eq("language", "en")
	recs, _, err := s.List(ctx, "sys_documentation", q, Params{Fields: []string{"name", "element", "label"}, Limit: labelsAskedAtOnce})
	if err != nil {
		return tableLabels{until: time.Now().Add(labelRetry)}
	}
	names := map[string]string{}
	for _, r := range recs {
		el, label := r.Get("element").Value, r.Get("label").Value
		if label == "" {
			continue
		}
		if _, seen := names[el]; !seen || r.Get("name").Value == table {
			names[el] = label
		}
	}
	return tableLabels{names: names, until: time.Now().Add(labelMemory)}
}
