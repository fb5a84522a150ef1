package cards

import (
	"fmt"
	"strings"
	"time"

	"snowbot/servicenow"
)

// View is what a card needs beyond its records: the instance's links, and
// who reads it.
type View struct {
	Links  servicenow.Links
	Reader Reader
	Now    time.Time // when the card is made, for ages ("5 min ago"); zero: now
}

func (v View) now() time.Time {
	if v.Now.IsZero() {
		return time.Now()
	}
	return v.Now
}

// Reader is who reads a card: their time zone and locale, as Teams sends them
// with each activity. A card's own text shows times with Adaptive Cards' DATE
// and TIME functions, which Teams renders in the reader's zone and format
// whoever reads it; Reader formats the times of plain text (a card's
// fallback, a reply), which Teams shows as it is.
type Reader struct {
	Zone   *time.Location // nil: UTC
	Locale string         // a BCP 47 tag, e.g. en-US; empty: ISO dates
}

// Time writes t for the reader: "Nov 2, 2026, 6:30 AM CET" in American
// English, "2026-11-02 06:30 CET" otherwise. Zero is a dash.
func (r Reader) Time(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	zone := r.Zone
	if zone == nil {
		zone = time.UTC
	}
	t = t.In(zone)
	if twelveHour(r.Locale) {
		return t.Format("Jan 2, 2006, 3:04 PM MST")
	}
	return t.Format("2006-01-02 15:04 MST")
}

// twelveHour reports whether a locale writes times with AM and PM.
func twelveHour(locale string) bool {
	switch strings.ToLower(locale) {
	case "en-us", "en-ca", "en-au", "en-nz", "en-ph", "en-in", "es-us", "hi-in", "ar-sa", "ko-kr":
		return true
	}
	return false
}

// When shows a moment in a card's text in the time zone and format of
// whoever reads it: Adaptive Cards' DATE and TIME functions over the UTC
// value (an RFC 3339 moment without fractions, as the functions require).
func When(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	v := t.UTC().Truncate(time.Second).Format(time.RFC3339)
	return "{{DATE(" + v + ", SHORT)}} {{TIME(" + v + ")}}"
}

// Ago says how long ago t was, for lists that show age: "just now",
// "5 min ago", "3 h ago", "2 days ago".
func Ago(t, now time.Time) string {
	if t.IsZero() {
		return "—"
	}
	switch d := now.Sub(t); {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	case d < 48*time.Hour:
		return "yesterday"
	default:
		return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
	}
}
