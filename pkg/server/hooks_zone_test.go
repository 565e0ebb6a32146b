package server_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/steps-dev/steps/internal/testdb"
)

// TestHookTimeWithAZoneAbbreviationIsNotGuessed: GitLab writes its times
// "2026-03-02 08:12:05 UTC", and time.Parse takes any abbreviation in that
// place. One it does not know ("CEST") it read as UTC, and one the
// server's own zone uses ("EST" under TZ=America/New_York) at that zone's
// offset: a delivery saying 08:12:05 CEST stored its steps at 08:12:05Z,
// two hours late, and another machine could store it elsewhere. Such a
// delivery is now ignored (202) with the reason, and nothing is stored.
func TestHookTimeWithAZoneAbbreviationIsNotGuessed(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newHookServer(t, fresh(t), nil)
		for _, zone := range []string{"CEST", "EST"} {
			t.Run(zone, func(t *testing.T) {
				body := bytes.ReplaceAll(fixture(t, "gitlab/pipeline_running.json"), []byte(` UTC"`), []byte(" "+zone+`"`))
				before := ts.count(t)
				r := ts.hookDelivery(t, "gitlab", body)
				if a := r.hook(t); r.status != http.StatusAccepted || !strings.Contains(a.Ignored, `"`+zone+`"`) {
					t.Errorf("= %d %s; want 202 ignored, naming the zone %s", r.status, r.body, zone)
				}
				if n := ts.count(t); n != before {
					t.Errorf("stored %d steps at a guessed time, want none", n-before)
				}
			})
		}
		t.Run("UTCIsStillRead", func(t *testing.T) {
			r := ts.gitlab(t, "Pipeline Hook", "pipeline_running.json")
			if r.status != http.StatusCreated {
				t.Errorf("= %d %s; want 201", r.status, r.body)
			}
		})
	})
}
