package chat

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"go.opentelemetry.io/otel/trace"

	"snowbot/bot"
	"snowbot/bot/chat/cards"
	"snowbot/servicenow"
)

// Command is one command a person can type: the one place that says what it
// is called, how help shows it, whether others may see its answer, whether
// the app package's command menu offers it, and what it does.
type Command struct {
	Name        string   // what is typed first, lower case
	Aliases     []string // other words for it
	Usage       string   // an example of it, for help (no <placeholders>: cards read them as HTML and drop them)
	Description string   // what it does, one sentence
	// Public commands are answered where they are asked; every other one in
	// the person's 1:1 chat, where only they see it.
	Public bool
	// Channel commands are answered in the team channel where they are
	// asked (and explain themselves anywhere else).
	Channel bool
	// Menu: in the command menu of the Teams app package, which shows at most
	// twelve; every command is in help.
	Menu bool
	run  func(c *Conversation, ctx context.Context, t *bot.Turn, rest string) error
}

// Commands lists what the bot understands, in the order help shows them.
// The Teams app package's command menu is made from it too.
var Commands []Command

// commandNames finds a command by its name or an alias.
var commandNames map[string]*Command

func init() {
	Commands = []Command{
		{Name: "incidents", Usage: "incidents", Description: "List your open incidents.", Menu: true,
			run: func(c *Conversation, ctx context.Context, t *bot.Turn, _ string) error {
				return c.listIncidents(ctx, t)
			}},
		{Name: "incident", Usage: "incident INC0010001", Description: "Show an incident's details.",
			run: func(c *Conversation, ctx context.Context, t *bot.Turn, rest string) error {
				return c.showIncident(ctx, t, rest)
			}},
		{Name: "create", Usage: "create Printer jams", Description: "Create an incident with you as the caller.", Menu: true, run: (*Conversation).create},
		{Name: "comment", Usage: "comment INC0010001 Any news?", Description: "Add a comment the caller (or requester) can see, to any record.", Menu: true,
			run: (*Conversation).commentTyped},
		{Name: "resolve", Usage: "resolve INC0010001 Replaced the cable", Description: "Resolve an incident.",
			run: func(c *Conversation, ctx context.Context, t *bot.Turn, rest string) error {
				number, notes := splitFirst(rest)
				return c.answer(ctx, t, c.resolve(ctx, t, number, notes, false))
			}},
		{Name: "show", Usage: "show CHG0030001", Description: "Show any record by its number (or just type the number).", Menu: true, run: (*Conversation).show},
		{Name: "approvals", Usage: "approvals", Description: "List what waits for your approval, with Approve and Reject.", Menu: true,
			run: func(c *Conversation, ctx context.Context, t *bot.Turn, _ string) error {
				return c.listApprovals(ctx, t)
			}},
		{Name: "approve", Usage: "approve CHG0030001 [comment]", Description: "Approve what waits for your approval on that record.",
			run: func(c *Conversation, ctx context.Context, t *bot.Turn, rest string) error {
				return c.decideTyped(ctx, t, true, rest)
			}},
		{Name: "reject", Usage: "reject CHG0030001 Not this quarter", Description: "Reject it, saying why.",
			run: func(c *Conversation, ctx context.Context, t *bot.Turn, rest string) error {
				return c.decideTyped(ctx, t, false, rest)
			}},
		{Name: "watch", Usage: "watch CHG0030001", Description: "Hear about every change to a record.", Menu: true, run: (*Conversation).watchRecord},
		{Name: "unwatch", Usage: "unwatch CHG0030001", Description: "Stop hearing about it.", run: (*Conversation).unwatchRecord},
		{Name: "watching", Usage: "watching", Description: "List the records you watch.", run: (*Conversation).listWatches},
		{Name: "subscribe", Usage: "subscribe incident priority<=2", Description: "In a team channel: post the records of a table that match a filter, with a thread per record.", Channel: true, run: (*Conversation).subscribe},
		{Name: "subscriptions", Usage: "subscriptions", Description: "In a team channel: list its subscriptions.", Channel: true, run: (*Conversation).listSubscriptions},
		{Name: "unsubscribe", Usage: "unsubscribe 1", Description: "In a team channel: end one of its subscriptions.", Channel: true, run: (*Conversation).unsubscribe},
		{Name: "catalog", Usage: "catalog laptop", Description: "Find something to order from the service catalog, and order it here.", Menu: true, run: (*Conversation).catalog},
		{Name: "requests", Usage: "requests", Description: "List your open requests and where they stand.", Menu: true, run: (*Conversation).listRequests},
		{Name: "kb", Usage: "kb vpn password", Description: "Find published knowledge articles.", Menu: true, run: (*Conversation).searchKnowledge},
		{Name: "notifications", Usage: "notifications [on|off]", Description: "Show, or turn on or off, messages when your incidents change or approvals wait for you, and the last ones sent.", Menu: true,
			run: (*Conversation).notifications},
		{Name: "signout", Aliases: []string{"logout"}, Usage: "signout", Description: "Sign out of ServiceNow.", Menu: true, run: func(c *Conversation, ctx context.Context, t *bot.Turn, _ string) error { return c.signOut(ctx, t) }},
		{Name: "help", Aliases: []string{"?"}, Usage: "help", Description: "Show what I can do.", Public: true, Menu: true,
			run: func(c *Conversation, ctx context.Context, t *bot.Turn, _ string) error {
				return c.reply(ctx, t, HelpMessage())
			}},
	}
	commandNames = map[string]*Command{}
	for i := range Commands {
		cmd := &Commands[i]
		for _, name := range append([]string{cmd.Name}, cmd.Aliases...) {
			commandNames[name] = cmd
		}
	}
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

// onCommand runs a typed command.
func (c *Conversation) onCommand(ctx context.Context, t *bot.Turn, text string) error {
	name, rest := ParseCommand(text)
	if name == "" {
		return c.reply(ctx, t, bot.Text("Type **help** to see what I can do."))
	}
	cmd := commandNames[name]
	command := "unknown"
	if cmd != nil {
		command = cmd.Name // a name from the table, never what was typed
	}
	trace.SpanFromContext(ctx).SetAttributes(bot.AttrCommand.String(command))
	switch {
	case cmd == nil:
		return c.unknown(ctx, t, name, text)
	case !t.Personal() && !cmd.Public && !cmd.Channel:
		return c.answerPrivately(ctx, t, text)
	}
	return cmd.run(c, ctx, t, rest)
}

// create answers "create <short description>", and "create" alone with a form.
func (c *Conversation) create(ctx context.Context, t *bot.Turn, rest string) error {
	if rest == "" {
		return c.reply(ctx, t, cardMessage(cards.CreateForm(newFormID())))
	}
	return c.answer(ctx, t, c.createIncident(ctx, t, servicenow.NewIncident{ShortDescription: rest}))
}

// onSubmit runs the action of a submitted card (Action.Submit data and inputs).
func (c *Conversation) onSubmit(ctx context.Context, t *bot.Turn, v map[string]any) error {
	str := func(k string) string { s, _ := v[k].(string); return s }
	trace.SpanFromContext(ctx).SetAttributes(bot.AttrCommand.String(buttonName(str("action"))))
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
	case cards.ActionOrder:
		return c.orderForm(ctx, t, str("item"))
	case cards.ActionOrderNow:
		return c.orderNow(ctx, t, v)
	case cards.ActionCreate:
		if strings.TrimSpace(str("short_description")) == "" {
			return c.reply(ctx, t, cardMessage(cards.CreateForm(newFormID())))
		}
		return c.submitted(ctx, t, v, func(ctx context.Context) outcome {
			return c.createIncident(ctx, t, servicenow.NewIncident{
				ShortDescription: strings.TrimSpace(str("short_description")),
				Description:      str("description"),
				Urgency:          urgency(str("urgency")),
				Key:              str("form"), // one form, one incident
			})
		})
	}
	return c.reply(ctx, t, bot.Text("I did not understand that button. Type **help** to see what I can do."))
}

// buttonName names a card's button for telemetry: one of the bot's own
// actions, never what a card was made to send.
func buttonName(action string) string {
	switch action {
	case cards.ActionShowIncident, cards.ActionComment, cards.ActionResolve, cards.ActionCreate, cards.ActionOrder, cards.ActionOrderNow:
		return "button " + action
	}
	return "button unknown"
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
