package servicenow

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestQueryEncodes(t *testing.T) {
	q, err := NewQuery().IsCurrentUser("caller_id").Eq("active", "true").OrderByDesc("sys_created_on").Encode()
	if err != nil {
		t.Fatal(err)
	}
	if q != "caller_id=javascript:gs.getUserID()^active=true^ORDERBYDESCsys_created_on" {
		t.Errorf("query %q", q)
	}
}

func TestUserTextCannotAddConditions(t *testing.T) {
	for _, v := range []string{"INC1^ORnumberISNOTEMPTY", "x^NQactive=false", "a\nb", "a\rb", "javascript:gs.getUser()", "  JavaScript:x"} {
		if _, err := NewQuery().Eq("number", v).Encode(); !errors.Is(err, ErrUnsafeValue) {
			t.Errorf("value %q accepted: %v", v, err)
		}
	}
	if _, err := NewQuery().Eq("number=x^active", "1").Encode(); !errors.Is(err, ErrUnsafeValue) {
		t.Error("a field name with an operator was accepted")
	}
	// '=' and unicode in a value are harmless without a ^.
	if q, err := NewQuery().Like("short_description", "a=b «ü»").Encode(); err != nil || q != "short_descriptionLIKEa=b «ü»" {
		t.Errorf("%q, %v", q, err)
	}
}

// FuzzQuery checks that no value, whatever it holds, yields more conditions
// than the builder was asked for.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{"INC0010001", "x^ORy=1", "^NQ", "javascript:1", "a\nb", "ORDERBYnumber"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		q, err := NewQuery().Eq("number", v).Eq("active", "true").Encode()
		if err != nil {
			return
		}
		if n := strings.Count(q, "^"); n != 1 {
			t.Fatalf("value %q produced %d separators: %q", v, n, q)
		}
		if strings.ContainsAny(q, "\r\n") || strings.Contains(strings.ToLower(q), "=javascript:") {
			t.Fatalf("value %q produced %q", v, q)
		}
	})
}

func TestParseIncidentNumber(t *testing.T) {
	for in, want := range map[string]string{"INC0010001": "INC0010001", "inc0010001": "INC0010001", " Inc42 ": "INC42"} {
		if got, ok := ParseIncidentNumber(in); !ok || got != want {
			t.Errorf("ParseIncidentNumber(%q) = %q, %v", in, got, ok)
		}
	}
	for _, bad := range []string{"", "INC", "CHG0010001", "INC001^OR", "INC 1", "INC1\nx"} {
		if _, ok := ParseIncidentNumber(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseJournal(t *testing.T) {
	text := "2026-11-03 10:00:00 - Ada Lovelace (Additional comments)\nIt is LT-0042.\nSecond line.\n\n" +
		"2026-11-03 09:00:00 - Beth Anglin (Additional comments)\nCould you tell me your asset tag?\n\n"
	// Shown to a reader one hour ahead of UTC: 09:00 there is 08:00 UTC.
	got := ParseJournal(text, time.Hour)
	if len(got) != 2 || got[0].Author != "Ada Lovelace" || got[0].Text != "It is LT-0042.\nSecond line." ||
		!got[1].At.Equal(time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("%+v", got)
	}
	if ParseJournal("", 0) != nil {
		t.Error("empty journal has entries")
	}
}

func TestValidField(t *testing.T) {
	for s, want := range map[string]bool{"state": true, "caller_id": true, "sysapproval.number": true, "a1.b_2": true, "_x": true,
		"": false, "1a": false, "a.": false, ".a": false, "a..b": false, "a.1b": false, "State": false, "a=b": false, "a^b": false, "a b": false} {
		if validField(s) != want {
			t.Errorf("validField(%q) = %v", s, !want)
		}
	}
}

func TestSearchConditionsEncode(t *testing.T) {
	q, err := NewQuery().NotCurrentUser("caller_id").StartsWith("number", "INC001").Keywords("vpn token").
		NotBeforeToday("valid_to").Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := "caller_id!=javascript:gs.getUserID()^ORcaller_idISEMPTY^numberSTARTSWITHINC001^123TEXTQUERY321=vpn token" +
		"^valid_to>=javascript:gs.beginningOfToday()^ORvalid_toISEMPTY"
	if q != want {
		t.Errorf("query %q", q)
	}
	for _, v := range []string{"vpn^NQactive=false", "javascript:gs.getUser()"} {
		if _, err := NewQuery().Keywords(v).Encode(); !errors.Is(err, ErrUnsafeValue) {
			t.Errorf("keywords %q accepted", v)
		}
	}
}
