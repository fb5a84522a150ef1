package bot

// This file is the telemetry of turns: a span for each activity or invoke the
// bot answers (its kind, the command or invoke, its outcome; never its text or
// who sent it), and the turns' count and duration.

import (
	"context"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"snowbot/telemetry/attrs"
)

var (
	tracer        = otel.Tracer("snowbot/bot")
	meter         = otel.Meter("snowbot/bot")
	turnCount, _  = meter.Int64Counter("snowbot.turns", metric.WithUnit("{turn}"), metric.WithDescription("Activities and invokes answered, by kind and outcome."))
	turnLength, _ = meter.Float64Histogram("snowbot.turn.duration", metric.WithUnit("s"), metric.WithDescription("From an activity's arrival to the end of its answer, including the work after the 200."))
)

// Attributes of a turn.
const (
	attrKind    = attribute.Key("snowbot.turn.kind")    // message, invoke, conversationUpdate, …
	attrInvoke  = attribute.Key("snowbot.invoke.name")  // adaptiveCard/action, composeExtension/query, …
	attrOutcome = attribute.Key("snowbot.turn.outcome") // ok, error, panic
	attrScope   = attribute.Key("snowbot.conversation.type")
	// AttrCommand is the command a turn ran, by its name in the command table.
	AttrCommand = attribute.Key("snowbot.command")
)

// Outcomes of a turn.
const (
	outcomeOK      = "ok"
	outcomeError   = "error"
	outcomePanic   = "panic"
	outcomeRefused = "refused" // a tenant that is not allowed
)

// knownInvokes bounds what the invoke attribute can hold: a name Teams may
// add later is "other", not a new series.
var knownInvokes = map[string]bool{invokeSigninVerifyState: true, invokeAdaptiveCardAction: true, invokeComposeQuery: true,
	invokeComposeQueryLink: true, invokeComposeFetchTask: true, invokeComposeSubmit: true, invokeSearch: true}

// knownKinds are the activity types a turn's kind may name.
var knownKinds = map[string]bool{"message": true, "invoke": true, "conversationUpdate": true, "installationUpdate": true,
	"messageReaction": true, "messageUpdate": true, "messageDelete": true, "typing": true, "event": true}

// startTurn starts the span of a turn (a server span: the one span of the
// request that brought the activity); end records its outcome.
func startTurn(ctx context.Context, a schema.Activity) (context.Context, func(outcome string)) {
	key := turnKey{kind: string(a.Type), scope: conversationType(a)}
	if !knownKinds[key.kind] {
		key.kind = "other" // a type the channel may add later is not a new series
	}
	name := "turn " + key.kind
	if a.Type == schema.Invoke {
		key.invoke = a.Name
		if !knownInvokes[key.invoke] {
			key.invoke = "other"
		}
		name = "invoke " + key.invoke
	}
	start := time.Now()
	ctx, span := tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(turnSets.List(key)...))
	return ctx, func(outcome string) {
		span.SetAttributes(attrOutcome.String(outcome))
		if outcome != outcomeOK {
			span.SetStatus(codes.Error, outcome)
		}
		span.End()
		key.outcome = outcome
		set := metric.WithAttributeSet(turnSets.Of(key))
		turnCount.Add(ctx, 1, set)
		turnLength.Record(ctx, time.Since(start).Seconds(), set)
	}
}

// turnKey is what a turn's metrics are told apart by.
type turnKey struct{ kind, scope, invoke, outcome string }

func (k turnKey) Attributes() []attribute.KeyValue {
	attrs := []attribute.KeyValue{attrKind.String(k.kind), attrScope.String(k.scope)}
	if k.invoke != "" {
		attrs = append(attrs, attrInvoke.String(k.invoke))
	}
	if k.outcome != "" {
		attrs = append(attrs, attrOutcome.String(k.outcome))
	}
	return attrs
}

// turnSets are the turns' attribute sets, made once per key.
var turnSets attrs.Cache[turnKey]

// conversationType is personal, groupChat or channel ("" as personal).
func conversationType(a schema.Activity) string {
	switch a.Conversation.ConversationType {
	case "groupChat", "channel":
		return a.Conversation.ConversationType
	}
	return "personal"
}
