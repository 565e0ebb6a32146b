package rowtext

import (
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// The phases column is read back as written, whatever the order of the
// statuses from one deployment to the next, and a damaged column is an
// error, never a panic or a wrong phase.
func TestPhaseDecoderReadsWhatAppendPhaseWrote(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	var pd phaseDecoder
	deploys := [][]string{
		{"build", "tests", "finished"},
		{"build", "tests", "finished"},
		{"tests", "build,with comma", "build", "failed"}, // other order, a comma in a status
		{"build"},
	}
	for n, statuses := range deploys {
		var col []byte
		for i, st := range statuses {
			col = AppendPhase(col, int64(100*n+i), time.Duration(i-1)*1500*time.Millisecond, st)
		}
		got, err := pd.decode(col, start, make([]model.Phase, 0, len(statuses)))
		if err != nil {
			t.Fatalf("deploy %d: %v", n, err)
		}
		if len(got) != len(statuses) {
			t.Fatalf("deploy %d: %d phases, want %d", n, len(got), len(statuses))
		}
		for i, p := range got {
			want := start.Add(time.Duration(i-1) * 1500 * time.Millisecond)
			if p.ID != int64(100*n+i) || p.Status != statuses[i] || !p.Time.Equal(want) {
				t.Errorf("deploy %d phase %d = %d %q %s, want %d %q %s", n, i, p.ID, p.Status, p.Time, 100*n+i, statuses[i], want)
			}
		}
	}
	for _, bad := range []string{"", "1,2,build", "1,,build\x1e", ",2,build\x1e", "1,x,build\x1e", "1;2;build\x1e",
		"1,2,build\x1e3,4", "99999999999999999999,1,build\x1e", "-,1,build\x1e"} {
		if got, err := pd.decode([]byte(bad), start, nil); err == nil {
			t.Errorf("%q decoded as %+v, want an error", bad, got)
		}
	}
}
