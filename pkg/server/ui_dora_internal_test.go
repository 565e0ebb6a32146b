package server

import "testing"

func TestDORASparkDrawsLonePoints(t *testing.T) {
	one, two, three := 1.0, 2.0, 3.0
	path, first, last := doraSpark([]*float64{nil, &one, &two, nil, &three})
	// Buckets at x 10, 30, 50, 70, 90: a line from 30 to 50, a dash at 90;
	// y from 28 (0) to 2 (3).
	if want := "M30 19.33L50 10.67 M88.5 2L91.5 2"; path != want || *first != 1 || *last != 3 {
		t.Errorf("path %q (%v to %v), want %q (1 to 3)", path, *first, *last, want)
	}
	if path, _, _ := doraSpark([]*float64{nil, nil}); path != "" {
		t.Errorf("no values: path %q, want none", path)
	}
}

// TestDORASparkStartsAtZero: a dip of 7 % is drawn as one, not as a fall
// from the top of the line to its floor.
func TestDORASparkStartsAtZero(t *testing.T) {
	before, after := 0.74, 0.69
	path, _, _ := doraSpark([]*float64{&before, &after})
	if want := "M25 2L75 3.76"; path != want {
		t.Errorf("path %q, want %q", path, want)
	}
}
