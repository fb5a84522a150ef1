package bot

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"snowbot/auth"
	"snowbot/bot/cards"
	"snowbot/servicenow"
)

// listLimit is how many incidents a list shows.
const listLimit = 10

// serviceNowBudget bounds all the ServiceNow work of one command: token
// refresh, lookups, retries and the write. The turn itself lives longer
// (turnTimeout), so whatever ServiceNow does, there is time left to tell the
// person what happened.
const serviceNowBudget = 15 * time.Second

// Replies shared by several paths.
const (
	temporarilyUnavailable = "snowbot is temporarily unavailable."
	tryAgainSoon           = "Please try again in a moment."
	notAnswering           = "ServiceNow is not answering, try again in a moment."
	checkBeforeRetrying    = "If you were changing something, check the incident before you try again."
)

// outcome is what a command came to.
type outcome struct {
	answer Message  // what the person is told
	done   bool     // the command did what was asked, or found it already done
	card   *Message // for a submitted card: what the card becomes (nil: unchanged)
	err    error    // unexpected: logged, and the person gets an apology
}

func said(m Message) outcome { return outcome{answer: m, done: true} }

// asUser runs fn with the user's ServiceNow session within serviceNowBudget,
// and turns what can go wrong into an answer that says what happened and what
// to do next. again is the command to run after a sign-in it may ask for.
func (a *App) asUser(ctx context.Context, t *Turn, again resume, fn func(ctx context.Context, s *servicenow.Session) (outcome, error)) outcome {
	if !t.Personal() {
		return outcome{answer: Text(oneToOneOnly)}
	}
	sctx, cancel := context.WithTimeout(ctx, serviceNowBudget)
	defer cancel()
	s := a.ServiceNow.As(a.Auth.Tokens(t.User.Key())).BeforeEachCall(t.Typing)
	o, err := fn(sctx, s)
	if err == nil {
		return o
	}
	if sctx.Err() != nil && ctx.Err() == nil {
		err = fmt.Errorf("%w: %w", errBudgetSpent, err)
	}
	// The answer is sent on the turn's own context: the budget may be spent.
	m, err := a.explain(ctx, t, err, again)
	return outcome{answer: m, err: err}
}

// errBudgetSpent is ServiceNow work that did not finish within serviceNowBudget.
var errBudgetSpent = errors.New("ServiceNow did not answer within the budget of a command")

// explain answers a failed ServiceNow command.
func (a *App) explain(ctx context.Context, t *Turn, err error, again resume) (Message, error) {
	var snErr *servicenow.Error
	errors.As(err, &snErr)
	switch {
	case errors.Is(err, auth.ErrUnavailable):
		a.Log.WarnContext(ctx, "store unavailable", "error", err)
		return cardMessage(cards.Problem(temporarilyUnavailable, tryAgainSoon)), nil
	case errors.Is(err, errBudgetSpent), errors.Is(err, context.DeadlineExceeded), errors.Is(err, servicenow.ErrUnavailable):
		a.Log.WarnContext(ctx, "ServiceNow not answering", "error", err)
		return cardMessage(cards.Problem(notAnswering, checkBeforeRetrying)), nil
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
		return a.promptSignIn(ctx, t, reasonSessionEnded, again)
	case errors.Is(err, servicenow.ErrForbidden) && strings.Contains(snErr.Detail, "Data Policy"):
		return cardMessage(cards.Problem(
			"ServiceNow refused the change: “"+cards.Plain(firstLine(snErr.Detail))+"”",
			"Check what you entered and try again. If resolving fails like this every time, your administrator may need to set SERVICENOW_RESOLVE_CODE to a resolution code your instance accepts.")), nil
	case errors.Is(err, servicenow.ErrForbidden):
		return a.promptSignIn(ctx, t, fmt.Sprintf(
			"ServiceNow refused this action for the account you are signed in with (“%s”). Sign in as another account below, or ask your ServiceNow administrator for the rights you need.",
			quoteServiceNow(snErr)), again)
	case errors.Is(err, servicenow.ErrRateLimited):
		return cardMessage(cards.Problem("ServiceNow is busy and asked me to slow down.", "Please try again "+inSeconds(snErr.RetryAfter)+".")), nil
	case errors.Is(err, auth.ErrMisconfigured):
		// Renewing failed: a sign-in card, as for any failed refresh, saying why.
		return a.promptSignIn(ctx, t, reasonRefreshRefused, again)
	case errors.Is(err, auth.ErrServiceNowUnavailable):
		// Renewing failed for now; the tokens are kept, so trying again may be enough.
		return a.promptSignIn(ctx, t, reasonRefreshUnanswered, again)
	case errors.Is(err, servicenow.ErrUnreadable):
		a.Log.WarnContext(ctx, "ServiceNow answered with something that is not data", "error", err)
		return cardMessage(cards.Problem(
			"ServiceNow answered with a web page instead of data, as a login, single sign-on or maintenance page in front of the instance does.",
			"Try again in a few minutes. If it keeps happening, tell your ServiceNow administrator: the REST API of the instance must be reachable at SERVICENOW_INSTANCE_URL without a browser login.")), nil
	case errors.Is(err, servicenow.ErrInvalidSysID):
		a.Log.WarnContext(ctx, "ServiceNow named a record with an id that is not a sys_id")
		return cardMessage(cards.Problem("ServiceNow answered with a record id snowbot cannot use, so I changed nothing.", "Please tell your ServiceNow administrator.")), nil
	case errors.Is(err, servicenow.ErrRejected):
		return cardMessage(cards.Problem("ServiceNow rejected the request: “"+quoteServiceNow(snErr)+"”", "")), nil
	}
	return Message{}, err
}

// inSeconds says when to try again: "in 1 second", "in 30 seconds", "in a minute".
func inSeconds(d time.Duration) string {
	switch n := int(math.Ceil(d.Seconds())); {
	case n <= 0:
		return "in a minute"
	case n == 1:
		return "in 1 second"
	default:
		return fmt.Sprintf("in %d seconds", n)
	}
}

func quoteServiceNow(e *servicenow.Error) string {
	if e == nil {
		return ""
	}
	msg := e.Message
	if e.Detail != "" {
		msg += ": " + firstLine(e.Detail)
	}
	return cards.Plain(cards.Clip(msg, 300))
}

func firstLine(s string) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\n", " "))
	return strings.Join(strings.Fields(s), " ")
}

// listIncidents answers "incidents".
func (a *App) listIncidents(ctx context.Context, t *Turn) error {
	return a.answer(ctx, t, a.asUser(ctx, t, resume{Text: "incidents"}, func(ctx context.Context, s *servicenow.Session) (outcome, error) {
		list, total, err := s.MyOpenIncidents(ctx, listLimit)
		if err != nil {
			return outcome{}, err
		}
		if len(list) == 0 {
			return said(Text("You have no open incidents. To report one, type **create** followed by a short description.")), nil
		}
		return said(cardMessage(cards.IncidentList(a.ServiceNow.InstanceURL(), list, total))), nil
	}))
}

// badNumber answers an argument that is not an incident number.
func badNumber(got, usage string) outcome {
	if strings.TrimSpace(got) == "" {
		return outcome{answer: Text("Which incident? Type **" + usage + "**.")}
	}
	return outcome{answer: Text(fmt.Sprintf("“%s” is not an incident number: use INC followed by digits, as in **%s**.", cards.Plain(cards.Clip(got, 40)), usage))}
}

func notFound(number string) outcome {
	return said(Text(fmt.Sprintf("There is no incident %s, or you are not allowed to see it.", number)))
}

// showIncident answers "incident INC…".
func (a *App) showIncident(ctx context.Context, t *Turn, arg string) error {
	number, ok := servicenow.ParseIncidentNumber(firstWord(arg))
	if !ok {
		return a.answer(ctx, t, badNumber(arg, "incident INC0010001"))
	}
	return a.answer(ctx, t, a.asUser(ctx, t, resume{Text: "incident " + number}, func(ctx context.Context, s *servicenow.Session) (outcome, error) {
		inc, err := s.IncidentByNumber(ctx, number)
		if errors.Is(err, servicenow.ErrNotFound) {
			return notFound(number), nil
		}
		if err != nil {
			return outcome{}, err
		}
		return said(cardMessage(cards.IncidentDetail(a.ServiceNow.InstanceURL(), inc, newFormID()))), nil
	}))
}

// createIncident answers "create …" and the create form.
func (a *App) createIncident(ctx context.Context, t *Turn, n servicenow.NewIncident) outcome {
	again := resume{Value: map[string]any{"action": cards.ActionCreate, "short_description": n.ShortDescription,
		"description": n.Description, "urgency": n.Urgency}}
	return a.asUser(ctx, t, again, func(ctx context.Context, s *servicenow.Session) (outcome, error) {
		caller, err := a.callerID(ctx, t.User.Key(), s)
		if err != nil {
			return outcome{}, err
		}
		n.CallerSysID = caller
		inc, err := s.CreateIncident(ctx, n)
		if err != nil {
			return outcome{}, err
		}
		if inc.ShortDescription == "" {
			inc.ShortDescription = n.ShortDescription
		}
		receipt := cardMessage(cards.Receipt("Report an incident", "Sent: created "+inc.Number+"."))
		return outcome{answer: cardMessage(cards.Created(a.ServiceNow.InstanceURL(), inc)), done: true, card: &receipt}, nil
	})
}

// callerID is the signed-in user's sys_id: stored with their tokens at
// sign-in, or looked up (and then stored) when the sign-in could not.
func (a *App) callerID(ctx context.Context, user string, s *servicenow.Session) (string, error) {
	tokens := a.Auth.Tokens(user)
	id, err := tokens.Identity(ctx)
	if err == nil {
		return id.SysID, nil
	}
	if !errors.Is(err, auth.ErrNoIdentity) {
		return "", err
	}
	u, err := s.CurrentUser(ctx)
	if err != nil {
		return "", err
	}
	if err := tokens.RememberIdentity(ctx, auth.Identity{SysID: u.SysID, UserName: u.UserName, Name: u.Name}); err != nil {
		a.Log.WarnContext(ctx, "could not store who the user is in ServiceNow; looked up again next time", "error", err)
	}
	return u.SysID, nil
}

// comment answers "comment INC… text" and the detail card's Comment button;
// from a card, the card is shown again with the comment.
func (a *App) comment(ctx context.Context, t *Turn, arg, text string, fromCard bool) outcome {
	number, ok := servicenow.ParseIncidentNumber(arg)
	if !ok {
		return badNumber(arg, "comment INC0010001 your comment")
	}
	if strings.TrimSpace(text) == "" {
		return outcome{answer: Text("What should the comment say? Type **comment " + number + " your comment**.")}
	}
	again := resume{Value: map[string]any{"action": cards.ActionComment, "number": number, "comment": text}}
	return a.asUser(ctx, t, again, func(ctx context.Context, s *servicenow.Session) (outcome, error) {
		_, err := s.AddComment(ctx, number, text)
		if errors.Is(err, servicenow.ErrNotFound) {
			return notFound(number), nil
		}
		if err != nil {
			return outcome{}, err
		}
		o := said(Text(fmt.Sprintf("Added your comment to %s. The caller can see it.", number)))
		if fromCard {
			o.card = a.detailCard(ctx, s, number)
		}
		return o, nil
	})
}

// resolve answers "resolve INC… notes" and the detail card's Resolve button.
func (a *App) resolve(ctx context.Context, t *Turn, arg, notes string, fromCard bool) outcome {
	number, ok := servicenow.ParseIncidentNumber(arg)
	if !ok {
		return badNumber(arg, "resolve INC0010001 how it was resolved")
	}
	if strings.TrimSpace(notes) == "" {
		return outcome{answer: Text("How was it resolved? Type **resolve " + number + " your resolution notes**.")}
	}
	again := resume{Value: map[string]any{"action": cards.ActionResolve, "number": number, "notes": notes}}
	return a.asUser(ctx, t, again, func(ctx context.Context, s *servicenow.Session) (outcome, error) {
		_, err := s.Resolve(ctx, number, a.ResolveCode, notes)
		var o outcome
		switch {
		case errors.Is(err, servicenow.ErrNotFound):
			return notFound(number), nil
		case errors.Is(err, servicenow.ErrAlreadyClosed):
			o = said(Text(number + " is already resolved or closed."))
		case err != nil:
			return outcome{}, err
		default:
			o = said(Text(fmt.Sprintf("Resolved %s (%s).", number, a.ResolveCode)))
		}
		if fromCard {
			o.card = a.detailCard(ctx, s, number)
		}
		return o, nil
	})
}

// detailCard reads an incident again for the card a button was pressed on;
// nil when that fails (the card then stays as it was).
func (a *App) detailCard(ctx context.Context, s *servicenow.Session, number string) *Message {
	inc, err := s.IncidentByNumber(ctx, number)
	if err != nil {
		a.Log.InfoContext(ctx, "the incident card was not refreshed", "error", err)
		return nil
	}
	m := cardMessage(cards.IncidentDetail(a.ServiceNow.InstanceURL(), inc, newFormID()))
	return &m
}

func firstWord(s string) string {
	w, _ := splitFirst(s)
	return w
}
