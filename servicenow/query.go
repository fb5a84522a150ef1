package servicenow

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrUnsafeValue is a value that could change the meaning of an encoded query.
var ErrUnsafeValue = errors.New("value cannot be used in a ServiceNow query")

// Query builds an encoded query (sysparm_query) from conditions. Encoded
// queries have no escaping: a ^ in a value starts a new condition, ^OR and ^NQ
// widen the query, and a value starting with javascript: runs a script on the
// instance. So values carrying any of these are refused, never pasted in.
type Query struct {
	terms []string
	err   error
}

// validField reports whether s is a field name, dot-walked or not
// (assigned_to.name): lower-case words of letters, digits and underscores,
// separated by dots, none starting with a digit. (A loop: this runs for every
// condition of every query.)
func validField(s string) bool {
	start := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'a' && c <= 'z', c == '_':
			start = false
		case c >= '0' && c <= '9' && !start:
		case c == '.' && !start:
			start = true
		default:
			return false
		}
	}
	return !start
}

// NewQuery starts an empty query (all records).
func NewQuery() *Query { return &Query{} }

func (q *Query) add(field, op, value string) *Query {
	if q.err != nil {
		return q
	}
	if !validField(field) {
		q.err = fmt.Errorf("%w: field name %q", ErrUnsafeValue, field)
		return q
	}
	if err := checkValue(value); err != nil {
		q.err = err
		return q
	}
	q.terms = append(q.terms, field+op+value)
	return q
}

func checkValue(v string) error {
	if strings.ContainsAny(v, "^\r\n") {
		return fmt.Errorf("%w: it contains ^ or a line break", ErrUnsafeValue)
	}
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "javascript:") {
		return fmt.Errorf("%w: it is a script", ErrUnsafeValue)
	}
	return nil
}

// Eq adds field=value.
func (q *Query) Eq(field, value string) *Query { return q.add(field, "=", value) }

// Like adds fieldLIKEvalue (contains, case-insensitive).
func (q *Query) Like(field, value string) *Query { return q.add(field, "LIKE", value) }

// In adds fieldINa,b,c: the field is one of the values. A value holding a
// comma would add a value of its own, so it is refused.
func (q *Query) In(field string, values ...string) *Query {
	for _, v := range values {
		if strings.Contains(v, ",") && q.err == nil {
			q.err = fmt.Errorf("%w: it contains a comma", ErrUnsafeValue)
		}
	}
	return q.add(field, "IN", strings.Join(values, ","))
}

// IsCurrentUser adds field=<the signed-in user>, evaluated by the instance.
func (q *Query) IsCurrentUser(field string) *Query {
	return q.script(field, "=javascript:gs.getUserID()")
}

// IsCurrentUserIn adds that one of fields is the signed-in user:
// f1=<the user>^ORf2=<the user>…, evaluated by the instance.
func (q *Query) IsCurrentUserIn(fields ...string) *Query {
	parts := make([]string, len(fields))
	for i, f := range fields {
		if q.err == nil && !validField(f) {
			q.err = fmt.Errorf("%w: field name %q", ErrUnsafeValue, f)
		}
		parts[i] = f + "=javascript:gs.getUserID()"
	}
	if q.err == nil && len(parts) > 0 {
		q.terms = append(q.terms, strings.Join(parts, "^OR"))
	}
	return q
}

// StartsWith adds fieldSTARTSWITHvalue.
func (q *Query) StartsWith(field, value string) *Query { return q.add(field, "STARTSWITH", value) }

// Keywords adds ServiceNow's keyword search (123TEXTQUERY321=words): records
// whose text index holds every word, on tables the instance indexes.
func (q *Query) Keywords(words string) *Query {
	if q.err == nil {
		if err := checkValue(words); err != nil {
			q.err = err
		} else {
			q.terms = append(q.terms, "123TEXTQUERY321="+words)
		}
	}
	return q
}

// NotCurrentUser adds field!=<the signed-in user>, or-ed with the field being
// empty (so that records without one are not left out).
func (q *Query) NotCurrentUser(field string) *Query {
	return q.script(field, "!=javascript:gs.getUserID()^OR"+field+"ISEMPTY")
}

// NotBeforeToday adds field>=<the start of today>, evaluated by the
// instance, or-ed with the field being empty (no end date).
func (q *Query) NotBeforeToday(field string) *Query {
	return q.script(field, ">=javascript:gs.beginningOfToday()^OR"+field+"ISEMPTY")
}

// script adds a condition on field whose rest is one of the builder's own
// fixed strings (never a caller's value).
func (q *Query) script(field, rest string) *Query {
	if q.err == nil && !validField(field) {
		q.err = fmt.Errorf("%w: field name %q", ErrUnsafeValue, field)
	}
	if q.err == nil {
		q.terms = append(q.terms, field+rest)
	}
	return q
}

// OrderBy sorts by field, smallest first.
func (q *Query) OrderBy(field string) *Query {
	if q.err == nil && !validField(field) {
		q.err = fmt.Errorf("%w: field name %q", ErrUnsafeValue, field)
	}
	if q.err == nil {
		q.terms = append(q.terms, "ORDERBY"+field)
	}
	return q
}

// OrderByDesc sorts by field, largest first.
func (q *Query) OrderByDesc(field string) *Query {
	if q.err == nil && !validField(field) {
		q.err = fmt.Errorf("%w: field name %q", ErrUnsafeValue, field)
	}
	if q.err == nil {
		q.terms = append(q.terms, "ORDERBYDESC"+field)
	}
	return q
}

// Encode returns the encoded query, or the first unsafe value's error.
func (q *Query) Encode() (string, error) {
	if q.err != nil {
		return "", q.err
	}
	return strings.Join(q.terms, "^"), nil
}

var incidentNumber = regexp.MustCompile(`^(?i)INC[0-9]{1,20}$`)

// ParseIncidentNumber validates an incident number (INC and digits, any case)
// and returns it in upper case.
func ParseIncidentNumber(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if !incidentNumber.MatchString(s) {
		return "", false
	}
	return strings.ToUpper(s), true
}
