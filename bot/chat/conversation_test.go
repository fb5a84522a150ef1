package chat

import (
	"strings"
	"testing"
)

// A greeting or thanks gets a short, friendly answer with what to try.
func TestGreetingsAndThanksAreAnswered(t *testing.T) {
	w := newWorld(t, nil)
	for text, want := range map[string]string{
		"hi": "Try **incidents**", "Hello!": "Try **incidents**", "hey snowbot": "Try **incidents**",
		"thanks": "You're welcome", "Thank you!": "You're welcome",
	} {
		w.say(ada, text)
		if got := w.next(ada).Text(); !strings.Contains(got, want) || strings.Contains(got, "don't know") {
			t.Errorf("%q: %q", text, got)
		}
	}
}

// A typo gets the closest command; a sentence naming a command gets that one.
func TestATypoSuggestsTheClosestCommand(t *testing.T) {
	w := newWorld(t, nil)
	for text, want := range map[string]string{
		"incidnets":         "Did you mean **incidents**?",
		"aprovals":          "Did you mean **approvals**?",
		"show my incidents": "Did you mean **incidents**?",
		"notifcations off":  "Did you mean **notifications**?",
	} {
		w.say(ada, text)
		mustContain(t, text, w.next(ada).Text(), want)
	}
	w.say(ada, "The printer on floor 3 is down again")
	if got := w.next(ada).Text(); !strings.Contains(got, "I work with commands") || strings.Contains(got, "the command") {
		t.Errorf("a sentence: %q", got)
	}
	w.say(ada, "frobnicate")
	if got := w.next(ada).Text(); strings.Contains(got, "Did you mean") || !strings.Contains(got, "help") {
		t.Errorf("a word near no command: %q", got)
	}
}

// A question that names an incident shows it.
func TestAQuestionNamingAnIncidentShowsIt(t *testing.T) {
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "notifications")
	w.say(ada, "what about inc0010003?")
	mustContain(t, "the answer", w.next(ada).JSON(), "INC0010003", "VPN disconnects every hour")
}

// A code typed once signed in changes nothing and says who they are.
func TestACodeTypedWhenSignedInSaysWhoTheyAre(t *testing.T) {
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "notifications")
	for _, code := range []string{"123456", "654321"} {
		w.say(ada, code)
		if got := w.next(ada).Text(); got != "You're already signed in as Ada Lovelace." {
			t.Errorf("code %s: %q", code, got)
		}
	}
	w.say(ada, "incident INC0010001")
	mustContain(t, "still signed in", w.next(ada).JSON(), "Laptop does not connect")
}

// The same incident for two people in two time zones: the card carries the
// UTC value in Adaptive Cards' functions for Teams to show in each one's
// zone, and its text shows each their own.
func TestTimesAreShownInEachReadersZone(t *testing.T) {
	w := newWorld(t, nil)
	w.signIn(ada, "ada.lovelace", "notifications")
	w.signIn(bob, "beth.anglin", "notifications")
	inc, _ := w.sn.Incident("INC0010003")
	utc := inc.Updated.UTC().Format("2006-01-02T15:04:05Z")
	w.say(ada, "incident INC0010003")
	paris := w.next(ada)
	w.say(bob, "incident INC0010003")
	ny := w.next(bob)
	for _, m := range []outgoing{paris, ny} {
		mustContain(t, "the card", m.JSON(), "{{DATE("+utc+", SHORT)}} {{TIME("+utc+")}}")
	}
	mustContain(t, "Ada's text", paris.JSON(), "Last updated: "+inc.Updated.In(mustZone(t, "Europe/Paris")).Format("2006-01-02 15:04 MST"))
	mustContain(t, "Bob's text", ny.JSON(), "Last updated: "+inc.Updated.In(mustZone(t, "America/New_York")).Format("Jan 2, 2006, 3:04 PM MST"))
}
