-- Give run-time settings new values for the rest of the open transaction only (SET LOCAL) and
-- return the values they had, in the order of :names, so the same statement can put them back.
-- Each row reads its setting before it changes it (a row's columns are computed in order).
SELECT current_setting(s.name) AS previous, set_config(s.name, s.setting, true) AS current
FROM unnest(CAST(:names AS text[]), CAST(:settings AS text[]))
    WITH ORDINALITY AS s(name, setting, position)
ORDER BY s.position
