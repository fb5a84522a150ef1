package pages

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

func TestExplainTokenError(t *testing.T) {
	mk := func(status int, code, desc string) error {
		return &oauth2.RetrieveError{Response: &http.Response{StatusCode: status}, ErrorCode: code, ErrorDescription: desc}
	}
	cases := []struct {
		err  error
		want string
	}{
		{mk(401, "invalid_client", "x"), "SERVICENOW_CLIENT_AUTH=basic"},
		{mk(401, "server_error", "access_denied"), "SERVICENOW_CLIENT_AUTH"},
		{mk(400, "invalid_grant", "x"), "https://bot.example/auth/callback"},
		{mk(400, "invalid_request", "Invalid redirect_uri"), "https://bot.example/auth/callback"},
		{mk(400, "invalid_request", "Missing parameters: client_secret"), "Missing parameters: client_secret"},
		{errors.New("oauth2: server response missing access_token"), "SERVICENOW_INSTANCE_URL"},
	}
	for _, c := range cases {
		e := ExplainTokenError(c.err, "https://bot.example/auth/callback")
		if !strings.Contains(e.Title+e.Fix+e.Admin, c.want) {
			t.Errorf("%v explained as %+v", c.err, e)
		}
	}
}
