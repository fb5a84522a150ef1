package pages

import (
	"errors"
	"net/http"

	"snowbot/auth"
)

// SignIn serves the OAuth redirect URI (auth.CallbackPath): auth checks the
// redirect and exchanges the code, and the page shows the person the
// verification code, or what went wrong and the fix. redirectURL is the
// registered redirect URI, named in explanations for administrators.
func SignIn(s *auth.Service, redirectURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		res := s.Callback(r.Context(), q.Get("state"), q.Get("code"), q.Get("error"), q.Get("error_description"))
		if res.Err == nil {
			render(w, http.StatusOK, codePage, map[string]string{"Code": res.Code, "TeamsJS": TeamsJSPath, "Script": ScriptPath})
			return
		}
		render(w, callbackStatus(res.Err), problemPage, explainCallback(res.Err, redirectURL))
	})
}

// callbackStatus is the HTTP status of a failed callback's page.
func callbackStatus(err error) int {
	var ae *auth.AuthorizeError
	switch {
	case errors.Is(err, auth.ErrStateInvalid), errors.Is(err, auth.ErrStateExpired), errors.Is(err, auth.ErrStateUsed), errors.Is(err, auth.ErrNoCode):
		return http.StatusBadRequest
	case errors.As(err, &ae):
		return http.StatusOK // the person's own choice, or ServiceNow's: the page explains it
	case errors.Is(err, auth.ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusBadGateway // the token exchange with ServiceNow failed
}
