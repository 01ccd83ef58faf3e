-- The W3C trace context (shared/tracing.py) of what wrote a row: the relay puts an outbox
-- row's in its Kafka record's headers; the workers continue an effect's or a timer's
-- trace when they make the call or fire it. NULL when nothing traced or carried one.
ALTER TABLE outbox ADD COLUMN traceparent TEXT, ADD COLUMN tracestate TEXT;
ALTER TABLE effects ADD COLUMN traceparent TEXT, ADD COLUMN tracestate TEXT;
ALTER TABLE timers ADD COLUMN traceparent TEXT, ADD COLUMN tracestate TEXT;
