package server_test

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/internal/history"
	"github.com/steps-dev/steps/internal/testdb"
	"github.com/steps-dev/steps/pkg/model"
)

// TestStatsSayWhatTheBlendCovers: through stepsd, on SQLite and MariaDB,
// two services deployed daily for 12 weeks, api in production growing
// 3 % a week and web in production shrinking 2 % a week. /v1/stats
// without a filter lists both series with their deployments and their
// own trends, whose intervals hold the truth, and the summary names both;
// asked for one component, one series and nothing new in the sentence.
func TestStatsSayWhatTheBlendCovers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, fresh func(testing.TB) string) {
		ts := newTestServer(t, fresh(t))
		start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
		ts.clock.Set(start.AddDate(0, 4, 0))
		const n = 84
		rates := map[string]float64{"api": 3, "web": -2}
		for _, c := range []string{"api", "web"} {
			postHistory(t, ts, c, "production", start, n, func(i int) []history.Phase {
				// Deterministic noise of about ±10 %, out of step with
				// the weeks.
				f := math.Pow(1+rates[c]/100, float64(i)/7) * math.Exp(0.1*math.Sin(float64(i)*2.3))
				return []history.Phase{{Status: "build", Seconds: 120 * f}, {Status: "tests", Seconds: 300 * f}, {Status: "rollout", Seconds: 60 * f}}
			})
		}

		r := ts.do(t, "GET", "/v1/stats", nil)
		var raw map[string]json.RawMessage
		var st model.Stats
		if r.status != 200 || json.Unmarshal(r.body, &raw) != nil || json.Unmarshal(r.body, &st) != nil {
			t.Fatalf("GET /v1/stats = %d %.300s", r.status, r.body)
		}
		if string(raw["series_not_listed"]) != "0" || raw["series"] == nil {
			t.Errorf("series_not_listed %s, series %.100s: want 0 and a list", raw["series_not_listed"], raw["series"])
		}
		if len(st.Series) != 2 {
			t.Fatalf("%d series, want 2: %+v", len(st.Series), st.Series)
		}
		byComponent := map[string]model.SeriesStats{}
		for _, s := range st.Series {
			byComponent[s.Component] = s
			tr := s.Trend
			want := map[string]string{"api": model.DirectionGrowing, "web": model.DirectionShrinking}[s.Component]
			if s.Environment != "production" || s.Deployments != n || tr.Points != n || tr.Direction != want ||
				tr.GrowthPercentPerWeekLow > rates[s.Component] || rates[s.Component] > tr.GrowthPercentPerWeekHigh {
				t.Errorf("%s in %s: %d deployments, %+v; want %d, %s, an interval holding %+.0f %% a week",
					s.Component, s.Environment, s.Deployments, tr, n, want, rates[s.Component])
			}
		}
		want := fmt.Sprintf("The trend blends 2 series (component and environment); api in production grows %.1f %% a week while web in production shrinks %.1f %% a week.",
			byComponent["api"].Trend.GrowthPercentPerWeek, -byComponent["web"].Trend.GrowthPercentPerWeek)
		if !strings.Contains(st.Summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, st.Summary)
		}

		r = ts.do(t, "GET", "/v1/stats?component=api", nil)
		var one model.Stats
		if r.status != 200 || json.Unmarshal(r.body, &one) != nil {
			t.Fatalf("GET /v1/stats?component=api = %d %.300s", r.status, r.body)
		}
		if len(one.Series) != 1 || one.Series[0].Trend != one.Trend.RobustTrend || strings.Contains(one.Summary, "series") {
			t.Errorf("component=api: series %+v, trend %+v, summary %s: want the one series, its trend the trend's, and no word of series",
				one.Series, one.Trend.RobustTrend, one.Summary)
		}
	})
}
