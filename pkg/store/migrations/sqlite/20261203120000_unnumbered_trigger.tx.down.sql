-- Nothing to restore: the trigger and index belonged to development builds.
SELECT 1
