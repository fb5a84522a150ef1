package bot

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"snowbot/bot/connector"
)

// What a failed notification means: never for a chat that is gone, a tenant
// not allowed or an activity the channel refuses; later, after the channel's
// Retry-After, for throttling and the channel's own failures.
func TestSendFailureSaysWhetherToTryAgain(t *testing.T) {
	cases := []struct {
		err   error
		final bool
		after time.Duration
	}{
		{fmt.Errorf("%w: x", ErrConversationGone), true, 0},
		{ErrTenantNotAllowed, true, 0},
		{&connector.HTTPError{Status: http.StatusBadRequest}, true, 0},
		{&connector.HTTPError{Status: http.StatusTooManyRequests, RetryAfter: 20 * time.Second}, false, 20 * time.Second},
		{fmt.Errorf("%w: %w", connector.ErrNotDelivered, &connector.HTTPError{Status: http.StatusServiceUnavailable}), false, 0},
		{&connector.HTTPError{Status: http.StatusUnauthorized}, false, 0},
		{errors.New("connection refused"), false, 0},
	}
	for _, c := range cases {
		if final, after := SendFailure(c.err); final != c.final || after != c.after {
			t.Errorf("SendFailure(%v) = %v, %s; want %v, %s", c.err, final, after, c.final, c.after)
		}
	}
}
