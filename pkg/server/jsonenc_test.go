package server

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

func TestAppendersMatchEncodingJSON(t *testing.T) {
	texts := []string{"plain", `quo"te\back`, "<b>&amp;</b>", "tab\tnl\ncr\r", "\x01\x1f", "é😀", "line\u2028sep\u2029", "bad\xffutf8", ""}
	times := []time.Time{
		time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 2, 9, 0, 0, 123456000, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 1000, time.UTC),
	}
	floats := []float64{0, 1, 192, 0.5, 1e-7, 123456789.123456, 1e21, 3.0e-5}
	for i, text := range texts {
		st := model.Step{ID: int64(i) * 1e12, Component: text, Version: text, Owner: "o", Status: text, Environment: text,
			Time: times[i%len(times)], ReceivedAt: times[(i+1)%len(times)]}
		if i%3 != 0 { // some with a revision, some with a commit time, some with both
			st.Revision = text
		}
		if i%3 != 1 {
			st.CommittedAt = &times[(i+2)%len(times)]
		}
		want, _ := json.Marshal(st)
		if got := appendStep(nil, st); string(got) != string(want) {
			t.Errorf("appendStep(%q)\n got %s\nwant %s", text, got, want)
		}
		for _, f := range floats {
			fin := times[1]
			d := &model.Deployment{Component: text, Version: "v", Environment: text, Attempt: i + 1, Owner: text,
				StartedAt: times[0], DurationSeconds: f, Outcome: model.OutcomeSuccess, Stuck: i%2 == 0,
				Steps: []model.Phase{{ID: 1, Status: text, Time: times[0], DurationSeconds: &f}, {ID: 2, Status: "done", Time: times[1]}}}
			if i%2 == 0 {
				d.FinishedAt = &fin
			} else if i%4 == 1 {
				// In progress with an ETA; other running ones have none.
				expected, eta, at := f+1, f, times[i%len(times)]
				d.ExpectedDurationSeconds, d.ETASeconds, d.ExpectedFinishAt = &expected, &eta, &at
			}
			d.Revision, d.CommittedAt = st.Revision, st.CommittedAt
			want, _ := json.Marshal(d)
			if got := appendDeployment(nil, d); string(got) != string(want) {
				t.Errorf("appendDeployment(%q, %v)\n got %s\nwant %s", text, f, got, want)
			}
		}
	}
}

func TestCSVAppenderMatchesEncodingCSV(t *testing.T) {
	texts := []string{"plain", "with,comma", `quo"te`, " leading space", "\ttab", `\.`, "=1+1", "-rc1", "'q", "é😀", "", "multi\nline", "cr\rx"}
	times := []time.Time{
		time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 2, 9, 0, 0, 123456000, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
	}
	for i, text := range texts {
		st := model.Step{ID: int64(i) * 1e9, Component: text, Version: text, Owner: text, Status: text, Environment: text,
			Time: times[i%len(times)], ReceivedAt: times[(i+1)%len(times)]}
		if i%2 == 0 {
			st.Revision, st.CommittedAt = text, &times[(i+2)%len(times)]
		}
		var want bytes.Buffer
		cw := csv.NewWriter(&want)
		cw.Write(model.StepCSVRow(st))
		cw.Flush()
		if got := appendCSVStep(nil, st); string(got) != want.String() {
			t.Errorf("appendCSVStep(%q)\n got %q\nwant %q", text, got, want.String())
		}
	}
}
