package auth

import (
	"context"
	"fmt"

	"golang.org/x/oauth2"
)

// ProbeResult is what ServiceNow's token endpoint says of the client credentials.
type ProbeResult int

const (
	// CredentialsAccepted: the endpoint refused only the (deliberately invalid) code.
	CredentialsAccepted ProbeResult = iota
	// CredentialsRefused: the endpoint refused the client itself.
	CredentialsRefused
	// Unexpected: the endpoint answered in a way that says nothing about the credentials.
	Unexpected
)

// probeCode is an authorization code no instance ever issued.
const probeCode = "snowbot-doctor-probe-not-a-real-code"

// ProbeClientCredentials exchanges a deliberately invalid authorization code
// with the client credentials sent the given way ("body" or "basic"). An
// instance refuses an unknown code with invalid_grant only after it accepted
// the client; it refuses bad or misplaced credentials with invalid_client (or
// server_error/access_denied, with HTTP 401). No user and no token is involved.
func ProbeClientCredentials(ctx context.Context, cfg Config, clientAuth string) (ProbeResult, string, error) {
	cfg.ClientAuth = clientAuth
	oc := OAuthConfig(cfg)
	if cfg.HTTPClient != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, cfg.HTTPClient)
	}
	_, err := oc.Exchange(ctx, probeCode)
	if err == nil {
		return Unexpected, "the instance issued tokens for an invalid code", nil
	}
	te, ok := TokenErrorOf(err)
	if !ok {
		if MissingAccessToken(err) {
			return Unexpected, "the token endpoint answered without an error and without a token (a login page or a proxy?)", nil
		}
		return Unexpected, "", fmt.Errorf("ServiceNow's token endpoint %s cannot be reached: %w", oc.Endpoint.TokenURL, scrubURLError(err))
	}
	detail := fmt.Sprintf("HTTP %d %s %s", te.Status, te.Code, te.Description)
	switch {
	case te.Code == "invalid_grant":
		return CredentialsAccepted, detail, nil
	case te.Code == "invalid_client", te.Code == "unauthorized_client",
		te.Status == 401 && te.Code == "server_error":
		return CredentialsRefused, detail, nil
	case te.Code == "":
		return Unexpected, fmt.Sprintf("HTTP %d without an OAuth error: is SERVICENOW_INSTANCE_URL the instance itself?", te.Status), nil
	}
	return Unexpected, detail, nil
}
