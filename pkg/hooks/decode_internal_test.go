package hooks

import (
	"strings"
	"testing"
)

// TestDecodeSaysWhatIsWrongInThePayloadsTerms: a payload that does not
// decode is named by its members and JSON kinds, never by Go's types
// (hooks.glPipeline, struct { ObjectKind string … }), and quotes no more
// of the payload than model.Quote.
func TestDecodeSaysWhatIsWrongInThePayloadsTerms(t *testing.T) {
	for _, tt := range []struct{ body, want string }{
		{`{"workflow_job":{"id":"x"}}`, `workflow_job payload: "workflow_job.id" is a string, not a whole number`},
		{`{"workflow_job":{"id":1.5}}`, `workflow_job payload: "workflow_job.id" is 1.5, not a whole number in range`},
		{`{"workflow_job":{"id":99999999999999999999}}`, `workflow_job payload: "workflow_job.id" is 99999999999999999999, not a whole number in range`},
		{`[1]`, `workflow_job payload is an array, not a JSON object`},
		{"{\"workflow_job\":{\"name\":\"a\xffb\"}}", `workflow_job payload: invalid UTF-8 in "/workflow_job/name" (at byte 26)`},
		{`{"action":"a","action":"b"}`, `workflow_job payload: a member is given twice in "/action" (at byte 14)`},
		{`{"` + strings.Repeat("k", 1000) + `":1,"` + strings.Repeat("k", 1000) + `":2}`, `workflow_job payload: a member is given twice in "/kkkk`},
		{`{} {}`, `workflow_job payload: more than one JSON value`},
		{`{"workflow_job":{`, `workflow_job payload: it ends too soon`},
	} {
		var p ghWorkflowJob
		err := decode("workflow_job", []byte(tt.body), &p)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) || len(err.Error()) > 300 {
			t.Errorf("decode(%.40q) = %v, want %q…", tt.body, err, tt.want)
		}
	}
}
