package auth

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// signIns counts sign-ins by stage: started (a sign-in link made),
// exchanged (ServiceNow's redirect came back and the code was exchanged),
// completed (the person's code bound the tokens), failed (a redirect or a
// code that did not lead anywhere).
var signIns, _ = otel.Meter("snowbot/auth").Int64Counter("snowbot.signins", metric.WithUnit("{signin}"),
	metric.WithDescription("Sign-ins to ServiceNow by stage: started, exchanged, completed, failed."))

var (
	stageStarted   = metric.WithAttributeSet(attribute.NewSet(attribute.String("snowbot.signin.stage", "started")))
	stageExchanged = metric.WithAttributeSet(attribute.NewSet(attribute.String("snowbot.signin.stage", "exchanged")))
	stageCompleted = metric.WithAttributeSet(attribute.NewSet(attribute.String("snowbot.signin.stage", "completed")))
	stageFailed    = metric.WithAttributeSet(attribute.NewSet(attribute.String("snowbot.signin.stage", "failed")))
)

func countSignIn(ctx context.Context, stage metric.AddOption) { signIns.Add(ctx, 1, stage) }
