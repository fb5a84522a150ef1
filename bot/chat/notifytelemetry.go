package chat

// This file is the telemetry of notifications: a span for each batch and
// each recipient's delivery (the table and the outcome, never who), the
// deliveries by outcome, and the queue's depth and oldest age as gauges.

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

var (
	tracer           = otel.Tracer("snowbot/chat")
	meter            = otel.Meter("snowbot/chat")
	deliveryCount, _ = meter.Int64Counter("snowbot.notifications.deliveries", metric.WithUnit("{delivery}"),
		metric.WithDescription("Notifications to one person or channel, by outcome: sent, final (never will be: not signed in, no rights, muted), retry (tried again later)."))
	queueDepth, _ = meter.Int64ObservableGauge("snowbot.notifications.queue.depth", metric.WithUnit("{batch}"),
		metric.WithDescription("Batches of change events waiting in the notification queue."))
	queueAge, _ = meter.Float64ObservableGauge("snowbot.notifications.queue.oldest_age", metric.WithUnit("s"),
		metric.WithDescription("How long the oldest waiting batch has been due: the queue's lag."))
	attrRecipient = attribute.Key("snowbot.notification.recipient") // person or channel
	attrTable     = attribute.Key("servicenow.table")
	attrOutcome   = attribute.Key("snowbot.notification.outcome")
)

var outcomeNames = map[delivery]string{told: "sent", neverTold: "final", notYet: "retry"}

// traced runs one recipient's delivery in a span of its own, and counts it.
func traced(ctx context.Context, recipient, table string, work func(ctx context.Context) (delivery, time.Duration)) (delivery, time.Duration) {
	attrs := []attribute.KeyValue{attrRecipient.String(recipient), attrTable.String(table)}
	ctx, span := tracer.Start(ctx, "notify "+recipient, trace.WithAttributes(attrs...))
	d, after := work(ctx)
	outcome := attrOutcome.String(outcomeNames[d])
	span.SetAttributes(outcome)
	span.End()
	deliveryCount.Add(ctx, 1, metric.WithAttributes(append(attrs, outcome)...))
	return d, after
}

// observeQueue reports the queue's depth and lag whenever metrics are
// collected, until the returned function is called.
func (n *Notifier) observeQueue() (stop func()) {
	reg, err := meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		stats, err := n.Queue.Stats(ctx)
		if err != nil {
			return err
		}
		o.ObserveInt64(queueDepth, int64(stats.Batches))
		age := 0.0
		if !stats.OldestDue.IsZero() {
			age = max(time.Since(stats.OldestDue).Seconds(), 0)
		}
		o.ObserveFloat64(queueAge, age)
		return nil
	}, queueDepth, queueAge)
	if err != nil {
		n.Conversation.Log.Warn("the notification queue's gauges are not reported", "error", err)
		return func() {}
	}
	return func() { _ = reg.Unregister() }
}
