-- Alerts with a false-alarm budget (docs/alerts.md): each episode keeps the exact test's
-- p-value of the window that fired. NULL for episodes fired before this migration.
ALTER TABLE cjm.alerts ADD COLUMN p_value double precision;
