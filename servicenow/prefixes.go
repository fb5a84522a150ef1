package servicenow

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Prefixes map a record number's prefix (the letters before its digits) to
// the table the record is in: INC to incident, CHG to change_request, and so
// on. Instances may change or add prefixes, so the map is a setting
// (SERVICENOW_NUMBER_PREFIXES) over these defaults.
type Prefixes map[string]string

// DefaultPrefixes are the prefixes of a new instance's task tables.
var DefaultPrefixes = Prefixes{
	"INC": "incident", "CHG": "change_request", "CTASK": "change_task", "PRB": "problem", "PTASK": "problem_task",
	"RITM": "sc_req_item", "REQ": "sc_request", "SCTASK": "sc_task", "TASK": "task", "KB": "kb_knowledge",
}

var (
	prefixPattern = regexp.MustCompile(`^[A-Z]{1,12}$`)
	tablePattern  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,79}$`)
	// numberPattern is a record number: letters, then digits.
	numberPattern = regexp.MustCompile(`^(?i)([A-Z]{1,12})([0-9]{1,20})$`)
	// numberInText finds a record number in running text.
	numberInText = regexp.MustCompile(`(?i)\b([A-Z]{1,12})([0-9]{4,20})\b`)
)

// ParsePrefixes reads "PFX:table,…" over the defaults: a prefix named again
// is moved to its new table.
func ParsePrefixes(setting string) (Prefixes, error) {
	p := Prefixes{}
	for k, v := range DefaultPrefixes {
		p[k] = v
	}
	for _, item := range strings.Split(setting, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		prefix, table, ok := strings.Cut(item, ":")
		prefix, table = strings.ToUpper(strings.TrimSpace(prefix)), strings.TrimSpace(table)
		switch {
		case !ok:
			return nil, fmt.Errorf("%q is not PREFIX:table (for example PRB:problem)", item)
		case !prefixPattern.MatchString(prefix):
			return nil, fmt.Errorf("%q: a prefix is 1 to 12 letters", item)
		case !tablePattern.MatchString(table):
			return nil, fmt.Errorf("%q: %q is not a table name", item, table)
		}
		p[prefix] = table
	}
	return p, nil
}

// ValidTable reports whether s can be a table's name (incident, u_custom_table).
func ValidTable(s string) bool { return tablePattern.MatchString(s) }

// Table finds the table of a record number (any case) and returns the number
// in upper case. known is false for a number whose prefix names no table; ok
// is false for text that is not a number at all.
func (p Prefixes) Table(number string) (table, normalized string, known, ok bool) {
	m := numberPattern.FindStringSubmatch(strings.TrimSpace(number))
	if m == nil {
		return "", "", false, false
	}
	normalized = strings.ToUpper(m[0])
	table, known = p[strings.ToUpper(m[1])]
	return table, normalized, known, true
}

// Find finds the first record number in running text ("what about
// chg0030001?") whose prefix names a table.
func (p Prefixes) Find(text string) (table, number string, ok bool) {
	for _, m := range numberInText.FindAllStringSubmatch(text, -1) {
		if t, known := p[strings.ToUpper(m[1])]; known {
			return t, strings.ToUpper(m[0]), true
		}
	}
	return "", "", false
}

// Known lists the prefixes, for a person who typed another: "CHG, INC, …".
func (p Prefixes) Known() string {
	list := make([]string, 0, len(p))
	for k := range p {
		list = append(list, k)
	}
	slices.Sort(list)
	return strings.Join(list, ", ")
}
