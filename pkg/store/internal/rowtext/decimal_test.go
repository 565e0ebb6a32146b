package rowtext

import (
	"testing"
	"time"
)

// The hand-written decimal readers accept exactly what they did before
// they shared digits: a sign, 1 to 18 digits, a separator, a clock in range.
func TestDecimalReaders(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "42": 42, "-7": -7, "999999999999999999": 999999999999999999} {
		if n, ok := Atoi([]byte(in)); !ok || n != want {
			t.Errorf("Atoi(%q) = %d, %v; want %d", in, n, ok, want)
		}
	}
	for _, in := range []string{"", "-", "1a", "+1", " 1", "1234567890123456789", "--1"} {
		if n, ok := Atoi([]byte(in)); ok {
			t.Errorf("Atoi(%q) = %d, want none", in, n)
		}
	}
	if n, rest, ok := CutInt([]byte("-12,34,"), ','); !ok || n != -12 || string(rest) != "34," {
		t.Errorf("CutInt = %d, %q, %v", n, rest, ok)
	}
	for _, in := range []string{"12", ",1", "-,", "1x,", "1234567890123456789,"} {
		if _, _, ok := CutInt([]byte(in), ','); ok {
			t.Errorf("CutInt(%q) read a number", in)
		}
	}
	if d, ok := parseClock([]byte(" 23:59:58.000123")); !ok || d != 23*time.Hour+59*time.Minute+58*time.Second+123*time.Microsecond {
		t.Errorf("parseClock = %v, %v", d, ok)
	}
	for _, in := range []string{" 24:00:00.000000", " 00:60:00.000000", " 00:00:60.000000", " 0a:00:00.000000", "T00:00:00.000000", " 00:00:00.00000"} {
		if _, ok := parseClock([]byte(in)); ok {
			t.Errorf("parseClock(%q) read a clock", in)
		}
	}
}
