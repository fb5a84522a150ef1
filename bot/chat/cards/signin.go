package cards

// SignIn asks the person to sign in to ServiceNow. In Teams the first button is
// a signin action (Teams opens its sign-in pop-up, and the page hands the code
// back by itself); the second opens the same URL as a plain link in a browser,
// after which the person types the code shown there.
func SignIn(reason, url string) Card {
	body := []Element{Title("Sign in to ServiceNow")}
	if reason != "" {
		body = append(body, Para(reason))
	}
	body = append(body,
		Para("Once you allow access, ServiceNow shows a six-digit code: send it to me here to finish. The buttons work once, for 10 minutes."),
	)
	return Card{
		Body: body,
		Actions: []Element{
			Submit("Sign in", map[string]any{"msteams": map[string]any{"type": "signin", "value": url}}),
			OpenURL("Open in browser", url),
		},
		Fallback: reason + "\nSign in to ServiceNow: " + url + "\nThen send me the six-digit code it shows.",
	}
}

// Problem says what went wrong and what to do next.
func Problem(what, next string) Card {
	body := []Element{Warning(what)}
	if next != "" {
		body = append(body, Para(next))
	}
	return Card{Body: body, Fallback: what + "\n" + next}
}

// Note is a line above a card that says what just happened, in the colour
// of how it went: Done for success, Info for news that is neither good nor
// bad, Trouble for what went wrong. The zero Note says nothing.
type Note struct {
	Text string
	Tone Tone
	// Plain, when set, is Text for the fallback: Text's times are the
	// card's, written for each viewer.
	Plain string
}

// Tone is how a note reads.
type Tone int

const (
	Info Tone = iota
	Done
	Trouble
)

// Said is a note of this tone.
func Said(tone Tone, text string) Note { return Note{Text: text, Tone: tone} }

func (n Note) elements() []Element {
	if n.Text == "" {
		return []Element{}
	}
	e := Element{Type: "TextBlock", Text: n.Text, Wrap: true, Weight: "Bolder"}
	switch n.Tone {
	case Done:
		e.Color = "Good"
	case Trouble:
		e.Color = "Attention"
	default:
		e.Color = "Accent"
	}
	return []Element{e}
}

// Sentence is the note as plain text, for a message's own text.
func (n Note) Sentence() string {
	if n.Plain != "" {
		return n.Plain
	}
	return n.Text
}

func (n Note) fallback() string {
	if n.Text == "" {
		return ""
	}
	return n.Sentence() + "\n"
}
