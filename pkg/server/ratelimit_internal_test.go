package server

import "testing"

// TestClientAddr holds the rate limiter's keys: an IPv4 address (also
// mapped into IPv6) and anything unparsable whole, IPv6 by its /64.
func TestClientAddr(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.1:1234":                  "192.0.2.1",
		"192.0.2.1":                       "192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:443":      "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443":      "2001:db8:1:2::/64",
		"[::1]:80":                        "::/64",
		"[::ffff:192.0.2.1]:80":           "::ffff:192.0.2.1",
		"[fe80::1%eth0]:80":               "fe80::1%eth0",
		"not an address":                  "not an address",
		"@":                               "@",
		"[2001:db8:0:0:1:0:0:1]:1":        "2001:db8::/64",
		"[2001:0db8:0000:0001:0:0:0:1]:1": "2001:db8:0:1::/64",
	} {
		if got := clientAddr(remote); got != want {
			t.Errorf("clientAddr(%q) = %q, want %q", remote, got, want)
		}
	}
}
