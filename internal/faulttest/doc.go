// Package faulttest holds the fault suite: stepsd killed, restarted,
// severed from its database and stopped under load, checked through
// pkg/client for records lost or stored twice. It has no code of its own
// beyond the tests.
package faulttest
