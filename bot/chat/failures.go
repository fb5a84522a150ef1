package chat

// This file sorts what can go wrong with a person's ServiceNow work, once,
// so that every surface (a chat reply, a card's answer, the compose box, a
// notification) says the same thing about the same failure.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"time"

	"snowbot/auth"
	"snowbot/bot"
	"snowbot/bot/chat/cards"
	"snowbot/servicenow"
)

// failureKind is what went wrong, as far as what to do next is concerned.
type failureKind int

const (
	failUnexpected        failureKind = iota // a bug or something unforeseen: logged, apologised for
	failStoreUnavailable                     // snowbot's own store does not answer
	failNotAnswering                         // ServiceNow timed out, answered 5xx or could not be reached
	failRateLimited                          // ServiceNow answered 429
	failSignInRequired                       // no tokens: never signed in, or signed out
	failSessionEnded                         // the tokens are no longer accepted
	failRefreshUnanswered                    // renewing the tokens got no answer; they are kept
	failMisconfigured                        // ServiceNow refused snowbot's own client credentials
	failForbidden                            // ServiceNow refused this account (403)
	failDataPolicy                           // ServiceNow refused the values (a data policy, 403)
	failNotFound                             // no such record, or not this person's to see
	failUnreadable                           // a web page where data was expected
	failInvalidSysID                         // ServiceNow named a record with an id that is not one
	failUnsafeValue                          // typed text that cannot go into a query
	failRejected                             // ServiceNow rejected the request (400)
	failBadFilter                            // a filter snowbot cannot use; its message says why
)

// failure is a sorted error: its kind, how long ServiceNow asked to wait, and
// ServiceNow's own words (to quote, as text).
type failure struct {
	kind       failureKind
	retryAfter time.Duration
	quote      string // ServiceNow's message and detail, made safe to show
	detail     string // ServiceNow's detail alone (a data policy's words), made safe to show
	err        error
}

// classify sorts err.
func classify(err error) failure {
	f := failure{kind: failUnexpected, err: err}
	var snErr *servicenow.Error
	if errors.As(err, &snErr) {
		f.quote = quoteServiceNow(snErr)
		f.detail = cards.Plain(cards.Clip(firstLine(snErr.Detail), 300))
		f.retryAfter = snErr.RetryAfter
	}
	switch {
	case err == nil:
	case errors.Is(err, auth.ErrUnavailable):
		f.kind = failStoreUnavailable
	case errors.Is(err, errBudgetSpent), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.Is(err, servicenow.ErrUnavailable):
		f.kind = failNotAnswering
	case errors.Is(err, servicenow.ErrRateLimited):
		f.kind = failRateLimited
	case errors.Is(err, auth.ErrSessionEnded), errors.Is(err, servicenow.ErrUnauthorized):
		f.kind = failSessionEnded
	case errors.Is(err, auth.ErrSignInRequired):
		f.kind = failSignInRequired
	case errors.Is(err, auth.ErrMisconfigured):
		f.kind = failMisconfigured
	case errors.Is(err, auth.ErrServiceNowUnavailable):
		f.kind = failRefreshUnanswered
	case errors.Is(err, servicenow.ErrForbidden) && strings.Contains(snErr.Detail, "Data Policy"):
		f.kind = failDataPolicy
	case errors.Is(err, servicenow.ErrForbidden):
		f.kind = failForbidden
	case errors.Is(err, servicenow.ErrNotFound):
		f.kind = failNotFound
	case errors.Is(err, servicenow.ErrUnreadable):
		f.kind = failUnreadable
	case errors.Is(err, servicenow.ErrInvalidSysID):
		f.kind = failInvalidSysID
	case errors.Is(err, servicenow.ErrUnsafeValue):
		f.kind = failUnsafeValue
	case errors.Is(err, servicenow.ErrRejected):
		f.kind = failRejected
	case errors.Is(err, servicenow.ErrBadFilter):
		f.kind = failBadFilter
		f.detail = cards.Plain(strings.TrimPrefix(err.Error(), servicenow.ErrBadFilter.Error()+": "))
	}
	return f
}

// transient reports whether the same work may succeed later without anyone
// doing anything: ServiceNow or the store were away or busy. A failure
// snowbot's own credentials cause counts too: an operator fixes those, and
// nothing of the person's changes meanwhile.
func (f failure) transient() bool {
	switch f.kind {
	case failStoreUnavailable, failNotAnswering, failRateLimited, failRefreshUnanswered, failMisconfigured, failUnreadable:
		return true
	}
	return false
}

// signInNeeded reports whether the person has no usable token.
func (f failure) signInNeeded() bool {
	switch f.kind {
	case failSignInRequired, failSessionEnded:
		return true
	}
	return false
}

// mustSignIn reports whether nothing can go on before the person signs in
// (again): no usable token, or renewing it failed.
func (f failure) mustSignIn() bool {
	return f.signInNeeded() || f.kind == failMisconfigured || f.kind == failRefreshUnanswered
}

// refusedByServiceNow reports whether ServiceNow answered and said no to
// what was asked (the values, a rule, the account's rights): putting it
// right may help, trying again as it is will not.
func (f failure) refusedByServiceNow() bool {
	switch f.kind {
	case failRejected, failForbidden, failDataPolicy:
		return true
	}
	return false
}

// hiddenFromThem reports whether the record is not there for this person:
// it does not exist, or they may not read it.
func (f failure) hiddenFromThem() bool {
	return f.kind == failNotFound || f.kind == failForbidden
}

// mayHaveGoneThrough reports whether a write that failed may have been done
// all the same: ServiceNow did not answer, or answered 5xx (a gateway's
// timeout, a transaction cut short).
func (f failure) mayHaveGoneThrough() bool { return f.kind == failNotAnswering }

// Words shared by the answers below.
const (
	temporarilyUnavailable = "snowbot is temporarily unavailable."
	tryAgainSoon           = "Please try again in a moment."
	notAnswering           = "ServiceNow is not answering, try again in a moment."
	checkBeforeRetrying    = "If you were changing something, check the incident before you try again."
	somethingWentWrong     = "Sorry, something went wrong on my side. Please try again in a moment."
)

// storeDown is the answer while snowbot's own store does not answer.
func storeDown() bot.Message {
	return cardMessage(cards.Problem(temporarilyUnavailable, tryAgainSoon))
}

// brief says in one sentence what went wrong when trying again soon is the
// answer (ServiceNow or the store not answering, or busy); "" otherwise.
func (f failure) brief() string {
	switch f.kind {
	case failStoreUnavailable:
		return temporarilyUnavailable + " " + tryAgainSoon
	case failNotAnswering:
		return notAnswering
	case failRateLimited:
		return "ServiceNow is busy and asked me to slow down. Please try again " + inSeconds(f.retryAfter) + "."
	}
	return ""
}

// briefOrSorry is brief, or an apology when trying again soon is not the answer.
func (f failure) briefOrSorry() string {
	if b := f.brief(); b != "" {
		return b
	}
	return somethingWentWrong
}

// forChat is the answer in a chat: a card that says what went wrong and
// what to do next, or a sign-in card that runs the command again afterwards.
// An unexpected failure is returned as it is, for an apology and the log.
func (c *Conversation) forChat(ctx context.Context, t *bot.Turn, f failure, again resume) (bot.Message, error) {
	switch f.kind {
	case failStoreUnavailable:
		c.Log.WarnContext(ctx, "store unavailable", "error", f.err)
		return storeDown(), nil
	case failNotAnswering:
		c.Log.WarnContext(ctx, "ServiceNow not answering", "error", f.err)
		return cardMessage(cards.Problem(notAnswering, checkBeforeRetrying)), nil
	case failRateLimited:
		return cardMessage(cards.Problem("ServiceNow is busy and asked me to slow down.", "Please try again "+inSeconds(f.retryAfter)+".")), nil
	case failSignInRequired:
		return c.promptSignIn(ctx, t, reasonFirstTime, again)
	case failSessionEnded:
		return c.promptSignIn(ctx, t, reasonSessionEnded, again)
	case failMisconfigured:
		// Renewing failed: a sign-in card, as for any failed refresh, saying why.
		return c.promptSignIn(ctx, t, reasonRefreshRefused, again)
	case failRefreshUnanswered:
		// Renewing failed for now; the tokens are kept, so trying again may be enough.
		return c.promptSignIn(ctx, t, reasonRefreshUnanswered, again)
	case failForbidden:
		return c.promptSignIn(ctx, t, refusedAccount(f), again)
	case failDataPolicy:
		return cardMessage(cards.Problem("ServiceNow refused the change: “"+f.detail+"”",
			"Check what you entered and try again. If resolving fails like this every time, your administrator may need to set SERVICENOW_RESOLVE_CODE to a resolution code your instance accepts.")), nil
	case failUnreadable:
		c.Log.WarnContext(ctx, "ServiceNow answered with something that is not data", "error", f.err)
		return cardMessage(cards.Problem(
			"ServiceNow answered with a web page instead of data, as a login, single sign-on or maintenance page in front of the instance does.",
			"Try again in a few minutes. If it keeps happening, tell your ServiceNow administrator: the REST API of the instance must be reachable at SERVICENOW_INSTANCE_URL without a browser login.")), nil
	case failInvalidSysID:
		c.Log.WarnContext(ctx, "ServiceNow named a record with an id that is not a sys_id")
		return cardMessage(cards.Problem("ServiceNow answered with a record id snowbot cannot use, so I changed nothing.", "Please tell your ServiceNow administrator.")), nil
	case failUnsafeValue:
		return bot.Text("I can't search for that: leave out ^ and line breaks, and don't start with javascript:."), nil
	case failRejected:
		return cardMessage(cards.Problem("ServiceNow rejected the request: “"+f.quote+"”", "")), nil
	case failNotFound:
		return bot.Text("That record does not exist, or it is not yours to see."), nil
	case failBadFilter:
		return bot.Text("I can't use that filter: " + f.detail + "."), nil
	}
	return bot.Message{}, f.err
}

// refusedAccount says that ServiceNow refused the person's account, in
// ServiceNow's words, and what to do.
func refusedAccount(f failure) string {
	return fmt.Sprintf("ServiceNow refused this action for the account you are signed in with (“%s”). Sign in as another account below, or ask your ServiceNow administrator for the rights you need.", f.quote)
}

// forCard is the answer to a card's button or refresh (an invoke) that
// failed: an error Teams shows on the card (which keeps its buttons), with
// the status that fits. said is the sentence, for a card that shows it.
func (f failure) forCard() (resp bot.InvokeResponse, said string) {
	status, said := http.StatusInternalServerError, somethingWentWrong
	switch {
	case f.brief() != "":
		status, said = http.StatusServiceUnavailable, f.brief()
	case f.mustSignIn():
		status, said = http.StatusUnauthorized, "Sign in to ServiceNow again: type any command in our chat for a sign-in card."
	case f.kind == failForbidden:
		status, said = http.StatusForbidden, "ServiceNow refused this for the account you are signed in with (“"+f.quote+"”)."
	case f.kind == failNotFound:
		status, said = http.StatusNotFound, "That record does not exist, or it is not yours to see."
	case f.kind == failDataPolicy, f.kind == failRejected:
		status, said = http.StatusBadRequest, "ServiceNow refused it: “"+f.quote+"”"
	case f.kind == failBadFilter:
		status, said = http.StatusBadRequest, "I can't use that filter: "+f.detail+"."
	case f.kind == failUnreadable:
		status, said = http.StatusBadGateway, "ServiceNow answered with a web page instead of data. Try again in a few minutes."
	}
	return bot.ErrorResponse(status, said), said
}

// forComposeBox is the one line the compose box shows instead of results,
// or Teams' sign-in link for someone without a usable token.
func (c *Conversation) forComposeBox(ctx context.Context, t *bot.Turn, f failure) bot.InvokeResponse {
	switch {
	case f.mustSignIn():
		return c.composeAuth(ctx, t)
	case f.kind == failUnsafeValue:
		return bot.ComposeMessage("Search for words or a number, without ^ or line breaks.")
	case f.kind == failForbidden:
		return bot.ComposeMessage("ServiceNow refused this search for your account (“" + f.quote + "”).")
	case f.brief() != "":
		c.Log.WarnContext(ctx, "search failed", "error", f.err)
		return bot.ComposeMessage(f.brief())
	}
	c.Log.ErrorContext(ctx, "search failed", "error", f.err)
	return bot.ComposeMessage(somethingWentWrong)
}

// forNotification says what a failed read means for a notification, and
// logs why, without naming the person or the record.
// cut is true when the delivery's own work was cut short (a shutdown).
func (f failure) forNotification(ctx context.Context, log *slog.Logger, cut bool) (delivery, time.Duration) {
	switch {
	case f.hiddenFromThem():
		log.InfoContext(ctx, "notification not sent: the recipient may not read the record")
		return neverTold, 0
	case f.signInNeeded():
		log.InfoContext(ctx, "notification not sent: the recipient's ServiceNow session has ended")
		return neverTold, 0
	case f.transient() || cut:
		log.WarnContext(ctx, "notification delayed: the record could not be read now", "error", f.err)
		return notYet, f.retryAfter
	}
	log.ErrorContext(ctx, "notification not sent: the record could not be read", "error", f.err)
	return neverTold, 0
}

// forDialog answers a message action that could not go on: a sign-in link
// for someone without a usable token, otherwise what went wrong.
func (c *Conversation) forDialog(ctx context.Context, t *bot.Turn, err error) bot.InvokeResponse {
	c.forgetRefusedTokens(ctx, t.User.Key(), err)
	f := classify(err)
	if f.mustSignIn() {
		return c.composeAuth(ctx, t)
	}
	if f.kind == failUnexpected {
		c.Log.ErrorContext(ctx, "a message action failed", "error", err)
	}
	_, said := f.forCard()
	return bot.TaskMessage(said)
}

// forDialogForm answers a form ServiceNow did not take: the form again, with what
// was typed and why, or a sign-in link. unanswered, when not empty, is what
// to say when the form's write may have been done all the same.
func (c *Conversation) forDialogForm(ctx context.Context, r actionRun, err error, again func(note string) actionResult, unanswered string) actionResult {
	c.forgetRefusedTokens(ctx, r.t.User.Key(), err)
	f := classify(err)
	switch {
	case f.mustSignIn():
		return actionResult{response: c.composeAuth(ctx, r.t)}
	case f.kind == failUnexpected:
		c.Log.ErrorContext(ctx, "a message action failed", "error", err)
	case f.mayHaveGoneThrough():
		c.Log.WarnContext(ctx, "ServiceNow not answering", "error", err)
		if unanswered == "" {
			unanswered = notAnswering + " Check ServiceNow before you send it again: it may have been done."
		}
		return again(unanswered)
	}
	_, said := f.forCard()
	return again(said)
}

// forChannel answers a channel command whose ServiceNow work failed: in
// the channel, without anyone's data; a sign-in card goes to the person's 1:1
// chat, and the command is resumed in the channel once they signed in.
func (c *Conversation) forChannel(ctx context.Context, t *bot.Turn, err error, again resume) error {
	c.forgetRefusedTokens(ctx, t.User.Key(), err)
	f := classify(err)
	switch {
	case f.mustSignIn():
		private, perr := t.Privately(ctx)
		if perr != nil {
			c.Log.WarnContext(ctx, "the 1:1 chat could not be opened", "error", perr)
			return c.reply(ctx, t, bot.Text(oneToOneOnly))
		}
		channel := t.Reference()
		channel.ActivityID = ""
		again.Ref = &channel
		resumeJSON, _ := json.Marshal(again)
		url, serr := c.Auth.StartSignIn(ctx, t.User.Key(), resumeJSON)
		if serr != nil {
			return c.answerFailure(ctx, t, serr, again)
		}
		if err := c.reply(ctx, private, cardMessage(cards.SignIn(reasonFirstTime, url))); err != nil {
			return err
		}
		return c.reply(ctx, t, bot.Text("Sign in to ServiceNow first: I sent you a card in our 1:1 chat, and I'll finish this here once you're in."))
	case f.kind == failBadFilter:
		return c.reply(ctx, t, bot.Text("I can't use that filter: "+f.detail+"."))
	case f.refusedByServiceNow():
		return c.reply(ctx, t, bot.Text("ServiceNow refused that filter: “"+f.quote+"”."))
	case f.brief() != "":
		return c.reply(ctx, t, bot.Text(f.brief()))
	}
	c.Log.ErrorContext(ctx, "a channel command failed", "error", err)
	return c.reply(ctx, t, bot.Text(somethingWentWrong))
}

// forTypeahead is the one line a form's typeahead shows instead of choices.
func (c *Conversation) forTypeahead(ctx context.Context, t *bot.Turn, err error) bot.InvokeResponse {
	c.forgetRefusedTokens(ctx, t.User.Key(), err)
	f := classify(err)
	if f.kind == failUnexpected {
		c.Log.ErrorContext(ctx, "a typeahead failed", "error", err)
	}
	_, said := f.forCard()
	return bot.SearchError(said)
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
