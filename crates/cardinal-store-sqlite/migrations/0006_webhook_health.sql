-- How each subscription's receiver has been doing (cardinal_store::SubscriptionHealth): failed
-- attempts since the last success and since when, the pause of a slowed subscription (its
-- deliveries are not attempted before it) and when it was disabled. Real milliseconds.
ALTER TABLE webhook_subscriptions ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhook_subscriptions ADD COLUMN failing_since_ms INTEGER;
ALTER TABLE webhook_subscriptions ADD COLUMN paused_until_ms INTEGER;
ALTER TABLE webhook_subscriptions ADD COLUMN disabled_at_ms INTEGER;
