package chat

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"snowbot/bot"
	"snowbot/bot/chat/cards"
	"snowbot/servicenow"
)

// Command is one command a user can type.
type Command struct {
	Name        string // what the user types first, lower case
	Usage       string // an example of it, for help (no <placeholders>: cards read them as HTML and drop them)
	Description string // what it does, one sentence
}

// Commands lists what the bot understands, in the order help shows them. The
// Teams app package uses the same list for its command menu.
var Commands = []Command{
	{"incidents", "incidents", "List your open incidents."},
	{"incident", "incident INC0010001", "Show an incident's details."},
	{"create", "create Printer jams", "Create an incident with you as the caller."},
	{"comment", "comment INC0010001 Any news?", "Add a comment the caller can see."},
	{"resolve", "resolve INC0010001 Replaced the cable", "Resolve an incident."},
	{"approvals", "approvals", "List what waits for your approval, with Approve and Reject."},
	{"approve", "approve CHG0030001 [comment]", "Approve what waits for your approval on that record."},
	{"reject", "reject CHG0030001 Not this quarter", "Reject it, saying why."},
	{"kb", "kb vpn password", "Find published knowledge articles."},
	{"notifications", "notifications [on|off]", "Show, or turn on or off, messages when your incidents change or approvals wait for you."},
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
	if strings.Contains(s, "<at>") {
		s = leadingMentions.ReplaceAllString(s, "")
	}
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

// public are the commands whose answer anyone in a conversation may see;
// every other one is answered in the person's 1:1 chat.
var public = map[string]bool{"help": true, "?": true, "": true}

// onCommand runs a typed command.
func (c *Conversation) onCommand(ctx context.Context, t *bot.Turn, text string) error {
	name, rest := ParseCommand(text)
	if !t.Personal() && !public[name] && known(name) {
		return c.answerPrivately(ctx, t, text)
	}
	switch name {
	case "help", "?":
		return c.reply(ctx, t, HelpMessage())
	case "":
		return c.reply(ctx, t, bot.Text("Type **help** to see what I can do."))
	case "incidents":
		return c.listIncidents(ctx, t)
	case "incident":
		return c.showIncident(ctx, t, rest)
	case "create":
		if rest == "" {
			return c.reply(ctx, t, cardMessage(cards.CreateForm(newFormID())))
		}
		return c.answer(ctx, t, c.createIncident(ctx, t, servicenow.NewIncident{ShortDescription: rest}))
	case "comment":
		number, body := splitFirst(rest)
		return c.answer(ctx, t, c.comment(ctx, t, number, body, false))
	case "resolve":
		number, notes := splitFirst(rest)
		return c.answer(ctx, t, c.resolve(ctx, t, number, notes, false))
	case "approvals":
		return c.listApprovals(ctx, t)
	case "approve":
		return c.decideTyped(ctx, t, true, rest)
	case "reject":
		return c.decideTyped(ctx, t, false, rest)
	case "notifications":
		return c.notifications(ctx, t, rest)
	case "kb":
		return c.searchKnowledge(ctx, t, rest)
	case "signout", "logout":
		return c.signOut(ctx, t)
	default:
		return c.unknown(ctx, t, name, text)
	}
}

// unknown answers text that is no command: a greeting or thanks kindly, a
// question that names an incident with the incident, a typo with the command
// it is closest to, and anything else with how to find out.
func (c *Conversation) unknown(ctx context.Context, t *bot.Turn, name, text string) error {
	words := strings.FieldsFunc(strings.ToLower(cleanText(text)), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	switch {
	case len(words) > 0 && len(words) <= 3 && greetings[words[0]]:
		return c.reply(ctx, t, bot.Text("Hi! Try **incidents** for your open incidents, **approvals** for what waits for you, or **help** for everything I can do."))
	case len(words) > 0 && len(words) <= 4 && thanks[words[0]]:
		return c.reply(ctx, t, bot.Text("You're welcome! Type **help** whenever you want to see what I can do."))
	}
	if number, ok := servicenow.FindIncidentNumber(text); ok {
		return c.showIncident(ctx, t, number)
	}
	if near := closestCommand(name, words); near != "" {
		return c.reply(ctx, t, bot.Text(fmt.Sprintf("I don't know the command \"%s\". Did you mean **%s**? Type **help** to see what I can do.", cards.Plain(cards.Clip(name, 40)), near)))
	}
	return c.reply(ctx, t, bot.Text(fmt.Sprintf("I don't know the command \"%s\". Type **help** to see what I can do.", cards.Plain(cards.Clip(name, 40)))))
}

var (
	greetings = map[string]bool{"hi": true, "hello": true, "hey": true, "hallo": true, "hiya": true, "howdy": true, "morning": true, "good": true, "yo": true}
	thanks    = map[string]bool{"thanks": true, "thank": true, "thx": true, "ty": true, "cheers": true, "merci": true, "danke": true}
)

// closestCommand is the command a mistyped one most likely meant: the
// closest within two edits, or else a command named among the words (as in
// "show my incidents"); "" when none is close.
func closestCommand(name string, words []string) string {
	best, bestDist := "", 3
	for _, cmd := range Commands {
		if d := editDistance(name, cmd.Name); d < bestDist && len(name) > 1 {
			best, bestDist = cmd.Name, d
		}
	}
	if best != "" {
		return best
	}
	for _, w := range words {
		for _, cmd := range Commands {
			if w == cmd.Name && w != name {
				return cmd.Name
			}
		}
	}
	return ""
}

// editDistance is the Levenshtein distance of two short words, counted in
// runes. (Written out: the words are a few letters long, and a library for
// eleven lines is more to keep than the lines.)
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}

// onSubmit runs the action of a submitted card (Action.Submit data and inputs).
func (c *Conversation) onSubmit(ctx context.Context, t *bot.Turn, v map[string]any) error {
	str := func(k string) string { s, _ := v[k].(string); return s }
	switch str("action") {
	case cards.ActionShowIncident:
		return c.showIncident(ctx, t, str("number"))
	case cards.ActionComment:
		return c.submitted(ctx, t, v, func(ctx context.Context) outcome {
			return c.comment(ctx, t, str("number"), str("comment"), true)
		})
	case cards.ActionResolve:
		return c.submitted(ctx, t, v, func(ctx context.Context) outcome {
			return c.resolve(ctx, t, str("number"), str("notes"), true)
		})
	case cards.ActionCreate:
		if strings.TrimSpace(str("short_description")) == "" {
			return c.reply(ctx, t, cardMessage(cards.CreateForm(newFormID())))
		}
		return c.submitted(ctx, t, v, func(ctx context.Context) outcome {
			return c.createIncident(ctx, t, servicenow.NewIncident{
				ShortDescription: strings.TrimSpace(str("short_description")),
				Description:      str("description"),
				Urgency:          urgency(str("urgency")),
			})
		})
	}
	return c.reply(ctx, t, bot.Text("I did not understand that button. Type **help** to see what I can do."))
}

// known reports whether name is a command (or its alias).
func known(name string) bool {
	for _, c := range Commands {
		if c.Name == name {
			return true
		}
	}
	return name == "logout"
}

// answerPrivately answers a command typed in a group chat or channel in the
// person's 1:1 chat with the bot, where only they see it (a sign-in card
// included), and says so in the group.
func (c *Conversation) answerPrivately(ctx context.Context, t *bot.Turn, text string) error {
	private, err := t.Privately(ctx)
	if err != nil {
		c.Log.WarnContext(ctx, "the 1:1 chat could not be opened", "error", err)
		return c.reply(ctx, t, bot.Text(oneToOneOnly))
	}
	if err := c.reply(ctx, t, bot.Text("I've answered you in our 1:1 chat, where only you see it.")); err != nil {
		return err
	}
	defer c.rememberChat(ctx, private)
	return c.onCommand(ctx, private, text)
}

// HelpMessage lists the commands as a card with a text fallback.
func HelpMessage() bot.Message {
	facts := make([]cards.Fact, 0, len(Commands))
	var fallback strings.Builder
	fallback.WriteString("What I can do:\n")
	for _, c := range Commands {
		facts = append(facts, cards.Fact{Title: c.Usage, Value: c.Description})
		fmt.Fprintf(&fallback, "- %s: %s\n", c.Usage, c.Description)
	}
	card := cards.Card{
		Body: []cards.Element{
			cards.Title("snowbot"),
			cards.Para("I work with ServiceNow for you, as you: your incidents, your rights, your audit trail. Type one of these:"),
			cards.Facts(facts...),
		},
		Fallback: fallback.String(),
	}
	return cardMessage(card)
}

// splitFirst splits "INC0010001 the rest" into the first word and the rest as typed.
func splitFirst(s string) (string, string) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, " \t\r\n")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i:])
}

func firstWord(s string) string {
	w, _ := splitFirst(s)
	return w
}

func urgency(v string) string {
	switch v {
	case "1", "2", "3":
		return v
	}
	return ""
}
