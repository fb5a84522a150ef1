package chat

// This file runs a person's ServiceNow work: within one time budget, as that
// person, and with an answer for everything that can go wrong.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"snowbot/auth"
	"snowbot/bot"
	"snowbot/bot/chat/cards"
	"snowbot/servicenow"
)

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

// asUser runs fn with the user's ServiceNow session within serviceNowBudget,
// and turns what can go wrong into an answer that says what happened and what
// to do next. again is the command to run after a sign-in it may ask for.
func (c *Conversation) asUser(ctx context.Context, t *bot.Turn, again resume, fn func(ctx context.Context, s *servicenow.Session) (outcome, error)) outcome {
	if !t.Personal() {
		return outcome{answer: bot.Text(oneToOneOnly)}
	}
	sctx, cancel := context.WithTimeout(ctx, budgetWithin(ctx))
	defer cancel()
	stopTyping := t.TypingWhile(sctx)
	o, err := fn(sctx, c.ServiceNow.As(c.Auth.Tokens(t.User.Key())))
	stopTyping()
	if err == nil {
		return o
	}
	if sctx.Err() != nil && ctx.Err() == nil {
		err = fmt.Errorf("%w: %w", errBudgetSpent, err)
	}
	if errors.Is(err, servicenow.ErrUnauthorized) {
		// Refused even right after a refresh: these tokens are of no use any more.
		c.Log.InfoContext(ctx, "ServiceNow refused a freshly refreshed token; asking the user to sign in again")
		if ferr := c.Auth.Forget(ctx, t.User.Key()); ferr != nil {
			c.Log.WarnContext(ctx, "forgetting refused tokens failed", "error", ferr)
		}
	}
	// The answer is made on the turn's own context: the budget may be spent.
	m, aerr := c.failureAnswer(ctx, t, err, again)
	return outcome{answer: m, err: aerr, failure: err}
}

// briefly says in one sentence what went wrong when trying again soon is the
// answer (ServiceNow or the store not answering, or busy); "" otherwise.
func briefly(err error) string {
	var snErr *servicenow.Error
	errors.As(err, &snErr)
	switch {
	case errors.Is(err, auth.ErrUnavailable):
		return temporarilyUnavailable + " " + tryAgainSoon
	case errors.Is(err, errBudgetSpent), errors.Is(err, context.DeadlineExceeded), errors.Is(err, servicenow.ErrUnavailable):
		return notAnswering
	case errors.Is(err, servicenow.ErrRateLimited):
		return "ServiceNow is busy and asked me to slow down. Please try again " + inSeconds(snErr.RetryAfter) + "."
	}
	return ""
}

// answerReserve is the time kept, after the ServiceNow work, to answer.
const answerReserve = 2 * time.Second

// budgetWithin is the time ServiceNow work may take in ctx: serviceNowBudget,
// or less when ctx ends sooner (an invoke must be answered within seconds),
// always keeping answerReserve to answer.
func budgetWithin(ctx context.Context) time.Duration {
	budget := serviceNowBudget
	if dl, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(dl)-answerReserve)
	}
	return max(budget, time.Second)
}

// errBudgetSpent is ServiceNow work that did not finish within serviceNowBudget.
var errBudgetSpent = errors.New("ServiceNow did not answer within the budget of a command")

// failureAnswer says what went wrong with ServiceNow work and what to do next:
// a card, or a sign-in card that runs the command again afterwards.
func (c *Conversation) failureAnswer(ctx context.Context, t *bot.Turn, err error, again resume) (bot.Message, error) {
	var snErr *servicenow.Error
	errors.As(err, &snErr)
	switch {
	case errors.Is(err, auth.ErrUnavailable):
		c.Log.WarnContext(ctx, "store unavailable", "error", err)
		return cardMessage(cards.Problem(temporarilyUnavailable, tryAgainSoon)), nil
	case errors.Is(err, errBudgetSpent), errors.Is(err, context.DeadlineExceeded), errors.Is(err, servicenow.ErrUnavailable):
		c.Log.WarnContext(ctx, "ServiceNow not answering", "error", err)
		return cardMessage(cards.Problem(notAnswering, checkBeforeRetrying)), nil
	case errors.Is(err, auth.ErrSessionEnded):
		return c.promptSignIn(ctx, t, reasonSessionEnded, again)
	case errors.Is(err, auth.ErrSignInRequired):
		return c.promptSignIn(ctx, t, reasonFirstTime, again)
	case errors.Is(err, servicenow.ErrUnauthorized):
		return c.promptSignIn(ctx, t, reasonSessionEnded, again)
	case errors.Is(err, servicenow.ErrForbidden) && strings.Contains(snErr.Detail, "Data Policy"):
		return cardMessage(cards.Problem(
			"ServiceNow refused the change: “"+cards.Plain(firstLine(snErr.Detail))+"”",
			"Check what you entered and try again. If resolving fails like this every time, your administrator may need to set SERVICENOW_RESOLVE_CODE to a resolution code your instance accepts.")), nil
	case errors.Is(err, servicenow.ErrForbidden):
		return c.promptSignIn(ctx, t, fmt.Sprintf(
			"ServiceNow refused this action for the account you are signed in with (“%s”). Sign in as another account below, or ask your ServiceNow administrator for the rights you need.",
			quoteServiceNow(snErr)), again)
	case errors.Is(err, servicenow.ErrRateLimited):
		return cardMessage(cards.Problem("ServiceNow is busy and asked me to slow down.", "Please try again "+inSeconds(snErr.RetryAfter)+".")), nil
	case errors.Is(err, auth.ErrMisconfigured):
		// Renewing failed: a sign-in card, as for any failed refresh, saying why.
		return c.promptSignIn(ctx, t, reasonRefreshRefused, again)
	case errors.Is(err, auth.ErrServiceNowUnavailable):
		// Renewing failed for now; the tokens are kept, so trying again may be enough.
		return c.promptSignIn(ctx, t, reasonRefreshUnanswered, again)
	case errors.Is(err, servicenow.ErrUnreadable):
		c.Log.WarnContext(ctx, "ServiceNow answered with something that is not data", "error", err)
		return cardMessage(cards.Problem(
			"ServiceNow answered with a web page instead of data, as a login, single sign-on or maintenance page in front of the instance does.",
			"Try again in a few minutes. If it keeps happening, tell your ServiceNow administrator: the REST API of the instance must be reachable at SERVICENOW_INSTANCE_URL without a browser login.")), nil
	case errors.Is(err, servicenow.ErrInvalidSysID):
		c.Log.WarnContext(ctx, "ServiceNow named a record with an id that is not a sys_id")
		return cardMessage(cards.Problem("ServiceNow answered with a record id snowbot cannot use, so I changed nothing.", "Please tell your ServiceNow administrator.")), nil
	case errors.Is(err, servicenow.ErrUnsafeValue):
		return bot.Text("I can't search for that: leave out ^ and line breaks, and don't start with javascript:."), nil
	case errors.Is(err, servicenow.ErrRejected):
		return cardMessage(cards.Problem("ServiceNow rejected the request: “"+quoteServiceNow(snErr)+"”", "")), nil
	}
	return bot.Message{}, err
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
