DROP INDEX IF EXISTS deployments_version
