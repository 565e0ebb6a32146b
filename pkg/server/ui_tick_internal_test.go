package server

import "testing"

func TestTickLabel(t *testing.T) {
	for s, want := range map[float64]string{
		5: "5s", 30: "30s", 90: "1m30s", 300: "5m", 600: "10m", 3600: "1h", 5400: "1h30m",
		3 * 12 * 3600: "1d12h", 2 * 86400: "2d", 14 * 86400: "14d",
	} {
		if got := tickLabel(s); got != want {
			t.Errorf("tickLabel(%v) = %q, want %q", s, got, want)
		}
	}
}
