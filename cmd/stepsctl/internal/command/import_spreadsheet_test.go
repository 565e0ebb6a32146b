package command_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steps-dev/steps/pkg/model"
)

// spreadsheetWant is what the original service's two-row export below
// stores, however a spreadsheet re-saved it.
func spreadsheetWant() []model.Step {
	return []model.Step{
		{Component: "api", Version: "1.0", Owner: "ana", Status: "build", Time: time.Date(2025, 11, 20, 9, 0, 0, 0, time.UTC)},
		{Component: "api", Version: "1.0", Owner: "ana", Status: "finished", Time: time.Date(2025, 11, 20, 9, 7, 0, 0, time.UTC)},
	}
}

// TestImportSpreadsheetSaved imports the original service's CSV as a
// spreadsheet saves it again: every step stored once, at its time.
func TestImportSpreadsheetSaved(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		content string
	}{
		{"byte-order mark before a quoted header", "\uFEFF\"component\",\"version\",\"owner\",\"status\",\"ts\"\r\n" +
			"\"api\",\"1.0\",\"ana\",\"build\",\"2025-11-20 09:00:00\"\r\n" +
			"\"api\",\"1.0\",\"ana\",\"finished\",\"2025-11-20 09:07:00\"\r\n\r\n"},
		{"times without seconds", "component,version,owner,status,ts\n" +
			"api,1.0,ana,build,2025-11-20 09:00\n" +
			"api,1.0,ana,finished,2025-11-20 09:07\n"},
		{"empty rows in the middle", "component,version,owner,status,ts\r\n" +
			"api,1.0,ana,build,2025-11-20 09:00:00\r\n" +
			",,,,\r\n" +
			"\r\n" +
			"\"\",\"\",\"\",\"\",\"\"\r\n" +
			"api,1.0,ana,finished,2025-11-20 09:07:00\r\n" +
			",,,,\r\n"},
		{"semicolons between cells", "\uFEFF\"component\";\"version\";\"owner\";\"status\";\"ts\"\r\n" +
			"api;1.0;ana;build;2025-11-20 09:00:00\r\n" +
			"api;1.0;ana;finished;2025-11-20 09:07\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			path := writeFile(t, "history.csv", tc.content)
			r := h.run(false, "import", path)
			if r.code != 0 || !strings.Contains(r.stdout, "2 step(s) imported") {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and 2 steps imported", r.code, r.stdout, r.stderr)
			}
			sameSteps(t, h.stored(), spreadsheetWant())
		})
	}
}

// TestImportSpreadsheetDates: a time a spreadsheet rewrote as a date alone,
// or in its locale's order, is refused, line by line, with what to do;
// nothing is stored at midnight.
func TestImportSpreadsheetDates(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	path := writeFile(t, "history.csv", "component,version,owner,status,ts\n"+
		"api,1.0,ana,build,2025-11-20 09:00:00\n"+
		"api,1.0,ana,finished,2025-11-20\n"+
		"api,1.0,ana,finished,20/11/2025 09:07\n")
	r := h.run(false, "import", path)
	want := path + `:3: ts: "2025-11-20" is a date without its time of day: stored, every step of that day would be at midnight; write the time too, as "YYYY-MM-DD hh:mm:ss" (in a spreadsheet, format the column so before saving)` + "\n" +
		path + `:4: ts: "20/11/2025 09:07" is a date as a spreadsheet writes it in its locale, day and month in an order the file does not say; format the column as "YYYY-MM-DD hh:mm:ss" in the spreadsheet before saving, or import the export as it was downloaded` + "\n" +
		"stepsctl: " + path + ": 2 bad line(s) of 3; nothing was imported\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("exit %d, stderr\n%s\nwant 1 and\n%s", r.code, r.stderr, want)
	}
	if n := len(h.stored()); n != 0 {
		t.Errorf("%d steps stored, want none", n)
	}
}

// TestImportSpreadsheetColumnAdded: a column added by hand is refused, as
// its cells have nowhere to go, and the message says to remove it.
func TestImportSpreadsheetColumnAdded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	path := writeFile(t, "history.csv", "component,version,owner,status,ts,notes\n"+
		"api,1.0,ana,build,2025-11-20 09:00:00,slow runner\n")
	r := h.run(false, "import", path)
	if r.code != 1 || !strings.Contains(r.stderr, `unknown CSV column "notes"`) || !strings.Contains(r.stderr, "remove that column") {
		t.Errorf("exit %d, stderr %q; want 1, naming notes and saying to remove it", r.code, r.stderr)
	}
	if n := len(h.stored()); n != 0 {
		t.Errorf("%d steps stored, want none", n)
	}
}

// TestImportFiveColumnsAsTheServer: our CSV export cut down to the original
// service's five columns (a spreadsheet's deleted columns) gives back the
// values it was exported from, -api and not '-api, and the same steps as
// POST /v1/steps/batch stores from the same file.
func TestImportFiveColumnsAsTheServer(t *testing.T) {
	t.Parallel()
	content := "component,version,owner,status,ts\n" +
		"'-api,'=1+1,'@ana,'+build,2025-11-20 09:00:00\n" +
		"''tick,1.0,'bo,finished,2025-11-20 09:07:00\n"
	want := []model.Step{
		{Component: "-api", Version: "=1+1", Owner: "@ana", Status: "+build", Time: time.Date(2025, 11, 20, 9, 0, 0, 0, time.UTC)},
		{Component: "'tick", Version: "1.0", Owner: "'bo", Status: "finished", Time: time.Date(2025, 11, 20, 9, 7, 0, 0, time.UTC)},
	}

	h := newHarness(t)
	h.mustRun(false, "import", writeFile(t, "cut.csv", content))
	sameSteps(t, h.stored(), want)

	batch := newHarness(t)
	resp, err := http.Post(batch.url+"/v1/steps/batch", "text/csv", strings.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /v1/steps/batch: %s", resp.Status)
	}
	sameSteps(t, batch.stored(), h.stored())
}

// TestImportSpreadsheetOtherSaves: a file a spreadsheet saved as something
// other than CSV is refused with what it is and how to save it, not as a
// column to remove; nothing is stored.
func TestImportSpreadsheetOtherSaves(t *testing.T) {
	t.Parallel()
	tsv := "component\tversion\towner\tstatus\tts\r\napi\t1.0\tana\tbuild\t2025-11-20 09:00:00\r\n"
	utf16 := []byte{0xff, 0xfe} // "Unicode Text": UTF-16LE with its mark, tabs between cells
	for _, r := range tsv {
		utf16 = append(utf16, byte(r), 0)
	}
	for _, tc := range []struct {
		name, content, want string
	}{
		{"unicode text", string(utf16), `the file is UTF-16 (it starts with a UTF-16 byte-order mark, as a spreadsheet saves "Unicode Text"); import takes UTF-8`},
		{"tab delimited", tsv, `its cells are separated by tabs, as a spreadsheet saves "Text (Tab delimited)"; save the file as CSV`},
		{"carriage returns alone", "component,version,owner,status,ts\rapi,1.0,ana,build,2025-11-20 09:00:00\r", `the file's lines end with a carriage return alone, as old Mac spreadsheets save "CSV (Macintosh)"`},
		{"PowerShell's type line", "#TYPE System.Management.Automation.PSCustomObject\r\n\"component\",\"version\",\"owner\",\"status\",\"ts\"\r\n\"api\",\"1.0\",\"ana\",\"build\",\"2025-11-20 09:00:00\"\r\n",
			`is the type line Windows PowerShell's Export-Csv and ConvertTo-Csv write before the header: export with -NoTypeInformation, or delete that line`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			r := h.run(false, "import", writeFile(t, "history.csv", tc.content))
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, "remove that column") {
				t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, tc.want)
			}
			if n := len(h.stored()); n != 0 {
				t.Errorf("%d steps stored, want none", n)
			}
		})
	}
}

// TestImportJoinedExports: two exports joined with cat carry the second's
// header among the rows; its line is named as the header again, with how
// to join them, rather than as a row whose ts "ts" is not a datetime.
func TestImportJoinedExports(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	path := writeFile(t, "joined.csv", "component,version,owner,status,ts\n"+
		"api,1.0,ana,build,2025-11-20 09:00:00\n"+
		"\uFEFFcomponent,version,owner,status,ts\n"+
		"api,1.0,ana,finished,2025-11-20 09:07:00\n")
	r := h.run(false, "import", path)
	want := path + ":3: the CSV header again, among the rows: files joined with cat? remove this line"
	if r.code != 1 || !strings.HasPrefix(r.stderr, want) {
		t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, want)
	}
	if n := len(h.stored()); n != 0 {
		t.Errorf("%d steps stored, want none", n)
	}
}
