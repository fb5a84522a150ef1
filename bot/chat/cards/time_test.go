package cards

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"snowbot/servicenow"
)

var moment = time.Date(2026, 11, 2, 5, 30, 0, 0, time.UTC)

// A card shows a moment with Adaptive Cards' functions over its UTC value,
// so that Teams renders it in each reader's own zone and format.
func TestWhenGivesTeamsTheUTCValue(t *testing.T) {
	if got, want := When(moment.In(time.FixedZone("X", 3600))), "{{DATE(2026-11-02T05:30:00Z, SHORT)}} {{TIME(2026-11-02T05:30:00Z)}}"; got != want {
		t.Fatalf("When = %q, want %q", got, want)
	}
	if When(time.Time{}) != "—" {
		t.Fatal("a missing time is not a dash")
	}
}

// Plain text shows the moment in the reader's zone, in their locale's way.
func TestReaderWritesTimesInTheirZone(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	ny, _ := time.LoadLocation("America/New_York")
	cases := []struct {
		r    Reader
		want string
	}{
		{Reader{Zone: paris, Locale: "fr-FR"}, "2026-11-02 06:30 CET"},
		{Reader{Zone: ny, Locale: "en-US"}, "Nov 2, 2026, 12:30 AM EST"},
		{Reader{}, "2026-11-02 05:30 UTC"},
	}
	for _, c := range cases {
		if got := c.r.Time(moment); got != c.want {
			t.Errorf("%v: %q, want %q", c.r.Locale, got, c.want)
		}
	}
}

func TestAgo(t *testing.T) {
	for d, want := range map[time.Duration]string{
		10 * time.Second: "just now", 5 * time.Minute: "5 min ago", 3 * time.Hour: "3 h ago",
		30 * time.Hour: "yesterday", 72 * time.Hour: "3 days ago",
	} {
		if got := Ago(moment.Add(-d), moment); got != want {
			t.Errorf("%s: %q, want %q", d, got, want)
		}
	}
}

// An approval card reads a decision's time for whoever sees it: the card
// with the functions, its text in the reader's zone; success in the good colour.
func TestAnApprovalCardShowsTimesForItsReader(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	a := servicenow.Approval{SysID: "0123456789abcdef0123456789abcdef", State: servicenow.Value{Value: "approved", Display: "Approved"},
		Approver: "Ada Lovelace", Updated: moment,
		Record: servicenow.ApprovedRecord{Number: "CHG0030001", Opened: moment.Add(-48 * time.Hour), PlannedStart: moment, PlannedEnd: moment.Add(time.Hour)}}
	c := ApprovalCard(View{Links: servicenow.NewLinks("https://acme.service-now.com"), Reader: Reader{Zone: paris}, Now: moment}, a, Said(Done, "Approved CHG0030001."), nil)
	body := string(mustJSON(t, c.JSON()))
	for _, want := range []string{`"text":"Approved CHG0030001.","weight":"Bolder","color":"Good"`, "Approved by Ada Lovelace on {{DATE(2026-11-02T05:30:00Z, SHORT)}}", "2 days ago", "{{TIME(2026-11-02T06:30:00Z)}}"} {
		if !strings.Contains(body, want) {
			t.Errorf("the card lacks %s:\n%s", want, body)
		}
	}
	for _, want := range []string{"Approved by Ada Lovelace on 2026-11-02 06:30 CET", "Planned: 2026-11-02 06:30 CET to 2026-11-02 07:30 CET"} {
		if !strings.Contains(c.Fallback, want) {
			t.Errorf("the text lacks %s:\n%s", want, c.Fallback)
		}
	}
	if strings.Contains(body, "Attention") {
		t.Errorf("a success in the warning colour:\n%s", body)
	}
}

// A decision made before is news, not a failure: a rejection is not in the
// warning colour; a press on it again says when, on the card for each
// viewer, in a message's text for its reader (Paris and New York each their own).
func TestADecisionMadeBeforeReadsForEachReader(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	ny, _ := time.LoadLocation("America/New_York")
	a := servicenow.Approval{SysID: "0123456789abcdef0123456789abcdef", State: servicenow.Value{Value: "rejected", Display: "Rejected"},
		Approver: "Ada Lovelace", Updated: moment, Record: servicenow.ApprovedRecord{Number: "RITM0010002"}}
	for _, c := range []struct {
		reader Reader
		text   string
	}{
		{Reader{Zone: paris, Locale: "fr-FR"}, "Nothing to do: RITM0010002 is already rejected by Ada Lovelace on 2026-11-02 06:30 CET."},
		{Reader{Zone: ny, Locale: "en-US"}, "Nothing to do: RITM0010002 is already rejected by Ada Lovelace on Nov 2, 2026, 12:30 AM EST."},
	} {
		note := AlreadyDecided("RITM0010002", a, c.reader)
		if note.Sentence() != c.text {
			t.Errorf("the message's text: %q, want %q", note.Sentence(), c.text)
		}
		card := ApprovalCard(View{Links: servicenow.NewLinks("https://acme.service-now.com"), Reader: c.reader, Now: moment}, a, note, nil)
		body := string(mustJSON(t, card.JSON()))
		if want := "already rejected by Ada Lovelace on {{DATE(2026-11-02T05:30:00Z, SHORT)}} {{TIME(2026-11-02T05:30:00Z)}}."; !strings.Contains(body, want) {
			t.Errorf("the card lacks %s:\n%s", want, body)
		}
		if !strings.Contains(card.Fallback, c.text) {
			t.Errorf("the card's text lacks %q:\n%s", c.text, card.Fallback)
		}
		if strings.Contains(body, "Attention") {
			t.Errorf("a rejection in the warning colour:\n%s", body)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
