package hooks

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"unicode"

	"github.com/steps-dev/steps/pkg/model"
)

// A job or step name that cannot be a status as it is becomes a derived
// form: its beginning, nameMark, and nameHashLen hex digits of the SHA-256
// of the whole name, model.MaxStatusLen characters at most.
const (
	nameMark    = "…" // U+2026, one character
	nameHashLen = 8
	namePrefix  = model.MaxStatusLen - 1 - nameHashLen // characters kept of the name
)

// derivedShape matches how every derived form ends. A name sent so is
// derived too, so a derived form is never the status of a name sent as is.
var derivedShape = regexp.MustCompile(`…[0-9a-f]{8}$`)

// stepStatus is the status a CI job or step is recorded under: its name,
// whenever the name is a valid status. The hook derives the status, not a
// client that could be told to send another, and a name that is not one
// used to drop the whole job (202): GitHub names the post step of an
// action pinned to a commit "Post Run actions/checkout@<40 hex digits>",
// past the 64 characters a status may have, and GitLab job names run to
// 255. Such a name — too long, with control or bidirectional characters
// (shown as spaces), blank, or ending like a derived form — becomes its
// first 55 characters (whole characters: never part of a UTF-8
// sequence), "…" and the first 8 hex digits of the SHA-256 of the whole
// name. The same name gives the same status in every delivery, so its
// key still dedupes; two names give the same status only if their hashes
// collide, and never the status of another name sent as is.
func stepStatus(name string) string {
	name = strings.TrimSpace(name) // as model.StepInput.Normalized trims
	if model.ValidateText("status", name, model.MaxStatusLen, true) == nil && !derivedShape.MatchString(name) {
		return name
	}
	var b strings.Builder
	n := 0
	for _, r := range name {
		if n == namePrefix {
			break
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			r = ' '
		}
		b.WriteRune(r) // decode refused invalid UTF-8; a stray byte would come out as U+FFFD
		n++
	}
	sum := sha256.Sum256([]byte(name))
	return strings.TrimSpace(b.String()) + nameMark + hex.EncodeToString(sum[:])[:nameHashLen]
}
