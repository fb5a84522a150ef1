package chat

// This file is the message actions: "Create incident" and "Add to a record"
// on any message in Teams. Their forms come prefilled from the message; what
// is sent is done once per form, as the person who sends it, and answers with
// the record's card for them to post.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"snowbot/auth"
	"snowbot/bot"
	"snowbot/bot/chat/cards"
	"snowbot/servicenow"
)

// MessageAction is one action on messages: how the app package declares it,
// and what it does.
type MessageAction struct {
	ID, Title, Description string
	// form is the action's form, prefilled from the message.
	form func(c *Conversation, ctx context.Context, r actionRun) (cards.Card, error)
	// submit does what the sent form asks.
	submit func(c *Conversation, ctx context.Context, r actionRun) actionResult
}

// MessageActions are the message extension's actions on messages; the Teams
// app package declares them from this list.
var MessageActions = []MessageAction{
	{ID: "createIncidentFromMessage", Title: "Create incident", Description: "Report an incident in ServiceNow from this message.",
		form: incidentFromMessageForm, submit: createIncidentFromMessage},
	{ID: "commentFromMessage", Title: "Add to a record", Description: "Add this message to a ServiceNow record as a comment or work note.",
		form: commentFromMessageForm, submit: commentFromMessage},
}

// actionRun is one use of a message action, by one person.
type actionRun struct {
	t      *bot.Turn
	a      bot.ComposeAction
	s      *servicenow.Session
	v      cards.View
	title  string
	form   string            // the form's id: what it sends is done once
	values map[string]string // what the form sent
}

// actionResult is what sending a form came to: the record's card to post
// (done), or what to show in the dialog instead.
type actionResult struct {
	response bot.InvokeResponse
	done     bool
	posted   bot.Message // when done: the card and its preview, kept for a repeat
}

// posted is a form's success: the record's card, for the person to post.
func posted(card cards.Card, preview schema.Attachment) actionResult {
	m := bot.Message{Attachments: []schema.Attachment{card.Attachment(), preview}}
	return actionResult{response: composeResult(m), done: true, posted: m}
}

// composeResult makes the card kept in m (and its preview) the result Teams
// puts in the compose box.
func composeResult(m bot.Message) bot.InvokeResponse {
	if len(m.Attachments) == 0 {
		return bot.TaskMessage(somethingWentWrong)
	}
	a := bot.ComposeAttachment{ContentType: m.Attachments[0].ContentType, Content: m.Attachments[0].Content}
	if len(m.Attachments) > 1 {
		a.Preview = m.Attachments[1]
	}
	return bot.ComposeResults([]bot.ComposeAttachment{a})
}

func messageAction(id string) *MessageAction {
	for i := range MessageActions {
		if MessageActions[i].ID == id {
			return &MessageActions[i]
		}
	}
	return nil
}

// OnComposeFetchTask answers a message action chosen on a message with its
// form, prefilled from the message; a sign-in link first for someone without
// a usable token.
func (c *Conversation) OnComposeFetchTask(ctx context.Context, t *bot.Turn, a bot.ComposeAction) bot.InvokeResponse {
	ctx, cancel := context.WithTimeout(ctx, composeBudget)
	defer cancel()
	act, answer := c.startAction(ctx, t, a)
	if act == nil {
		return answer
	}
	user := t.User.Key()
	if _, err := c.Auth.Tokens(user).Identity(ctx); err != nil && !errors.Is(err, auth.ErrNoIdentity) {
		return c.forDialog(ctx, t, err)
	}
	card, err := act.form(c, ctx, c.actionRun(t, a, act, newFormID()))
	if err != nil {
		return c.forDialog(ctx, t, err)
	}
	return bot.TaskForm(act.Title, card.JSON())
}

// OnComposeSubmitAction does what a message action's form asks, once per
// form: a repeat gets the first result.
func (c *Conversation) OnComposeSubmitAction(ctx context.Context, t *bot.Turn, a bot.ComposeAction) bot.InvokeResponse {
	ctx, cancel := context.WithTimeout(ctx, composeBudget)
	defer cancel()
	act, answer := c.startAction(ctx, t, a)
	if act == nil {
		return answer
	}
	form := a.Data["form"]
	if form == "" {
		return bot.TaskMessage("This form is out of date: close it and choose the action on the message again.")
	}
	r := c.actionRun(t, a, act, form)
	sent := map[string]any{}
	for k, v := range r.values {
		sent[k] = v
	}
	var result actionResult
	o, repeat, err := c.once(ctx, t.User.Key(), sent, func(ctx context.Context) outcome {
		result = act.submit(c, ctx, r)
		return outcome{answer: result.posted, done: result.done}
	})
	switch {
	case err != nil:
		return bot.TaskMessage(classify(err).briefOrSorry())
	case repeat && o.done:
		return composeResult(o.answer)
	case repeat:
		return bot.TaskMessage(o.answer.Text)
	}
	return result.response
}

// startAction completes a sign-in whose code Teams passes on, and finds the
// action; when it cannot go on, act is nil and answer says why.
func (c *Conversation) startAction(ctx context.Context, t *bot.Turn, a bot.ComposeAction) (act *MessageAction, answer bot.InvokeResponse) {
	if answer, done := c.composeSignIn(ctx, t, a.State); done {
		return nil, answer
	}
	if act = messageAction(a.CommandID); act == nil {
		return nil, bot.TaskMessage("I don't know that action. Update the snowbot app in Teams.")
	}
	return act, bot.InvokeResponse{}
}

func (c *Conversation) actionRun(t *bot.Turn, a bot.ComposeAction, act *MessageAction, form string) actionRun {
	values := map[string]string{}
	for k, v := range a.Data {
		values[k] = strings.TrimSpace(v)
	}
	values["form"] = form
	return actionRun{t: t, a: a, s: c.ServiceNow.As(c.Auth.Tokens(t.User.Key())), v: c.view(t), title: act.Title, form: form, values: values}
}

// fromMessage is the message's text followed by where it came from: who
// wrote it, when, and its link in Teams.
func fromMessage(m bot.ActionMessage) string {
	text := m.Text()
	var from []string
	if m.Author != "" {
		from = append(from, "by "+m.Author)
	}
	if !m.Created.IsZero() {
		from = append(from, "on "+m.Created.UTC().Format("Mon, Jan 2, 2006 15:04 UTC"))
	}
	line := "From a Teams message"
	if len(from) > 0 {
		line += " " + strings.Join(from, " ")
	}
	if m.Link != "" {
		line += ": " + m.Link
	}
	if text == "" {
		return line
	}
	return text + "\n\n" + line
}

// firstLineOf is the first line of text with words, clipped for a short description.
func firstLineOf(text string) string {
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return cards.Clip(line, maxShortDescription)
		}
	}
	return ""
}

// maxShortDescription is what ServiceNow's short description holds.
const maxShortDescription = 160

func incidentFromMessageForm(_ *Conversation, _ context.Context, r actionRun) (cards.Card, error) {
	values := map[string]string{
		"short_description": firstLineOf(r.a.Message.Text()),
		"description":       fromMessage(r.a.Message),
	}
	return cards.IncidentFromMessageForm(r.form, values, ""), nil
}

func createIncidentFromMessage(c *Conversation, ctx context.Context, r actionRun) actionResult {
	v := r.values
	again := func(note string) actionResult {
		return actionResult{response: bot.TaskForm(r.title, cards.IncidentFromMessageForm(r.form, v, note).JSON())}
	}
	if v["short_description"] == "" {
		return again("Say in a few words what is wrong.")
	}
	urgency := v["urgency"]
	if urgency != "1" && urgency != "2" {
		urgency = "3"
	}
	caller, err := c.callerID(ctx, r.t.User.Key(), r.s)
	if err != nil {
		return c.forDialogForm(ctx, r, err, again, "")
	}
	inc, err := r.s.CreateIncident(ctx, servicenow.NewIncident{ShortDescription: cards.Clip(v["short_description"], maxShortDescription),
		Description: v["description"], Urgency: urgency, CallerSysID: caller, Key: r.form}) // one form, one incident
	if err != nil {
		return c.forDialogForm(ctx, r, err, again, "ServiceNow did not answer in time: the incident may have been created. Send it again: if it was, you get that one, not a second.")
	}
	if inc.ShortDescription == "" {
		inc.ShortDescription = v["short_description"]
	}
	return posted(cards.IncidentShare(r.v, inc), cards.IncidentPreview(inc))
}

func commentFromMessageForm(c *Conversation, ctx context.Context, r actionRun) (cards.Card, error) {
	text := r.a.Message.Text()
	values := map[string]string{"text": fromMessage(r.a.Message)}
	workNotes := true // without a record to ask about, offered, and checked when sent
	if table, number, ok := c.prefixes().Find(text); ok && table != "kb_knowledge" {
		values["number"] = number
		can, err := r.s.CanWriteWorkNotes(ctx, table, number)
		switch f := classify(err); {
		case err == nil:
			workNotes = can
		case f.mustSignIn():
			return cards.Card{}, err
		}
	}
	return cards.CommentFromMessageForm(r.form, values, workNotes, ""), nil
}

func commentFromMessage(c *Conversation, ctx context.Context, r actionRun) actionResult {
	v := r.values
	_, choice := v["kind"] // the form offered the choice
	again := func(note string) actionResult {
		return actionResult{response: bot.TaskForm(r.title, cards.CommentFromMessageForm(r.form, v, choice, note).JSON())}
	}
	table, number, answer := c.recordNumber(v["number"], "INC0010001")
	switch {
	case answer != nil:
		return again(answer.Text)
	case table == "kb_knowledge":
		return again("Knowledge articles take no comments here: name an incident, change, problem or request.")
	case v["text"] == "":
		return again("Say what to add.")
	}
	field := cards.Comments
	if v["kind"] == cards.WorkNotes {
		can, err := r.s.CanWriteWorkNotes(ctx, table, number)
		if err != nil {
			return c.forDialogForm(ctx, r, err, again, "")
		}
		if !can {
			return again(fmt.Sprintf("ServiceNow does not let you write work notes on %s. Add it as a comment instead.", number))
		}
		field = cards.WorkNotes
	}
	rec, err := r.s.AddJournal(ctx, table, number, field, v["text"])
	if errors.Is(err, servicenow.ErrNotFound) {
		return again(number + ": not found, or not yours to see.")
	}
	if err != nil {
		return c.forDialogForm(ctx, r, err, again, "")
	}
	return posted(cards.RecordShare(r.v, rec), cards.RecordPreview(rec))
}
