package chat

// This file is the message extension: searching incidents and knowledge from
// the compose box of any conversation, and the cards that links to the
// instance unfold into. Whatever goes into a conversation is read with the
// token of the person who puts it there.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"snowbot/auth"
	"snowbot/bot"
	"snowbot/bot/chat/cards"
	"snowbot/servicenow"
)

// The message extension's commands, as the app package declares them.
const (
	CommandSearchIncidents = "searchIncidents"
	CommandSearchKnowledge = "searchKnowledge"
	// ParamQuery is the one parameter of each.
	ParamQuery = "query"
)

const (
	// composeBudget is how long a search or an unfurl may take: Teams waits
	// about 5 seconds for the answer, and the rest is the way there and back.
	composeBudget = 4 * time.Second
	// maxResults bounds one page of results.
	maxResults = 10
	// maxQuery bounds what of a search text is used.
	maxQuery = 100
)

// composeQuery is the value of a composeExtension/query invoke.
type composeQuery struct {
	CommandID  string `json:"commandId"`
	Parameters []struct {
		Name  string `json:"name"`
		Value any    `json:"value"`
	} `json:"parameters"`
	QueryOptions struct {
		Skip  int `json:"skip"`
		Count int `json:"count"`
	} `json:"queryOptions"`
	State string `json:"state"`
	URL   string `json:"url"` // composeExtension/queryLink
}

func readComposeQuery(v map[string]any) composeQuery {
	var q composeQuery
	raw, _ := json.Marshal(v)
	_ = json.Unmarshal(raw, &q)
	return q
}

// text is the query parameter's value ("" for Teams' initial run).
func (q composeQuery) text() string {
	for _, p := range q.Parameters {
		if p.Name == ParamQuery {
			s, _ := p.Value.(string)
			return cards.Clip(strings.TrimSpace(s), maxQuery)
		}
	}
	return ""
}

// OnComposeQuery answers a search from the compose box: up to maxResults
// results of the page Teams asks for, each a card to insert with a preview;
// a sign-in link first for someone without a usable token.
func (c *Conversation) OnComposeQuery(ctx context.Context, t *bot.Turn) bot.InvokeResponse {
	ctx, cancel := context.WithTimeout(ctx, composeBudget)
	defer cancel()
	q := readComposeQuery(t.Activity.Value)
	if answer, done := c.composeSignIn(ctx, t, q.State); done {
		return answer
	}
	count := q.QueryOptions.Count
	if count <= 0 || count > maxResults {
		count = maxResults
	}
	skip := min(max(q.QueryOptions.Skip, 0), 1000)
	s := c.ServiceNow.As(c.Auth.Tokens(t.User.Key()))
	v := c.view(t)
	var results []bot.ComposeAttachment
	var err error
	switch q.CommandID {
	case CommandSearchIncidents:
		var list []servicenow.Incident
		list, err = s.SearchIncidents(ctx, q.text(), skip, count)
		for _, inc := range list {
			results = append(results, bot.ComposeAttachment{ContentType: cards.ContentType, Content: cards.IncidentShare(v, inc).JSON(), Preview: cards.IncidentPreview(inc)})
		}
	case CommandSearchKnowledge:
		var list []servicenow.Article
		list, err = s.SearchKnowledge(ctx, q.text(), skip, count)
		for _, a := range list {
			results = append(results, bot.ComposeAttachment{ContentType: cards.ContentType, Content: cards.ArticleShare(v, a).JSON(), Preview: cards.ArticlePreview(a)})
		}
	default:
		return bot.ComposeMessage("I don't know that search. Update the snowbot app in Teams.")
	}
	if err != nil && len(results) > 0 {
		c.Log.WarnContext(ctx, "search answered with part of its results", "error", err)
		return bot.ComposeResults(results) // what there is, in time
	}
	if err != nil {
		return c.composeFailure(ctx, t, err)
	}
	return bot.ComposeResults(results)
}

// OnComposeQueryLink unfolds a link to the instance into a card, read with the
// token of the person who pasted it. A link they may not read shows nothing
// but the link; a link that is not to a record snowbot knows shows no card.
func (c *Conversation) OnComposeQueryLink(ctx context.Context, t *bot.Turn) bot.InvokeResponse {
	ctx, cancel := context.WithTimeout(ctx, composeBudget)
	defer cancel()
	q := readComposeQuery(t.Activity.Value)
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
	}
	if err != nil {
		if signInNeeded(err) {
			return c.composeAuth(ctx, t)
		}
		if !errors.Is(err, servicenow.ErrNotFound) && !errors.Is(err, servicenow.ErrForbidden) {
			c.Log.WarnContext(ctx, "a pasted link could not be read; it shows as a link", "error", err)
		}
		card = cards.LinkOnly(canonicalLink(base, ref))
	}
	return bot.ComposeUnfurl(&bot.ComposeAttachment{ContentType: cards.ContentType, Content: card.JSON(), Preview: preview})
}

// canonicalLink is the link snowbot builds for a record, rather than the one pasted.
func canonicalLink(base string, ref servicenow.RecordRef) string {
	if ref.Number != "" {
		return cards.ArticleLink(base, ref.Number)
	}
	if ref.Table == "kb_knowledge" {
		return base + "/kb_view.do?sys_kb_id=" + ref.SysID
	}
	return cards.RecordLink(base, ref.Table, ref.SysID)
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
		return bot.ComposeMessage(temporarilyUnavailable + " " + tryAgainSoon), true
	}
	c.Log.ErrorContext(ctx, "completing a sign-in from the compose box failed", "error", err)
	return bot.ComposeMessage("Sorry, something went wrong on my side. Please try again in a moment."), true
}

// composeAuth asks the person to sign in, with the same sign-in link as a card's.
func (c *Conversation) composeAuth(ctx context.Context, t *bot.Turn) bot.InvokeResponse {
	url, err := c.Auth.StartSignIn(ctx, t.User.Key(), nil)
	if err != nil {
		c.Log.WarnContext(ctx, "a sign-in could not be started from the compose box", "error", err)
		return bot.ComposeMessage(temporarilyUnavailable + " " + tryAgainSoon)
	}
	return bot.ComposeAuth(url, "Sign in to ServiceNow")
}

// signInNeeded reports whether err means the person has no usable token.
func signInNeeded(err error) bool {
	return errors.Is(err, auth.ErrSignInRequired) || errors.Is(err, auth.ErrSessionEnded) ||
		errors.Is(err, servicenow.ErrUnauthorized) || errors.Is(err, auth.ErrMisconfigured) || errors.Is(err, auth.ErrServiceNowUnavailable)
}

// composeFailure says in one line why a search has no results.
func (c *Conversation) composeFailure(ctx context.Context, t *bot.Turn, err error) bot.InvokeResponse {
	var snErr *servicenow.Error
	errors.As(err, &snErr)
	switch {
	case signInNeeded(err):
		return c.composeAuth(ctx, t)
	case errors.Is(err, servicenow.ErrUnsafeValue):
		return bot.ComposeMessage("Search for words or a number, without ^ or line breaks.")
	case errors.Is(err, servicenow.ErrForbidden):
		return bot.ComposeMessage("ServiceNow refused this search for your account (“" + quoteServiceNow(snErr) + "”).")
	case briefly(err) != "":
		c.Log.WarnContext(ctx, "search failed", "error", err)
		return bot.ComposeMessage(briefly(err))
	}
	c.Log.ErrorContext(ctx, "search failed", "error", err)
	return bot.ComposeMessage("Sorry, something went wrong on my side. Please try again in a moment.")
}
