package store

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Kinds of database a DSN can name.
const (
	KindSQLite = "sqlite"
	KindMySQL  = "mysql"
)

// dataSource is a parsed DSN: which database, and how to connect to it.
type dataSource struct {
	kind  string
	path  string        // SQLite only
	mysql *mysql.Config // MySQL only
	// migrations is how migrations connect (MySQL only): as mysql, but
	// with only the I/O timeouts the DSN itself sets (see ioTimeout).
	migrations *mysql.Config
}

// dbName is the MySQL database the source names ("" for SQLite).
func (src dataSource) dbName() string {
	if src.mysql == nil {
		return ""
	}
	return src.mysql.DBName
}

// ioTimeout bounds each read and write on a MySQL connection (the
// driver's readTimeout and writeTimeout) unless the DSN sets its own: a
// database that stops answering but keeps its connections open (a hung
// mariadbd, a network that drops packets) would otherwise hold every
// request for ever. 30 s is groupTimeout, far above any one round trip.
// Migrations run without it: an ALTER TABLE answers only once done.
const ioTimeout = 30 * time.Second

const dsnHelp = "use sqlite:PATH (e.g. sqlite:steps.db) or mysql://USER:PASS@HOST:PORT/DB"

// mysqlDSNHelp ends the error of a MySQL DSN that does not parse. The
// usual cause is a password holding a character that ends the URL's
// user part (/ ? #), which the error cannot show without showing the
// password.
const mysqlDSNHelp = "use mysql://USER:PASS@HOST:PORT/DB, with the characters of USER and PASS other than letters, digits and - _ . ~ percent-encoded (pa/ss#1 is pa%2Fss%231)"

// CheckDSN says whether dsn is one stepsd can open, without opening it:
// a mistake in how stepsd was called, not a database that failed.
func CheckDSN(dsn string) error {
	_, err := parseDSN(dsn)
	return err
}

// parseDSN turns one of our DSNs into the driver's form. Errors never echo
// the DSN, which may hold a password.
func parseDSN(dsn string) (dataSource, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		return parseSQLiteDSN(strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//"))
	case strings.HasPrefix(dsn, "mysql://"):
		return parseMySQLDSN(dsn)
	}
	if hint := dsnHint(dsn); hint != "" {
		return dataSource{}, fmt.Errorf("unsupported database DSN; %s; %s", dsnHelp, hint)
	}
	return dataSource{}, fmt.Errorf("unsupported database DSN; %s", dsnHelp)
}

// dsnHint rewrites a DSN copied from another tool into ours, for the error
// that refuses it: the forms a new user most often brings (the Go MySQL
// driver's user:pass@tcp(host:port)/db, mariadb:// or jdbc:mysql://, a
// bare SQLite file) are unambiguous, so the error can give the exact line
// to use rather than only the two patterns. A password is never copied
// into it: it reads PASS, to be put back by hand. "" when the DSN is none
// of these.
func dsnHint(dsn string) string {
	lower := strings.ToLower(dsn)
	for _, prefix := range []string{"sqlite3:", "file:"} {
		if strings.HasPrefix(lower, prefix) {
			path, _, _ := strings.Cut(strings.TrimPrefix(dsn[len(prefix):], "//"), "?")
			if path == "" || strings.Contains(path, ":memory:") {
				return ""
			}
			return "write it as sqlite:" + path
		}
	}
	if i := strings.Index(lower, "://"); i >= 0 {
		switch lower[:i] {
		case "mysql", "mariadb", "jdbc:mysql", "jdbc:mariadb":
			// The query is left out: JDBC carries user and password there.
			u, err := url.Parse("mysql://" + dsn[i+len("://"):])
			if err != nil || u.Host == "" {
				return ""
			}
			if _, ok := u.User.Password(); ok {
				u.User = url.UserPassword(u.User.Username(), "PASS")
			}
			u.RawQuery, u.ForceQuery = "", false
			return "write it as " + u.String()
		}
		return ""
	}
	if strings.Contains(dsn, "@tcp(") || strings.HasPrefix(dsn, "tcp(") {
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil || cfg.DBName == "" {
			return ""
		}
		user := url.PathEscape(cfg.User)
		if cfg.Passwd != "" {
			user += ":PASS"
		}
		if user != "" {
			user += "@"
		}
		return "write it as mysql://" + user + cfg.Addr + "/" + cfg.DBName
	}
	if dsn != "" && !strings.Contains(dsn, ":") {
		return "for a SQLite file, write it as sqlite:" + dsn
	}
	return ""
}

func parseSQLiteDSN(path string) (dataSource, error) {
	if path == "" || strings.Contains(path, ":memory:") || strings.HasPrefix(path, "file:") {
		return dataSource{}, fmt.Errorf("sqlite DSN needs a file path, e.g. sqlite:steps.db or sqlite:/var/lib/steps/steps.db")
	}
	if strings.Contains(path, "?") {
		return dataSource{}, fmt.Errorf("sqlite DSN takes a plain file path, without ?options")
	}
	return dataSource{kind: KindSQLite, path: path}, nil
}

// SQLiteWALLimit is the size, in bytes, to which SQLite truncates its
// write-ahead log after a checkpoint has emptied it.
const SQLiteWALLimit = 64 << 20

// SQLiteDriverDSN is the modernc.org/sqlite data source stepsd (and
// stepsbench's baseline) opens the file at path with: WAL so readers never
// block the writer, FULL sync so an acknowledged step survives a power
// cut, a busy timeout and IMMEDIATE transactions so concurrent writers
// wait instead of failing with "database is locked", and a
// journal_size_limit, since long reads keep the log from being
// checkpointed and SQLite would reuse it at its largest for good.
func SQLiteDriverDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(30000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", SQLiteWALLimit))
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

func parseMySQLDSN(dsn string) (dataSource, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return dataSource{}, fmt.Errorf("mysql DSN is not a valid URL; %s", mysqlDSNHelp)
	}
	if u.Host == "" {
		return dataSource{}, fmt.Errorf("mysql DSN has no host; %s", mysqlDSNHelp)
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" || strings.Contains(db, "/") {
		return dataSource{}, fmt.Errorf("mysql DSN needs a database name; %s", mysqlDSNHelp)
	}
	host := u.Host
	if u.Port() == "" {
		host += ":3306"
	}
	// Driver options (tls, timeout, …) pass through from the query string;
	// the password is set apart so no character in it can confuse the
	// driver's own DSN syntax.
	cfg, err := mysql.ParseDSN("tcp(" + host + ")/" + db + "?" + u.RawQuery)
	if err != nil {
		return dataSource{}, fmt.Errorf("mysql DSN options: %w", err)
	}
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.ParseTime = false
	cfg.Loc = time.UTC
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	// Strict on top of the server's (or the DSN's) own modes: a
	// non-strict server would cut a value that does not fit short, with a
	// warning nobody reads, should pkg/model's bounds ever miss one.
	base := "@@sql_mode"
	if mode, ok := cfg.Params["sql_mode"]; ok {
		base = mode
	}
	cfg.Params["sql_mode"] = "CONCAT_WS(',',NULLIF(" + base + ",''),'STRICT_ALL_TABLES')"
	cfg.Collation = "utf8mb4_bin"
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	migrations := cfg.Clone()
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = ioTimeout
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = ioTimeout
	}
	return dataSource{kind: KindMySQL, mysql: cfg, migrations: migrations}, nil
}

// RedactDSN returns dsn with any password replaced, for logs. A DSN that
// stepsd refuses is redacted too, since it is shown in the error: the
// go-sql-driver form (user:pass@tcp(host:3306)/db), mariadb://user:pass@…
// or MYSQL://… carry a password as well.
func RedactDSN(dsn string) string {
	if strings.HasPrefix(dsn, "sqlite:") {
		return dsn
	}
	if strings.HasPrefix(dsn, "mysql://") {
		if u, err := url.Parse(dsn); err == nil {
			return u.Redacted()
		}
		return "mysql://(unparseable)"
	}
	if u, err := url.Parse(dsn); err == nil && u.Opaque == "" && u.User != nil {
		return u.Redacted()
	}
	if at := strings.LastIndexByte(dsn, '@'); at >= 0 {
		return "xxxxx" + dsn[at:]
	}
	return dsn
}
