package chat

// This file runs a person's ServiceNow work: within one time budget, as that
// person, and with an answer for everything that can go wrong.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"snowbot/bot"
	"snowbot/servicenow"
)

// serviceNowBudget bounds all the ServiceNow work of one command: token
// refresh, lookups, retries and the write. The turn itself lives longer
// (turnTimeout), so whatever ServiceNow does, there is time left to tell the
// person what happened.
const serviceNowBudget = 15 * time.Second

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
	c.forgetRefusedTokens(ctx, t.User.Key(), err)
	// The answer is made on the turn's own context: the budget may be spent.
	f := classify(err)
	m, aerr := c.forChat(ctx, t, f, again)
	return outcome{answer: m, err: aerr, failure: f}
}

// forgetRefusedTokens forgets the person's tokens when ServiceNow refused
// them even right after a refresh: they are of no use any more.
func (c *Conversation) forgetRefusedTokens(ctx context.Context, user string, err error) {
	if !errors.Is(err, servicenow.ErrUnauthorized) {
		return
	}
	c.Log.InfoContext(ctx, "ServiceNow refused a freshly refreshed token; asking the user to sign in again")
	if ferr := c.Auth.Forget(ctx, user); ferr != nil {
		c.Log.WarnContext(ctx, "forgetting refused tokens failed", "error", ferr)
	}
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
