package servicenow

import (
	"errors"
	"strings"
	"testing"
)

func TestParseFilter(t *testing.T) {
	for _, c := range []struct {
		in     string
		fields []string
	}{
		{"priority<=2^assignment_group.name=Network", []string{"priority", "assignment_group"}},
		{"active=true^priorityIN1,2^ORurgency=1^EQ", []string{"active", "priority", "urgency"}},
		{"assigned_to=javascript:gs.getUserID()^ORDERBYDESCsys_updated_on", []string{"assigned_to", "sys_updated_on"}},
		{"short_descriptionLIKEvpn^stateISNOTEMPTY", []string{"short_description", "state"}},
		{"123TEXTQUERY321=printer", nil},
	} {
		f, err := ParseFilter(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if len(f.fields) != len(c.fields) {
			t.Errorf("%s: fields %v, want %v", c.in, f.fields, c.fields)
			continue
		}
		for i := range c.fields {
			if f.fields[i] != c.fields[i] {
				t.Errorf("%s: fields %v, want %v", c.in, f.fields, c.fields)
			}
		}
	}
	for _, bad := range []string{"", "priority=1^NQactive=true", "priority=1\nactive=true", "Priority=1", "priority", "=1", "priority=1^^"} {
		if _, err := ParseFilter(bad); !errors.Is(err, ErrBadFilter) {
			t.Errorf("%q: accepted (%v)", bad, err)
		}
	}
	// What snowbot puts first stays first: a filter can only narrow it.
	f, _ := ParseFilter("priority<=2")
	q, err := NewQuery().Eq("sys_id", "0123456789abcdef0123456789abcdef").Matching(f).Encode()
	if err != nil || q != "sys_id=0123456789abcdef0123456789abcdef^priority<=2" {
		t.Errorf("query %q, %v", q, err)
	}
}

func TestIsCurrentUserIn(t *testing.T) {
	q, err := NewQuery().Eq("active", "true").IsCurrentUserIn("requested_for", "opened_by").Encode()
	if err != nil || q != "active=true^requested_for=javascript:gs.getUserID()^ORopened_by=javascript:gs.getUserID()" {
		t.Errorf("%q, %v", q, err)
	}
}

// Telemetry names the tables snowbot reads; any other (one a client named)
// is "other", so that nobody can make new series.
func TestTelemetryNamesOnlyKnownTables(t *testing.T) {
	for path, want := range map[string]string{
		"/api/now/table/incident":                    "incident",
		"/api/now/table/sc_req_item/" + sysIDOf("1"): "sc_req_item",
		"/api/now/table/u_made_up_1":                 "other",
		"/api/sn_sc/servicecatalog/items":            "sn_sc",
		"/oauth_token.do":                            "oauth",
	} {
		if got := tableOf(path); got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
}

func sysIDOf(s string) string { return strings.Repeat(s, 32) }
