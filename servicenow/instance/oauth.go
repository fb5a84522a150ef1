package instance

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// authorize is oauth_auth.do: the person is logged in to the instance as
// BrowserUser and consents (at once, or on a consent page).
func (s *Instance) authorize(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	q := r.Form

	s.mu.Lock()
	clientID, registered, consentPage, browserUser := s.ClientID, s.RedirectURI, s.ConsentPage, s.BrowserUser
	s.mu.Unlock()

	// Problems with the client or the redirect URI are shown on the instance,
	// never redirected to an unverified URL.
	redirect := q.Get("redirect_uri")
	if q.Get("client_id") != clientID {
		page(w, http.StatusBadRequest, "OAuth error", "Invalid client_id: "+q.Get("client_id"))
		return
	}
	if u, err := url.Parse(redirect); redirect == "" || err != nil || !u.IsAbs() {
		page(w, http.StatusBadRequest, "OAuth error", "Invalid redirect_uri")
		return
	}
	if registered != "" && redirect != registered {
		page(w, http.StatusBadRequest, "OAuth error", "Invalid redirect_uri: "+redirect+" does not match the Application Registry entry")
		return
	}
	back := func(params url.Values) {
		u, _ := url.Parse(redirect)
		v := u.Query()
		for k, vals := range params {
			v[k] = vals
		}
		if st := q.Get("state"); st != "" {
			v.Set("state", st)
		}
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	if q.Get("response_type") != "code" {
		back(url.Values{"error": {"unsupported_response_type"}, "error_description": {"Only the code response type is supported"}})
		return
	}
	if m := q.Get("code_challenge_method"); q.Get("code_challenge") != "" && m != "S256" && m != "plain" {
		back(url.Values{"error": {"invalid_request"}, "error_description": {"Unsupported code_challenge_method"}})
		return
	}
	if consentPage && r.Method == http.MethodGet {
		s.consent(w, q, browserUser)
		return
	}
	if consentPage && q.Get("decision") != "allow" {
		back(url.Values{"error": {"access_denied"}, "error_description": {"User denied access"}})
		return
	}
	user := s.findUser(browserUser)
	if user == nil {
		page(w, http.StatusUnauthorized, "Not logged in", "No user "+browserUser)
		return
	}
	code := randomHex(16)
	s.mu.Lock()
	s.codes[code] = &authCode{
		clientID: q.Get("client_id"), redirectURI: redirect, user: user.SysID,
		challenge: q.Get("code_challenge"), method: q.Get("code_challenge_method"),
		expires: time.Now().Add(time.Minute),
	}
	s.issuedLog = append(s.issuedLog, code)
	s.mu.Unlock()
	back(url.Values{"code": {code}})
}

var consentTemplate = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ServiceNow (demo): allow snowbot?</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem}</style></head>
<body>
<h1>Allow snowbot to use your ServiceNow account?</h1>
<p>You are logged in to this demo ServiceNow instance as <strong>{{.Name}}</strong> ({{.UserName}}).</p>
<p>snowbot will see and change incidents as you.</p>
<form method="post" action="/oauth_auth.do">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<button type="submit" name="decision" value="allow" id="allow">Allow</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>
</body></html>`))

func (s *Instance) consent(w http.ResponseWriter, q url.Values, browserUser string) {
	u := s.findUser(browserUser)
	if u == nil {
		page(w, http.StatusUnauthorized, "Not logged in", "No user "+browserUser)
		return
	}
	params := map[string]string{}
	for _, k := range []string{"response_type", "client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method", "scope"} {
		if v := q.Get(k); v != "" {
			params[k] = v
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = consentTemplate.Execute(w, map[string]any{"Name": u.Name, "UserName": u.UserName, "Params": params})
}

func page(w http.ResponseWriter, status int, title, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><title>%s</title><h1>%s</h1><p>%s</p>", htmlEscape(title), htmlEscape(title), htmlEscape(msg))
}

// tokenError is ServiceNow's OAuth error body.
func tokenError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// clientAuthenticated checks the client credentials where this instance expects them.
func (s *Instance) clientAuthenticated(r *http.Request, form url.Values) bool {
	s.mu.Lock()
	id, secret, mode := s.ClientID, s.ClientSecret, s.ClientAuth
	s.mu.Unlock()
	var gotID, gotSecret string
	if mode == "basic" {
		u, p, ok := r.BasicAuth()
		if !ok {
			return false
		}
		gotID, _ = url.QueryUnescape(u)
		gotSecret, _ = url.QueryUnescape(p)
	} else {
		gotID, gotSecret = form.Get("client_id"), form.Get("client_secret")
	}
	return subtle.ConstantTimeCompare([]byte(gotID), []byte(id)) == 1 &&
		subtle.ConstantTimeCompare([]byte(gotSecret), []byte(secret)) == 1
}

// readForm accepts only a form-encoded POST, as ServiceNow does.
func readForm(r *http.Request) (url.Values, bool) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		_, _ = io.Copy(io.Discard, r.Body)
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		return nil, false
	}
	form, err := url.ParseQuery(string(body))
	return form, err == nil
}

// token is oauth_token.do.
func (s *Instance) token(w http.ResponseWriter, r *http.Request) {
	form, ok := readForm(r)
	fail := func(st int, code, desc string) { tokenError(w, st, code, desc) }
	if !ok {
		// ServiceNow's answer to a JSON (or otherwise unreadable) token request.
		fail(http.StatusUnauthorized, "server_error", "access_denied")
		return
	}
	var missing []string
	if form.Get("grant_type") == "" {
		missing = append(missing, "grant_type")
	}
	switch form.Get("grant_type") {
	case "authorization_code":
		for _, p := range []string{"code", "redirect_uri"} {
			if form.Get(p) == "" {
				missing = append(missing, p)
			}
		}
	case "refresh_token":
		if form.Get("refresh_token") == "" {
			missing = append(missing, "refresh_token")
		}
	}
	if len(missing) > 0 {
		fail(http.StatusBadRequest, "invalid_request", "Missing parameters: "+strings.Join(missing, ", "))
		return
	}
	if !s.clientAuthenticated(r, form) {
		fail(http.StatusUnauthorized, "invalid_client", "Client authentication failed")
		return
	}
	switch form.Get("grant_type") {
	case "authorization_code":
		s.mu.Lock()
		c := s.codes[form.Get("code")]
		delete(s.codes, form.Get("code")) // a code is used once, even when the exchange fails
		s.mu.Unlock()
		switch {
		case c == nil || time.Now().After(c.expires):
			fail(http.StatusBadRequest, "invalid_grant", "Invalid or expired authorization code")
		case c.redirectURI != form.Get("redirect_uri"):
			fail(http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request")
		case c.challenge != "" && !pkceMatches(c.challenge, c.method, form.Get("code_verifier")):
			fail(http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
		default:
			s.issue(w, c.user, "")
		}
	case "refresh_token":
		s.mu.Lock()
		g := s.refresh[form.Get("refresh_token")]
		s.mu.Unlock()
		if g == nil || time.Now().After(g.expires) {
			fail(http.StatusUnauthorized, "server_error", "access_denied")
			return
		}
		s.issue(w, g.user, form.Get("refresh_token"))
	default:
		fail(http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant type: "+form.Get("grant_type"))
	}
}

func pkceMatches(challenge, method, verifier string) bool {
	if verifier == "" {
		return false
	}
	if method == "plain" {
		return verifier == challenge
	}
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:]) == challenge
}

// issue answers a token request with new tokens for user. For a refresh, the
// old refresh token stays valid unless RotateRefresh is set.
func (s *Instance) issue(w http.ResponseWriter, user, oldRefresh string) {
	s.mu.Lock()
	access := randomHex(24)
	refresh := oldRefresh
	if refresh == "" || s.RotateRefresh {
		refresh = randomHex(24)
		s.refresh[refresh] = &grant{user: user, expires: time.Now().Add(100 * 24 * time.Hour)}
		s.issuedLog = append(s.issuedLog, refresh)
		if oldRefresh != "" {
			delete(s.refresh, oldRefresh)
		}
	}
	s.access[access] = &grant{user: user, refresh: refresh, expires: time.Now().Add(s.AccessTTL)}
	s.issuedLog = append(s.issuedLog, access)
	ttl := int(s.AccessTTL / time.Second)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":  access,
		"refresh_token": refresh,
		"scope":         "useraccount",
		"token_type":    "Bearer",
		"expires_in":    ttl,
	})
}

// revoke is oauth_revoke_token.do: it revokes an access or refresh token.
func (s *Instance) revoke(w http.ResponseWriter, r *http.Request) {
	form, ok := readForm(r)
	if !ok {
		tokenError(w, http.StatusUnauthorized, "server_error", "access_denied")
		return
	}
	if form.Get("token") == "" {
		tokenError(w, http.StatusBadRequest, "invalid_request", "Missing parameters: token")
		return
	}
	if !s.clientAuthenticated(r, form) {
		tokenError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed")
		return
	}
	tok := form.Get("token")
	s.mu.Lock()
	if _, ok := s.refresh[tok]; ok {
		delete(s.refresh, tok)
		for a, g := range s.access {
			if g.refresh == tok {
				delete(s.access, a)
			}
		}
	}
	delete(s.access, tok)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{})
}

// bearerUser returns the user of a request's valid access token.
func (s *Instance) bearerUser(r *http.Request) *User {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil
	}
	return s.UserOfToken(tok)
}

// UserOfToken returns the user of a valid access token, or nil.
func (s *Instance) UserOfToken(tok string) *User {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.access[tok]
	if g == nil || time.Now().After(g.expires) {
		return nil
	}
	return s.userByID(g.user)
}
