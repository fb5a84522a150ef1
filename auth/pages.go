package auth

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
)

// TeamsJSVersion is the version of Microsoft's Teams JavaScript client library
// (npm @microsoft/teams-js) vendored in static/: served by the bot itself, so
// the page runs no script from anywhere else. The page works without it: the
// code stays readable and can be typed in the chat.
const TeamsJSVersion = "2.58.0"

//go:embed static
var static embed.FS

// CallbackPath, ScriptPath and TeamsJSPath are where the handlers are mounted.
const (
	CallbackPath = "/auth/callback"
	ScriptPath   = "/auth/signin.js"
	TeamsJSPath  = "/static/teams-js/" + TeamsJSVersion + "/MicrosoftTeams.min.js"
)

// StaticHandler serves the vendored files under /static/. Their paths carry
// their version, so they may be cached for good.
func StaticHandler() http.Handler {
	root, _ := fs.Sub(static, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(root))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}

// CallbackHandler serves GET /auth/callback: ServiceNow's redirect after the
// user allowed (or declined) access.
func (s *Service) CallbackHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		q := r.URL.Query()
		p, err := s.takePending(ctx, q.Get("state"))
		if err != nil {
			s.cfg.Log.WarnContext(ctx, "sign-in callback refused", "reason", err.Error())
			status := http.StatusBadRequest
			if !isStateError(err) {
				status = http.StatusServiceUnavailable
			}
			renderError(w, status, explainState(err))
			return
		}
		if code := q.Get("error"); code != "" {
			s.cfg.Log.InfoContext(ctx, "ServiceNow sent the user back with an error", "error", code)
			renderError(w, http.StatusOK, ExplainAuthorizeError(code, q.Get("error_description"), s.cfg.RedirectURL))
			return
		}
		if q.Get("code") == "" {
			renderError(w, http.StatusBadRequest, Explanation{
				Title: "ServiceNow sent you back without a sign-in code.",
				Fix:   "Type your command in Teams again for a new sign-in card.",
			})
			return
		}
		code, err := s.exchange(ctx, p, q.Get("code"))
		if err != nil {
			s.cfg.Log.WarnContext(ctx, "authorization code exchange failed", "error", describeTokenError(err))
			renderError(w, http.StatusBadGateway, ExplainTokenError(err, s.cfg.RedirectURL))
			return
		}
		s.cfg.Log.InfoContext(ctx, "authorization code exchanged; waiting for the verification code")
		setPageHeaders(w)
		w.WriteHeader(http.StatusOK)
		_ = successPage.Execute(w, map[string]string{"Code": code, "TeamsJS": TeamsJSPath, "Script": ScriptPath})
	})
}

// ScriptHandler serves the page's script: inside Teams' sign-in pop-up it hands
// the code to Teams, which then sends the signin/verifyState invoke.
func ScriptHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write([]byte(signinScript))
	})
}

const signinScript = `(function () {
  var el = document.getElementById("code");
  if (!el || !window.microsoftTeams) { return; }
  var code = el.getAttribute("data-code");
  window.microsoftTeams.app.initialize().then(function () {
    window.microsoftTeams.authentication.notifySuccess(code);
  }).catch(function () { /* not inside Teams: the code is typed by hand */ });
})();
`

func isStateError(err error) bool {
	return errors.Is(err, errStateInvalid) || errors.Is(err, errStateExpired) || errors.Is(err, errStateUsed)
}

func explainState(err error) Explanation {
	switch {
	case errors.Is(err, errStateExpired):
		return Explanation{Title: "This sign-in link has expired (links work for 10 minutes).", Fix: "Go back to Teams and type your command again for a new sign-in card."}
	case errors.Is(err, errStateUsed):
		return Explanation{Title: "This sign-in link was already used.", Fix: "Each link works once. Go back to Teams: if you are not signed in yet, type your command again for a new sign-in card."}
	case errors.Is(err, errStateInvalid):
		return Explanation{Title: "This sign-in link is not one snowbot made.", Fix: "Go back to Teams and type your command again: snowbot answers with a new sign-in card."}
	}
	return Explanation{Title: "snowbot cannot finish sign-ins right now.", Fix: "Wait a moment, then type your command in Teams again."}
}

func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
}

func renderError(w http.ResponseWriter, status int, e Explanation) {
	setPageHeaders(w)
	w.WriteHeader(status)
	_ = errorPage.Execute(w, e)
}

const pageStyle = `<style>
body{font-family:"Segoe UI",system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#242424;line-height:1.5}
h1{font-size:1.4rem}
.code{font:600 2.6rem/1.2 ui-monospace,Consolas,monospace;letter-spacing:.3rem;background:#f0f0f0;border-radius:8px;padding:.6rem 1rem;display:inline-block}
.note{color:#616161;font-size:.9rem}
code{background:#f0f0f0;padding:0 .2rem;border-radius:3px}
</style>`

var successPage = template.Must(template.New("success").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>snowbot: your sign-in code</title>` + pageStyle + `</head>
<body>
<h1>Almost done: type this code in your chat with snowbot</h1>
<p id="code" class="code" data-code="{{.Code}}">{{.Code}}</p>
<p>Go back to Microsoft Teams and send this code to snowbot. It works once, for 10 minutes, and only for the Teams account that asked to sign in.</p>
<p class="note">If you did not start this sign-in yourself from your own chat with snowbot, close this page and do not type or share the code.</p>
<script src="{{.TeamsJS}}"></script>
<script src="{{.Script}}"></script>
</body></html>
`))

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>snowbot: sign-in did not complete</title>` + pageStyle + `</head>
<body>
<h1>Sign-in did not complete</h1>
<p><strong>{{.Title}}</strong></p>
<p>{{.Fix}}</p>
{{if .Admin}}<h2>For your administrator</h2><p>{{.Admin}}</p>{{end}}
{{if .Raw}}<p class="note">ServiceNow answered: <code>{{.Raw}}</code></p>{{end}}
</body></html>
`))
