-- A session's tenant and app are rows every login of that tenant and app shares. Their
-- foreign keys locked both rows (FOR KEY SHARE) at each session insert: concurrent logins
-- then share the locks through a MultiXact per overlapping set, and every login paid two
-- checks for rows that are never deleted (tenants and apps are disabled, not removed).
-- The user's key, a row no two logins contend on as a rule, stays.
ALTER TABLE sessions DROP CONSTRAINT sessions_tenant_id_fkey,
                     DROP CONSTRAINT sessions_app_id_fkey;
