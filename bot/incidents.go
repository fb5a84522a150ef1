package bot

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"snowbot/auth"
	"snowbot/auth/store"
	"snowbot/bot/cards"
	"snowbot/servicenow"
)

// listLimit is how many incidents a list shows.
const listLimit = 10

// commandTimeout bounds the ServiceNow calls of one command, retries included.
const commandTimeout = 25 * time.Second

// Replies shared by several paths.
const (
	temporarilyUnavailable = "snowbot is temporarily unavailable."
	tryAgainSoon           = "Please try again in a moment."
)

// asUser runs fn with the user's ServiceNow session and turns what can go
// wrong into a reply that says what happened and what to do next. again is
// the command to run after a sign-in it may ask for.
func (a *App) asUser(ctx context.Context, t *Turn, again resume, fn func(s *servicenow.Session) error) error {
	if !t.Personal() {
		return a.reply(ctx, t, Text(oneToOneOnly))
	}
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	s := a.ServiceNow.As(a.Auth.Tokens(t.User.Key())).BeforeEachCall(t.Typing)
	err := fn(s)
	if err == nil {
		return nil
	}
	return a.explain(ctx, t, err, again)
}

// explain answers a failed ServiceNow command.
func (a *App) explain(ctx context.Context, t *Turn, err error, again resume) error {
	var snErr *servicenow.Error
	errors.As(err, &snErr)
	switch {
	case errors.Is(err, store.ErrUnavailable):
		a.Log.WarnContext(ctx, "store unavailable", "error", err)
		return a.reply(ctx, t, cardMessage(cards.Problem(temporarilyUnavailable, tryAgainSoon)))
	case errors.Is(err, auth.ErrSessionEnded):
		return a.promptSignIn(ctx, t, reasonSessionEnded, again)
	case errors.Is(err, auth.ErrSignInRequired):
		return a.promptSignIn(ctx, t, reasonFirstTime, again)
	case errors.Is(err, servicenow.ErrUnauthorized):
		// Refused even right after a refresh: these tokens are of no use any more.
		a.Log.InfoContext(ctx, "ServiceNow refused a freshly refreshed token; asking the user to sign in again")
		if ferr := a.Auth.Forget(ctx, t.User.Key()); ferr != nil {
			a.Log.WarnContext(ctx, "forgetting refused tokens failed", "error", ferr)
		}
		a.forgetCaller(t.User.Key())
		return a.promptSignIn(ctx, t, reasonSessionEnded, again)
	case errors.Is(err, servicenow.ErrForbidden) && strings.Contains(snErr.Detail, "Data Policy"):
		return a.reply(ctx, t, cardMessage(cards.Problem(
			"ServiceNow refused the change: “"+firstLine(snErr.Detail)+"”",
			"Check what you entered and try again. If resolving fails like this every time, your administrator may need to set SERVICENOW_RESOLVE_CODE to a resolution code your instance accepts.")))
	case errors.Is(err, servicenow.ErrForbidden):
		return a.promptSignIn(ctx, t, fmt.Sprintf(
			"ServiceNow refused this action for the account you are signed in with (“%s”). Sign in as another account below, or ask your ServiceNow administrator for the rights you need.",
			quoteServiceNow(snErr)), again)
	case errors.Is(err, servicenow.ErrRateLimited):
		wait := "in a minute"
		if snErr.RetryAfter > 0 {
			wait = fmt.Sprintf("in %d seconds", int(math.Ceil(snErr.RetryAfter.Seconds())))
		}
		return a.reply(ctx, t, cardMessage(cards.Problem("ServiceNow is busy and asked me to slow down.", "Please try again "+wait+".")))
	case errors.Is(err, auth.ErrMisconfigured):
		// Renewing failed: a sign-in card, as for any failed refresh, saying why.
		return a.promptSignIn(ctx, t, reasonRefreshRefused, again)
	case errors.Is(err, auth.ErrServiceNowUnavailable):
		// Renewing failed for now; the tokens are kept, so trying again may be enough.
		return a.promptSignIn(ctx, t, reasonRefreshUnanswered, again)
	case errors.Is(err, servicenow.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		a.Log.WarnContext(ctx, "ServiceNow not answering", "error", err)
		return a.reply(ctx, t, cardMessage(cards.Problem(
			"ServiceNow is not answering right now.",
			"Please try again in a few minutes. If you were changing something, check the incident before you try again.")))
	case errors.Is(err, servicenow.ErrRejected):
		return a.reply(ctx, t, cardMessage(cards.Problem("ServiceNow rejected the request: “"+quoteServiceNow(snErr)+"”", "")))
	}
	return err
}

func quoteServiceNow(e *servicenow.Error) string {
	if e == nil {
		return ""
	}
	msg := e.Message
	if e.Detail != "" {
		msg += ": " + firstLine(e.Detail)
	}
	return cards.Clip(msg, 300)
}

func firstLine(s string) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\n", " "))
	return strings.Join(strings.Fields(s), " ")
}

// listIncidents answers "incidents".
func (a *App) listIncidents(ctx context.Context, t *Turn) error {
	return a.asUser(ctx, t, resume{Text: "incidents"}, func(s *servicenow.Session) error {
		list, total, err := s.MyOpenIncidents(ctx, listLimit)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return a.reply(ctx, t, Text("You have no open incidents. To report one, type **create** followed by a short description."))
		}
		return a.reply(ctx, t, cardMessage(cards.IncidentList(a.ServiceNow.InstanceURL(), list, total)))
	})
}

// badNumber answers an argument that is not an incident number.
func (a *App) badNumber(ctx context.Context, t *Turn, got, usage string) error {
	if strings.TrimSpace(got) == "" {
		return a.reply(ctx, t, Text("Which incident? Type **"+usage+"**."))
	}
	return a.reply(ctx, t, Text(fmt.Sprintf("“%s” is not an incident number: use INC followed by digits, as in **%s**.", cards.Clip(got, 40), usage)))
}

func (a *App) notFound(ctx context.Context, t *Turn, number string) error {
	return a.reply(ctx, t, Text(fmt.Sprintf("There is no incident %s, or you are not allowed to see it.", number)))
}

// showIncident answers "incident INC…".
func (a *App) showIncident(ctx context.Context, t *Turn, arg string) error {
	number, ok := servicenow.ParseIncidentNumber(firstWord(arg))
	if !ok {
		return a.badNumber(ctx, t, arg, "incident INC0010001")
	}
	return a.asUser(ctx, t, resume{Text: "incident " + number}, func(s *servicenow.Session) error {
		inc, err := s.IncidentByNumber(ctx, number)
		if errors.Is(err, servicenow.ErrNotFound) {
			return a.notFound(ctx, t, number)
		}
		if err != nil {
			return err
		}
		return a.reply(ctx, t, cardMessage(cards.IncidentDetail(a.ServiceNow.InstanceURL(), inc)))
	})
}

// createIncident answers "create …" and the create form.
func (a *App) createIncident(ctx context.Context, t *Turn, n servicenow.NewIncident) error {
	again := resume{Value: map[string]any{"action": cards.ActionCreate, "short_description": n.ShortDescription,
		"description": n.Description, "urgency": n.Urgency}}
	return a.asUser(ctx, t, again, func(s *servicenow.Session) error {
		caller, err := a.callerID(ctx, t.User.Key(), s)
		if err != nil {
			return err
		}
		n.CallerSysID = caller
		inc, err := s.CreateIncident(ctx, n)
		if err != nil {
			return err
		}
		if inc.ShortDescription == "" {
			inc.ShortDescription = n.ShortDescription
		}
		return a.reply(ctx, t, cardMessage(cards.Created(a.ServiceNow.InstanceURL(), inc)))
	})
}

// comment answers "comment INC… text" and the detail card's Comment button.
func (a *App) comment(ctx context.Context, t *Turn, arg, text string) error {
	number, ok := servicenow.ParseIncidentNumber(arg)
	if !ok {
		return a.badNumber(ctx, t, arg, "comment INC0010001 your comment")
	}
	if strings.TrimSpace(text) == "" {
		return a.reply(ctx, t, Text("What should the comment say? Type **comment "+number+" your comment**."))
	}
	again := resume{Value: map[string]any{"action": cards.ActionComment, "number": number, "comment": text}}
	return a.asUser(ctx, t, again, func(s *servicenow.Session) error {
		_, err := s.AddComment(ctx, number, text)
		if errors.Is(err, servicenow.ErrNotFound) {
			return a.notFound(ctx, t, number)
		}
		if err != nil {
			return err
		}
		return a.reply(ctx, t, Text(fmt.Sprintf("Added your comment to %s. The caller can see it.", number)))
	})
}

// resolve answers "resolve INC… notes" and the detail card's Resolve button.
func (a *App) resolve(ctx context.Context, t *Turn, arg, notes string) error {
	number, ok := servicenow.ParseIncidentNumber(arg)
	if !ok {
		return a.badNumber(ctx, t, arg, "resolve INC0010001 how it was resolved")
	}
	if strings.TrimSpace(notes) == "" {
		return a.reply(ctx, t, Text("How was it resolved? Type **resolve "+number+" your resolution notes**."))
	}
	again := resume{Value: map[string]any{"action": cards.ActionResolve, "number": number, "notes": notes}}
	return a.asUser(ctx, t, again, func(s *servicenow.Session) error {
		_, err := s.Resolve(ctx, number, a.ResolveCode, notes)
		switch {
		case errors.Is(err, servicenow.ErrNotFound):
			return a.notFound(ctx, t, number)
		case errors.Is(err, servicenow.ErrAlreadyClosed):
			return a.reply(ctx, t, Text(number+" is already resolved or closed."))
		case err != nil:
			return err
		}
		return a.reply(ctx, t, Text(fmt.Sprintf("Resolved %s (%s).", number, a.ResolveCode)))
	})
}

func firstWord(s string) string {
	w, _ := splitFirst(s)
	return w
}
