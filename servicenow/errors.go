package servicenow

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"
)

// Kinds of failure, for errors.Is.
var (
	ErrUnauthorized = errors.New("ServiceNow did not accept the token")
	ErrForbidden    = errors.New("ServiceNow refused the action for this account")
	ErrNotFound     = errors.New("no such record")
	ErrRateLimited  = errors.New("ServiceNow asks to slow down")
	ErrUnavailable  = errors.New("ServiceNow is not answering")
	ErrRejected     = errors.New("ServiceNow rejected the request")
	// ErrUnreadable is a success answer that is not the JSON asked for: a login,
	// single sign-on or maintenance page in front of the instance.
	ErrUnreadable = errors.New("ServiceNow answered with something other than data")
)

// Error is ServiceNow's answer to a failed call:
// {"error":{"message":…,"detail":…},"status":"failure"}.
type Error struct {
	Status     int
	Message    string
	Detail     string
	RetryAfter time.Duration // from Retry-After, on 429
	Unreadable bool          // the body was not the JSON asked for
}

func (e *Error) Error() string {
	s := fmt.Sprintf("ServiceNow answered HTTP %d", e.Status)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// Is maps the status to a kind of failure.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnreadable:
		return e.Unreadable
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrUnavailable:
		return e.Status >= 500
	case ErrRejected:
		return e.Status == http.StatusBadRequest
	}
	return false
}

func parseError(resp *resty.Response) *Error {
	e := &Error{Status: resp.StatusCode()}
	var body struct {
		Error struct {
			Message string `json:"message"`
			Detail  string `json:"detail"`
		} `json:"error"`
	}
	if json.Unmarshal(resp.Body(), &body) == nil {
		e.Message, e.Detail = strings.TrimSpace(body.Error.Message), strings.TrimSpace(body.Error.Detail)
	}
	if e.Message == "" {
		e.Message = http.StatusText(e.Status)
	}
	if v := resp.Header().Get("Retry-After"); v != "" {
		if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && secs >= 0 {
			e.RetryAfter = time.Duration(secs) * time.Second
		} else if t, err := http.ParseTime(v); err == nil {
			e.RetryAfter = time.Until(t)
		}
	}
	return e
}
