package servicenow

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Filter is an encoded query a person wrote to choose records (as copied from
// a list view: priority<=2^assignment_group.name=Network), run only with that
// person's own token. It is always and-ed after the conditions snowbot puts
// first (sys_id=…), so whatever it says can only narrow them.
type Filter struct {
	encoded string
	fields  []string // the first field of each condition, as the table names it
}

// maxFilter bounds a filter's length: more than any list view's filter.
const maxFilter = 1000

// ErrBadFilter is a filter snowbot cannot use; its message says why.
var ErrBadFilter = errors.New("not a filter snowbot can use")

// ParseFilter reads a filter. It refuses what would not narrow snowbot's own
// conditions (^NQ, which ors a whole new query onto them), line breaks, and
// conditions it cannot read; a trailing ^EQ, as list views write, is dropped.
func ParseFilter(s string) (Filter, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, "^EQ")
	switch {
	case s == "":
		return Filter{}, fmt.Errorf("%w: it is empty", ErrBadFilter)
	case len(s) > maxFilter:
		return Filter{}, fmt.Errorf("%w: it is longer than %d characters", ErrBadFilter, maxFilter)
	case strings.ContainsAny(s, "\r\n"):
		return Filter{}, fmt.Errorf("%w: it has a line break", ErrBadFilter)
	case strings.Contains(s, "^NQ"):
		return Filter{}, fmt.Errorf("%w: ^NQ (a new query) is not allowed; use ^OR within one query", ErrBadFilter)
	}
	f := Filter{encoded: s}
	for _, term := range strings.Split(s, "^") {
		field, err := termField(term)
		if err != nil {
			return Filter{}, err
		}
		if field != "" {
			f.fields = append(f.fields, field)
		}
	}
	return f, nil
}

// termField is the first field a condition of an encoded query names ("" for
// a keyword search), or why the condition cannot be read.
func termField(term string) (string, error) {
	rest := term
	for _, prefix := range []string{"ORDERBYDESC", "ORDERBY", "OR"} {
		if r, ok := strings.CutPrefix(rest, prefix); ok && r != "" && r[0] >= 'a' && r[0] <= 'z' {
			rest = r
			break
		}
	}
	if strings.HasPrefix(rest, "123TEXTQUERY321=") || rest == "EQ" {
		return "", nil
	}
	end := 0
	for end < len(rest) && (rest[end] >= 'a' && rest[end] <= 'z' || rest[end] >= '0' && rest[end] <= '9' || rest[end] == '_' || rest[end] == '.') {
		end++
	}
	field := rest[:end]
	ordering := strings.HasPrefix(term, "ORDERBY")
	if field == "" || !validField(field) || (!ordering && end == len(rest)) || (ordering && end != len(rest)) {
		return "", fmt.Errorf("%w: cannot read the condition %q", ErrBadFilter, term)
	}
	first, _, _ := strings.Cut(field, ".")
	return first, nil
}

// String is the filter as written.
func (f Filter) String() string { return f.encoded }

// Matching ands the filter onto q.
func (q *Query) Matching(f Filter) *Query {
	if q.err == nil && f.encoded != "" {
		q.terms = append(q.terms, f.encoded)
	}
	return q
}

// CheckFilter checks a filter on table with the person's token before it is
// kept: that ServiceNow accepts it, and that every field it names is one of
// the table's, since ServiceNow drops a condition on a field it does not know
// and would then match every record.
func (s *Session) CheckFilter(ctx context.Context, table string, f Filter) error {
	one, _, err := s.List(ctx, table, NewQuery(), Params{Limit: 1})
	if err != nil {
		return err
	}
	if len(one) > 0 {
		for _, field := range f.fields {
			if _, ok := one[0][field]; !ok {
				return fmt.Errorf("%w: %s has no field %q you may read, and ServiceNow would ignore the condition and match every record", ErrBadFilter, table, field)
			}
		}
	}
	_, _, err = s.List(ctx, table, NewQuery().Matching(f), Params{Fields: []string{"sys_id"}, Limit: 1})
	return err
}

// MatchingRecord reads the record of table with this sys_id if it matches f,
// in one call: ok is false when it does not match, or the person may not read it.
func (s *Session) MatchingRecord(ctx context.Context, table, sysID string, f Filter) (TaskRecord, bool, error) {
	if !ValidSysID(sysID) {
		return TaskRecord{}, false, ErrInvalidSysID
	}
	recs, _, err := s.List(ctx, table, NewQuery().Eq("sys_id", sysID).Matching(f), Params{Fields: append(recordFields(table), "comments"), Limit: 1, DisplayValue: "all"})
	if err != nil || len(recs) == 0 || recs[0].Get("sys_id").Value != sysID {
		return TaskRecord{}, false, err
	}
	return taskRecordFrom(table, recs[0]), true, nil
}
