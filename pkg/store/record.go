package store

import (
	"context"
)

// insertOne inserts and numbers one step. On MySQL the record_step
// procedure does it in one round trip (the transaction's statements run
// in the server), unless the step is late: then, as on SQLite, the
// transaction runs from Go (number.go), which renumbers.
func (s *Store) insertOne(ctx context.Context, req *commitRequest) (int64, error) {
	if s.kind == KindMySQL {
		id, late, err := s.recordStep(ctx, req.step)
		if err != nil || !late {
			return id, err
		}
	}
	ids, err := s.insertGroup(ctx, []*commitRequest{req})
	if err != nil {
		return 0, err
	}
	return ids[0], nil
}

// recordStep calls record_step, again on a conflict. late says that the
// step comes before its target's last one: nothing was stored.
func (s *Store) recordStep(ctx context.Context, row insertRow) (id int64, late bool, err error) {
	stmt, err := s.prepared(ctx, `CALL record_step(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, false, err
	}
	ends := 0
	if (*s.terminal.Load()).ends(row.step.Status) {
		ends = 1
	}
	args := append(insertArgs(row.step, row.key, row.fingerprint), ends)
	err = retry(ctx, func() error {
		return translate(stmt.QueryRowContext(ctx, args...).Scan(&id, &late))
	})
	return id, late, err
}
