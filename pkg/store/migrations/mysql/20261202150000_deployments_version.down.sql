ALTER TABLE deployments DROP KEY deployments_version
