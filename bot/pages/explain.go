package pages

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"snowbot/auth"
)

// Explanation says in plain words what went wrong and what to do.
type Explanation struct {
	Title string // what happened, for the person
	Fix   string // what to do next
	Admin string // for the administrator: the fix in terms of settings
	Raw   string // ServiceNow's own words, quoted (never a token)
}

// ExplainTokenError explains a failed token request at oauth_token.do.
// redirectURL is the URL that must be registered in the Application Registry.
func ExplainTokenError(err error, redirectURL string) Explanation {
	if re, ok := auth.TokenErrorOf(err); ok {
		status := re.Status
		raw := fmt.Sprintf("HTTP %d, error=%q, error_description=%q", status, re.Code, re.Description)
		desc := strings.ToLower(re.Description)
		switch {
		case strings.Contains(desc, "redirect"):
			return Explanation{
				Title: "ServiceNow does not accept snowbot's redirect URL.",
				Fix:   "Ask your ServiceNow administrator to fix the snowbot entry in the Application Registry.",
				Admin: "In System OAuth > Application Registry, set the Redirect URL of the snowbot entry to exactly " + redirectURL + " (it is PUBLIC_BASE_URL + /auth/callback).",
				Raw:   raw,
			}
		case re.Code == "invalid_client" || re.Code == "unauthorized_client":
			return Explanation{
				Title: "ServiceNow did not accept snowbot's client credentials.",
				Fix:   "This is a setup problem, not yours: tell your Teams or ServiceNow administrator.",
				Admin: "Check SERVICENOW_CLIENT_ID and SERVICENOW_CLIENT_SECRET against the Application Registry entry (the secret's value, not its name). If they are right, the instance expects the credentials elsewhere: try SERVICENOW_CLIENT_AUTH=basic (HTTP Basic header) or SERVICENOW_CLIENT_AUTH=body (form fields). snowbot doctor tells which one works.",
				Raw:   raw,
			}
		case re.Code == "server_error" && desc == "access_denied":
			// ServiceNow's answer to a token request it cannot read or does not accept.
			return Explanation{
				Title: "ServiceNow refused the token request (access_denied).",
				Fix:   "This is a setup problem, not yours: tell your Teams or ServiceNow administrator.",
				Admin: "ServiceNow answers server_error/access_denied when the client credentials are wrong or sent where it does not expect them, or the request is not form-encoded. Check SERVICENOW_CLIENT_ID and SERVICENOW_CLIENT_SECRET, try SERVICENOW_CLIENT_AUTH=basic or body, and run snowbot doctor.",
				Raw:   raw,
			}
		case re.Code == "invalid_grant":
			return Explanation{
				Title: "ServiceNow did not accept the sign-in code: it expired, was already used, or was issued for another redirect URL.",
				Fix:   "Go back to Teams and type your command again for a new sign-in card.",
				Admin: "If this keeps happening, make sure the Redirect URL in the Application Registry is exactly " + redirectURL + ", and with SERVICENOW_PKCE=true that the instance supports PKCE (or set SERVICENOW_PKCE=false).",
				Raw:   raw,
			}
		case re.Code == "invalid_request" && strings.Contains(desc, "missing parameters"):
			return Explanation{
				Title: "ServiceNow says the token request lacked parameters.",
				Fix:   "This is a setup problem, not yours: tell your Teams or ServiceNow administrator.",
				Admin: "ServiceNow reported: " + re.Description + ". snowbot sends the code, redirect_uri, grant_type and client credentials form-encoded; if the credentials are named missing, try the other SERVICENOW_CLIENT_AUTH (basic or body).",
				Raw:   raw,
			}
		case status >= 500:
			return Explanation{
				Title: "ServiceNow had an internal error while finishing your sign-in.",
				Fix:   "Wait a moment, then type your command in Teams again.",
				Raw:   raw,
			}
		}
		return Explanation{
			Title: "ServiceNow refused to finish the sign-in.",
			Fix:   "Type your command in Teams again. If it fails again, tell your administrator what ServiceNow answered (below).",
			Admin: "Compare the Application Registry entry with SERVICENOW_CLIENT_ID, SERVICENOW_CLIENT_SECRET, SERVICENOW_CLIENT_AUTH and the redirect URL " + redirectURL + "; snowbot doctor checks them.",
			Raw:   raw,
		}
	}
	if auth.MissingAccessToken(err) {
		return Explanation{
			Title: "ServiceNow answered, but without an access token.",
			Fix:   "This is a setup problem, not yours: tell your Teams or ServiceNow administrator.",
			Admin: "The token endpoint returned a success without access_token: usually a login or error page instead of a token (check SERVICENOW_INSTANCE_URL points at the instance itself, not a proxy or SSO page), or an OAuth entity that is not an authorization-code client.",
			Raw:   err.Error(),
		}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return Explanation{
			Title: "snowbot could not reach ServiceNow to finish your sign-in.",
			Fix:   "Wait a moment, then type your command in Teams again.",
			Admin: "Check that the bot can reach SERVICENOW_INSTANCE_URL (network, DNS, proxy).",
		}
	}
	return Explanation{
		Title: "Something went wrong while finishing your sign-in.",
		Fix:   "Type your command in Teams again for a new sign-in card.",
	}
}

// ExplainAuthorizeError explains an error that ServiceNow's authorize page
// sent back in the redirect (?error=…).
func ExplainAuthorizeError(code, description, redirectURL string) Explanation {
	raw := fmt.Sprintf("error=%q, error_description=%q", code, description)
	switch code {
	case "access_denied":
		return Explanation{
			Title: "You declined to let snowbot use your ServiceNow account.",
			Fix:   "Nothing was stored. If that was a mistake, type your command in Teams again and choose Allow.",
			Raw:   raw,
		}
	case "invalid_scope":
		return Explanation{
			Title: "ServiceNow does not know the scope snowbot asked for.",
			Fix:   "This is a setup problem, not yours: tell your administrator.",
			Admin: "Fix SERVICENOW_OAUTH_SCOPE, or leave it empty.",
			Raw:   raw,
		}
	case "unauthorized_client", "invalid_client":
		return Explanation{
			Title: "ServiceNow does not accept snowbot as an OAuth client.",
			Fix:   "This is a setup problem, not yours: tell your administrator.",
			Admin: "Check that SERVICENOW_CLIENT_ID matches an active Application Registry entry with the Redirect URL " + redirectURL + ".",
			Raw:   raw,
		}
	}
	return Explanation{
		Title: "ServiceNow stopped the sign-in.",
		Fix:   "Type your command in Teams again. If it fails again, tell your administrator what ServiceNow answered (below).",
		Admin: "Check the Application Registry entry and its Redirect URL " + redirectURL + ".",
		Raw:   raw,
	}
}

// explainCallback explains every way a callback can fail.
func explainCallback(err error, redirectURL string) Explanation {
	var ae *auth.AuthorizeError
	switch {
	case errors.Is(err, auth.ErrStateExpired):
		return Explanation{Title: "This sign-in link has expired (links work for 10 minutes).", Fix: "Go back to Teams and type your command again for a new sign-in card."}
	case errors.Is(err, auth.ErrStateUsed):
		return Explanation{Title: "This sign-in link was already used.", Fix: "Each link works once. Go back to Teams: if you are not signed in yet, type your command again for a new sign-in card."}
	case errors.Is(err, auth.ErrStateInvalid):
		return Explanation{Title: "This sign-in link is not one snowbot made.", Fix: "Go back to Teams and type your command again: snowbot answers with a new sign-in card."}
	case errors.Is(err, auth.ErrUnavailable):
		return Explanation{Title: "snowbot cannot finish sign-ins right now.", Fix: "Wait a moment, then type your command in Teams again."}
	case errors.As(err, &ae):
		return ExplainAuthorizeError(ae.Code, ae.Description, redirectURL)
	case errors.Is(err, auth.ErrNoCode):
		return Explanation{Title: "ServiceNow sent you back without a sign-in code.", Fix: "Type your command in Teams again for a new sign-in card."}
	}
	return ExplainTokenError(err, redirectURL)
}
