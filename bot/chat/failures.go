package chat

// This file sorts what can go wrong with a person's ServiceNow work, once,
// so that every surface (a chat reply, a card's answer, the compose box, a
// notification) says the same thing about the same failure.

import (
	"context"
	"errors"
	"strings"
	"time"

	"snowbot/auth"
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
)

// failure is a sorted error: its kind, how long ServiceNow asked to wait, and
// ServiceNow's own words (to quote, as text).
type failure struct {
	kind       failureKind
	retryAfter time.Duration
	quote      string
	err        error
}

// classify sorts err.
func classify(err error) failure {
	f := failure{kind: failUnexpected, err: err}
	var snErr *servicenow.Error
	if errors.As(err, &snErr) {
		f.quote = quoteServiceNow(snErr)
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
