-- Alerts with a false-alarm budget (docs/alerts.md).

-- Each episode keeps the exact test's p-value of the window that fired. NULL for episodes
-- fired before this migration.
ALTER TABLE cjm.alerts ADD COLUMN p_value double precision;

-- A give-up flagged after a silence is now counted in the minute the customer fell silent
-- (the moment's last_seen), no longer in the minute it was detected: move the stored ones,
-- so that counts from before and after the upgrade agree (the detector judges both).
-- Expiries stay where they are.
CREATE TEMP TABLE moved_give_ups ON COMMIT DROP AS
SELECT journey, stage_index, stage, date_trunc('minute', detected_at) AS detected_minute,
       date_trunc('minute', last_seen) AS silent_minute
FROM cjm.critical_moments
WHERE reason = 'inactive' AND date_trunc('minute', detected_at) <> date_trunc('minute', last_seen);

UPDATE cjm.stage_decisions d SET abandoned = d.abandoned - m.n
FROM (SELECT journey, stage_index, detected_minute, count(*) AS n FROM moved_give_ups GROUP BY 1, 2, 3) m
WHERE d.journey = m.journey AND d.stage_index = m.stage_index AND d.minute = m.detected_minute;

INSERT INTO cjm.stage_decisions AS d (journey, stage_index, stage, minute, abandoned, advanced)
SELECT journey, stage_index, min(stage), silent_minute, count(*), 0
FROM moved_give_ups GROUP BY journey, stage_index, silent_minute
ON CONFLICT (journey, stage_index, minute) DO UPDATE SET abandoned = d.abandoned + EXCLUDED.abandoned;
