package chat

// This file is the message extension: searching incidents and knowledge from
// the compose box of any conversation, and the cards that links to the
// instance unfold into. Whatever goes into a conversation is read with the
// token of the person who puts it there.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"snowbot/auth"
	"snowbot/bot"
	"snowbot/bot/chat/cards"
	"snowbot/servicenow"
)

// ComposeCommand is one command of the message extension: how the app
// package declares it, and what it does.
type ComposeCommand struct {
	ID, Title, Description string
	// ParamTitle and ParamHint describe its one parameter, ParamQuery.
	ParamTitle, ParamHint string
	search                func(c *Conversation, ctx context.Context, q search) ([]bot.ComposeAttachment, error)
}

// search is one page of a search of the compose box, as one person asks it.
type search struct {
	s           *servicenow.Session
	v           cards.View
	text        string
	skip, count int
	me          string // the person's ServiceNow sys_id, when known: their own come first
}

// ParamQuery is the one parameter of every search.
const ParamQuery = "query"

// ComposeCommands are the message extension's search commands; the Teams
// app package declares them from this list.
var ComposeCommands = []ComposeCommand{
	{ID: "searchIncidents", Title: "Incidents", Description: "Find incidents you may read, by number or words, and share them.",
		ParamTitle: "Number or words", ParamHint: "INC0010001, or words of the short description", search: searchIncidents},
	{ID: "searchRecords", Title: "Records", Description: "Find changes, problems, requests and incidents you may read, and share them.",
		ParamTitle: "Number or words", ParamHint: "CHG0030001, or words of the short description", search: searchRecords},
	{ID: "searchKnowledge", Title: "Knowledge", Description: "Find published knowledge articles and share them.",
		ParamTitle: "Words", ParamHint: "What the article is about", search: searchKnowledge},
}

func searchIncidents(_ *Conversation, ctx context.Context, q search) ([]bot.ComposeAttachment, error) {
	list, err := q.s.SearchIncidents(ctx, q.text, q.skip, q.count)
	var out []bot.ComposeAttachment
	for _, inc := range list {
		out = append(out, bot.ComposeAttachment{ContentType: cards.ContentType, Content: cards.IncidentShare(q.v, inc).JSON(), Preview: cards.IncidentPreview(inc)})
	}
	return out, err
}

// searchRecords searches every table of SERVICENOW_SEARCH_TABLES at once.
func searchRecords(c *Conversation, ctx context.Context, q search) ([]bot.ComposeAttachment, error) {
	list, err := q.s.SearchRecords(ctx, c.searchTables(), q.text, q.me, q.skip, q.count)
	var out []bot.ComposeAttachment
	for _, r := range list {
		out = append(out, bot.ComposeAttachment{ContentType: cards.ContentType, Content: cards.RecordShare(q.v, r).JSON(), Preview: cards.RecordPreview(r)})
	}
	return out, err
}

func searchKnowledge(_ *Conversation, ctx context.Context, q search) ([]bot.ComposeAttachment, error) {
	list, err := q.s.SearchKnowledge(ctx, q.text, q.skip, q.count)
	var out []bot.ComposeAttachment
	for _, a := range list {
		out = append(out, bot.ComposeAttachment{ContentType: cards.ContentType, Content: cards.ArticleShare(q.v, a).JSON(), Preview: cards.ArticlePreview(a)})
	}
	return out, err
}

const (
	// composeBudget is how long a search or an unfurl may take: Teams waits
	// about 5 seconds for the answer, and the rest is the way there and back.
	composeBudget = 4 * time.Second
	// maxResults bounds one page of results.
	maxResults = 10
	// maxQuery bounds what of a search text is used.
	maxQuery = 100
)

// queryText is a search's text ("" for Teams' initial run), clipped.
func queryText(q bot.ComposeQuery) string {
	return cards.Clip(strings.TrimSpace(q.Parameters[ParamQuery]), maxQuery)
}

// OnComposeQuery answers a search from the compose box: up to maxResults
// results of the page Teams asks for, each a card to insert with a preview;
// a sign-in link first for someone without a usable token.
func (c *Conversation) OnComposeQuery(ctx context.Context, t *bot.Turn, q bot.ComposeQuery) bot.InvokeResponse {
	ctx, cancel := context.WithTimeout(ctx, composeBudget)
	defer cancel()
	if answer, done := c.composeSignIn(ctx, t, q.State); done {
		return answer
	}
	count := q.Count
	if count <= 0 || count > maxResults {
		count = maxResults
	}
	skip := min(max(q.Skip, 0), 1000)
	var cmd *ComposeCommand
	for i := range ComposeCommands {
		if ComposeCommands[i].ID == q.CommandID {
			cmd = &ComposeCommands[i]
		}
	}
	if cmd == nil {
		return bot.ComposeMessage("I don't know that search. Update the snowbot app in Teams.")
	}
	tokens := c.Auth.Tokens(t.User.Key())
	me, _ := tokens.Identity(ctx) // unknown: nobody's own come first
	results, err := cmd.search(c, ctx, search{s: c.ServiceNow.As(tokens), v: c.view(t), text: queryText(q), skip: skip, count: count, me: me.SysID})
	if err != nil && len(results) > 0 {
		c.Log.WarnContext(ctx, "search answered with part of its results", "error", err)
		return bot.ComposeResults(results) // what there is, in time
	}
	if err != nil {
		return c.forComposeBox(ctx, t, classify(err))
	}
	return bot.ComposeResults(results)
}

// OnComposeQueryLink unfolds a link to the instance into a card, read with the
// token of the person who pasted it. A link they may not read shows nothing
// but the link; a link that is not to a record snowbot knows shows no card.
func (c *Conversation) OnComposeQueryLink(ctx context.Context, t *bot.Turn, q bot.ComposeLink) bot.InvokeResponse {
	ctx, cancel := context.WithTimeout(ctx, composeBudget)
	defer cancel()
	base := c.ServiceNow.InstanceURL()
	ref, ok := servicenow.ParseRecordURL(base, q.URL)
	if !ok {
		return bot.ComposeUnfurl(nil)
	}
	if answer, done := c.composeSignIn(ctx, t, q.State); done {
		return answer
	}
	s := c.ServiceNow.As(c.Auth.Tokens(t.User.Key()))
	var card cards.Card
	var preview = cards.Thumbnail("ServiceNow record", "", "")
	var err error
	switch ref.Table {
	case "incident":
		var inc servicenow.Incident
		if inc, err = s.IncidentByID(ctx, ref.SysID); err == nil {
			card, preview = cards.IncidentShare(c.view(t), inc), cards.IncidentPreview(inc)
		}
	case "kb_knowledge":
		var a servicenow.Article
		if ref.Number != "" {
			a, err = s.ArticleByNumber(ctx, ref.Number)
		} else {
			a, err = s.ArticleByID(ctx, ref.SysID)
		}
		if err == nil {
			card, preview = cards.ArticleShare(c.view(t), a), cards.ArticlePreview(a)
		}
	default:
		var r servicenow.TaskRecord
		if r, err = s.RecordByID(ctx, ref.Table, ref.SysID); err == nil {
			card, preview = cards.RecordShare(c.view(t), r), cards.RecordPreview(r)
		}
	}
	if err != nil {
		f := classify(err)
		if f.mustSignIn() {
			return c.composeAuth(ctx, t)
		}
		if !f.hiddenFromThem() {
			c.Log.WarnContext(ctx, "a pasted link could not be read; it shows as a link", "error", err)
		}
		card = cards.LinkOnly(c.ServiceNow.Links().Ref(ref))
	}
	return bot.ComposeUnfurl(&bot.ComposeAttachment{ContentType: cards.ContentType, Content: card.JSON(), Preview: preview})
}

// composeSignIn completes a sign-in whose code Teams passes on as the state
// of a repeated query, exactly as a typed code: for the same person, once,
// within 10 minutes, five tries. done is true when the answer is about the
// sign-in rather than the query.
func (c *Conversation) composeSignIn(ctx context.Context, t *bot.Turn, state string) (bot.InvokeResponse, bool) {
	code := auth.NormalizeCode(state)
	if code == "" {
		return bot.InvokeResponse{}, false
	}
	user := t.User.Key()
	done, err := c.Auth.CompleteSignIn(ctx, user, code)
	var wrong *auth.WrongCodeError
	switch {
	case err == nil:
		c.signedIn(ctx, user, done.Identity)
		c.resumeSubscriptionsOf(ctx, user, postFrom(t))
		return bot.InvokeResponse{}, false
	case errors.As(err, &wrong):
		return bot.ComposeMessage(fmt.Sprintf("That sign-in code is not right (%d tries left). Search again to sign in.", wrong.Left)), true
	case errors.Is(err, auth.ErrTooManyCodes):
		return bot.ComposeMessage("Too many wrong codes: I cancelled this sign-in to keep your account safe. Search again to start a new one."), true
	case errors.Is(err, auth.ErrNoSignInWaiting):
		if _, ok := c.signedInAs(ctx, user); ok {
			return bot.InvokeResponse{}, false // already signed in: the query goes on
		}
		// Not this person's sign-in (or an old one): a new one, of their own.
		return c.composeAuth(ctx, t), true
	case errors.Is(err, auth.ErrUnavailable):
		return bot.ComposeMessage(classify(err).briefOrSorry()), true
	}
	c.Log.ErrorContext(ctx, "completing a sign-in from the compose box failed", "error", err)
	return bot.ComposeMessage(somethingWentWrong), true
}

// composeAuth asks the person to sign in, with the same sign-in link as a card's.
func (c *Conversation) composeAuth(ctx context.Context, t *bot.Turn) bot.InvokeResponse {
	url, err := c.Auth.StartSignIn(ctx, t.User.Key(), nil)
	if err != nil {
		c.Log.WarnContext(ctx, "a sign-in could not be started from the compose box", "error", err)
		return bot.ComposeMessage(classify(err).briefOrSorry())
	}
	return bot.ComposeAuth(url, "Sign in to ServiceNow")
}
