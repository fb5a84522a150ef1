// Package pages renders every web page snowbot shows people: the page
// ServiceNow sends them back to after signing in (the verification code, or
// what went wrong and how to fix it), and the privacy statement and terms the
// Teams app package links to. One stylesheet, one Content-Security-Policy, one
// template set; the only scripts are the bot's own files in static/, Microsoft's
// Teams library among them.
package pages

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
)

// TeamsJSVersion is the version of Microsoft's Teams JavaScript library (npm
// @microsoft/teams-js) vendored in static/, byte for byte as the npm package
// ships it: the sign-in page loads no script from anywhere else.
const TeamsJSVersion = "2.58.0"

// Where the handlers are mounted.
const (
	StaticPath  = "/static/"
	ScriptPath  = "/auth/signin.js"
	TeamsJSPath = StaticPath + "teams-js/" + TeamsJSVersion + "/MicrosoftTeams.min.js"
)

// csp lets a page run only the bot's own scripts and load nothing else.
const csp = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

var (
	//go:embed templates
	templateFiles embed.FS
	//go:embed static
	staticFiles embed.FS
)

// page is one template of the set, each in the same layout.
func page(name string) *template.Template {
	return template.Must(template.ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html"))
}

var (
	codePage    = page("code")
	problemPage = page("problem")
	infoPage    = page("info")
)

// render writes a page with the headers every page carries.
func render(w http.ResponseWriter, status int, t *template.Template, data any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", csp)
	w.WriteHeader(status)
	_ = t.ExecuteTemplate(w, "layout", data)
}

// Static serves the vendored files under StaticPath. Their paths carry their
// version, so they may be cached for good.
func Static() http.Handler {
	root, _ := fs.Sub(staticFiles, "static")
	files := http.StripPrefix(StaticPath, http.FileServerFS(root))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}

// Script serves the sign-in page's own script.
func Script() http.Handler {
	js, _ := staticFiles.ReadFile("static/signin.js")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(js)
	})
}
