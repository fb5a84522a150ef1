package pages

import "net/http"

// The privacy statement and terms the Teams app package links to by default
// (TEAMS_PRIVACY_URL, TEAMS_TERMS_URL). They describe what this software does;
// an organisation with its own documents points the settings there instead.
type info struct {
	Title      string
	Paragraphs []string
}

var privacy = info{"privacy", []string{
	"snowbot is run by your organisation on its own Azure subscription. It connects Microsoft Teams with your organisation's ServiceNow instance.",
	"When you sign in to ServiceNow from Teams, snowbot keeps your ServiceNow access and refresh tokens, encrypted (AES-256-GCM), under your Teams identity (your tenant ID and Entra object ID). A sign-in that is under way is kept for at most 10 minutes.",
	"snowbot reads and changes ServiceNow records only when you ask it to, as you, with your ServiceNow rights. It does not copy incidents or messages into its own storage, with one exception: when you press a button on one of its cards, it keeps what that press answered for 24 hours, encrypted, so that a second press of the same button is answered the same way instead of changing ServiceNow twice.",
	"Logs hold technical events (times, conversation IDs, errors), never tokens, secrets or sign-in codes.",
	"Type signout in your chat with snowbot to revoke its access at ServiceNow and delete your tokens.",
}}

var terms = info{"terms of use", []string{
	"snowbot is provided by your organisation for work with its ServiceNow instance. Your organisation's policies for ServiceNow and Microsoft Teams apply to everything you do through it.",
	"Everything you do through snowbot is done in ServiceNow as you and recorded in ServiceNow's audit trail like any other change you make.",
	"Questions go to your Teams or ServiceNow administrator.",
}}

// Privacy serves the privacy statement.
func Privacy() http.Handler { return infoHandler(privacy) }

// Terms serves the terms of use.
func Terms() http.Handler { return infoHandler(terms) }

func infoHandler(p info) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { render(w, http.StatusOK, infoPage, p) })
}
