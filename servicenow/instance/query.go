package instance

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The subset of ServiceNow's encoded queries the fake understands:
// conditions field=value, field!=value, fieldLIKEvalue, fieldSTARTSWITHvalue,
// fieldINa,b, fieldISEMPTY, fieldISNOTEMPTY, field>=value, <=, > and < (numbers
// as numbers, dates as text), and the keyword search 123TEXTQUERY321=words; joined by ^ (and), ^OR (or
// with the previous condition) and ^NQ (a new query, or-ed with the others);
// ORDERBYfield and ORDERBYDESCfield; and the values javascript:gs.getUserID()
// and javascript:gs.beginningOfToday(). Anything else is refused as an invalid
// query, naming the term.

type condition struct {
	field, op, value string
}

type ordering struct {
	field string
	desc  bool
}

// query is groups (or-ed) of clauses (and-ed) of alternatives (or-ed).
type query struct {
	groups       [][][]condition
	order        []ordering
	noTextSearch bool
}

// textQuery is the "field" of ServiceNow's keyword search condition.
const textQuery = "123TEXTQUERY321"

// Server-side values the instance evaluates.
const (
	currentUser    = "javascript:gs.getUserID()"
	beginningToday = "javascript:gs.beginningOfToday()"
)

var operators = []string{"ISNOTEMPTY", "ISEMPTY", "STARTSWITH", "LIKE", "!=", ">=", "<=", ">", "<", "IN", "="}

func parseQuery(encoded string, fields []string) (*query, error) {
	q := &query{}
	if strings.TrimSpace(encoded) == "" {
		return q, nil
	}
	for _, groupText := range strings.Split(encoded, "^NQ") {
		var group [][]condition
		for _, term := range strings.Split(groupText, "^") {
			if term == "" {
				continue
			}
			if rest, ok := strings.CutPrefix(term, "ORDERBYDESC"); ok {
				if !slices.Contains(fields, rest) {
					return nil, fmt.Errorf("unknown field %q in ORDERBYDESC", rest)
				}
				q.order = append(q.order, ordering{field: rest, desc: true})
				continue
			}
			if rest, ok := strings.CutPrefix(term, "ORDERBY"); ok {
				if !slices.Contains(fields, rest) {
					return nil, fmt.Errorf("unknown field %q in ORDERBY", rest)
				}
				q.order = append(q.order, ordering{field: rest})
				continue
			}
			or := false
			if rest, ok := strings.CutPrefix(term, "OR"); ok && len(group) > 0 {
				or, term = true, rest
			}
			c, err := parseCondition(term, fields)
			if err != nil {
				return nil, err
			}
			if or {
				group[len(group)-1] = append(group[len(group)-1], c)
			} else {
				group = append(group, []condition{c})
			}
		}
		if len(group) > 0 {
			q.groups = append(q.groups, group)
		}
	}
	return q, nil
}

func parseCondition(term string, fields []string) (condition, error) {
	if words, ok := strings.CutPrefix(term, textQuery+"="); ok {
		return condition{field: textQuery, op: "=", value: words}, nil
	}
	best := -1
	var op string
	for _, candidate := range operators {
		if i := strings.Index(term, candidate); i > 0 && (best < 0 || i < best) {
			best, op = i, candidate
		}
	}
	if best < 0 {
		return condition{}, fmt.Errorf("cannot read the condition %q", term)
	}
	c := condition{field: term[:best], op: op, value: term[best+len(op):]}
	first, _, _ := strings.Cut(c.field, ".") // a dot-walk starts at a field of the table
	if !slices.Contains(fields, first) {
		return condition{}, fmt.Errorf("unknown field %q", c.field)
	}
	if (op == "ISEMPTY" || op == "ISNOTEMPTY") && c.value != "" {
		return condition{}, fmt.Errorf("cannot read the condition %q", term)
	}
	if strings.HasPrefix(strings.ToLower(c.value), "javascript:") && c.value != currentUser && c.value != beginningToday {
		return condition{}, fmt.Errorf("script not allowed in query: %q", c.value)
	}
	return c, nil
}

// matches reports whether a row, whose fields get reads (dot-walks included), fits the query.
func (q *query) matches(get func(name string) string, user *User) bool {
	if len(q.groups) == 0 {
		return true
	}
	for _, group := range q.groups {
		all := true
		for _, alternatives := range group {
			any := false
			for _, c := range alternatives {
				if c.field == textQuery {
					if !q.noTextSearch && textMatches(get, c.value) {
						any = true
						break
					}
					continue
				}
				if c.matches(get, user) {
					any = true
					break
				}
			}
			if !any {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func (c condition) matches(get func(name string) string, user *User) bool {
	v := get(c.field)
	want := c.value
	switch want {
	case currentUser:
		want = user.SysID
	case beginningToday:
		want = time.Now().UTC().Format("2006-01-02")
	}
	switch c.op {
	case "=":
		return v == want
	case "!=":
		return v != want
	case "LIKE":
		return strings.Contains(strings.ToLower(v), strings.ToLower(want))
	case "STARTSWITH":
		return strings.HasPrefix(strings.ToLower(v), strings.ToLower(want))
	case ">=", "<=", ">", "<":
		return v != "" && compare(v, want, c.op)
	case "IN":
		return slices.Contains(strings.Split(want, ","), v)
	case "ISEMPTY":
		return v == ""
	case "ISNOTEMPTY":
		return v != ""
	}
	return false
}

// compare orders two values as numbers when both are, and as text otherwise.
func compare(a, b, op string) bool {
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	cmp := strings.Compare(a, b)
	if errA == nil && errB == nil {
		cmp = 0
		if x < y {
			cmp = -1
		} else if x > y {
			cmp = 1
		}
	}
	switch op {
	case ">=":
		return cmp >= 0
	case "<=":
		return cmp <= 0
	case ">":
		return cmp > 0
	}
	return cmp < 0
}

// leadingKey is the sys_id or number every match must have, when the query
// is one group whose first condition is sys_id= or number= alone (nil otherwise).
func (q *query) leadingKey() *key {
	if len(q.groups) != 1 || len(q.groups[0]) == 0 || len(q.groups[0][0]) != 1 {
		return nil
	}
	c := q.groups[0][0][0]
	if c.op != "=" || (c.field != "sys_id" && c.field != "number") || strings.HasPrefix(c.value, "javascript:") {
		return nil
	}
	return &key{c.field, c.value}
}
