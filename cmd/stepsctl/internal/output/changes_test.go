package output

import (
	"bytes"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

func TestWriteChanges(t *testing.T) {
	at := time.Date(2026, 10, 19, 14, 3, 0, 0, time.UTC)
	cs := model.Changes{Changes: []model.Change{
		{Component: "api", Environment: "production", Time: at, Version: "1.20.0", Attempt: 1,
			BeforeP50Seconds: 542, AfterP50Seconds: 748, ChangePercent: 38.2, PValue: 0.001,
			Steps: []model.StepChange{
				{Status: "tests", ChangeSeconds: 190, ShareOfChangePercent: 92},
				{Status: "build", ChangeSeconds: 12, ShareOfChangePercent: 6},
			}},
		{Component: "web", Time: at.AddDate(0, 1, 0), Version: "3.1.0", Attempt: 2,
			BeforeP50Seconds: 600, AfterP50Seconds: 420, ChangePercent: -30,
			Steps: []model.StepChange{
				{Status: "migrate", ChangeSeconds: -120, ShareOfChangePercent: 67},
				{Status: "tests", ChangeSeconds: -60, ShareOfChangePercent: 33},
			}},
	}}
	var buf bytes.Buffer
	if err := WriteChanges(&buf, Options{Location: time.UTC}, cs); err != nil {
		t.Fatal(err)
	}
	want := "2026-10-19  api 1.20.0 → production  +38 % (9m02s → 12m28s)  tests +3m10s (92 %)\n" +
		"2026-11-19  web 3.1.0 (attempt 2)  -30 % (10m00s → 7m00s)  migrate -2m00s (67 %), tests -1m00s (33 %)\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	buf.Reset()
	WriteChanges(&buf, Options{}, model.Changes{}) //nolint:errcheck // a buffer
	if buf.String() != "No shift in deploy time found in this range.\n" {
		t.Errorf("empty: %q", buf.String())
	}
}
