package bot

import (
	"regexp"
	"strings"
	"unicode"
)

// Command is one command a user can type.
type Command struct {
	Name        string // what the user types first, lower case
	Usage       string // how it is typed, for help
	Description string // what it does, one sentence
}

// Commands lists what the bot understands, in the order help shows them. The
// Teams app package uses the same list for its command menu.
var Commands = []Command{
	{"incidents", "incidents", "List your open incidents."},
	{"incident", "incident INC0010001", "Show an incident's details."},
	{"create", "create <short description>", "Create an incident with you as the caller."},
	{"comment", "comment INC0010001 <text>", "Add a comment the caller can see."},
	{"resolve", "resolve INC0010001 <resolution notes>", "Resolve an incident."},
	{"signout", "signout", "Sign out of ServiceNow."},
	{"help", "help", "Show what I can do."},
}

// leadingMentions matches the <at>…</at> mentions Teams puts before the text
// when the bot is @mentioned.
var leadingMentions = regexp.MustCompile(`^\s*(?:<at>[^<]*</at>\s*)+`)

// cleanText removes leading mentions and the non-breaking spaces Teams may put around them.
func cleanText(s string) string {
	s = strings.ReplaceAll(s, "&nbsp;", " ")
	s = strings.ReplaceAll(s, "\u00a0", " ")
	s = leadingMentions.ReplaceAllString(s, "")
	return strings.TrimSpace(s)
}

// ParseCommand splits a message into the command name (lower case) and the rest,
// which is kept exactly as typed apart from surrounding white space.
func ParseCommand(text string) (name, rest string) {
	text = cleanText(text)
	i := strings.IndexFunc(text, unicode.IsSpace)
	if i < 0 {
		return strings.ToLower(text), ""
	}
	return strings.ToLower(text[:i]), strings.TrimSpace(text[i:])
}
