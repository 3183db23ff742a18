#pragma once

// libpq connection, parameter and result wrappers used by PostgresStorage's parts. Not a public
// interface. A PgConnection is used by one thread at a time (the writer under the storage's
// writer mutex, readers checked out of its pool).
//
// Parameters: strings and byte strings travel in binary format with explicit lengths (a NUL in
// a name is refused by the server instead of silently truncating it); integers and booleans as
// text. Results come back in text format (bytea as "\x" hex).

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "base/secret_bytes.h"
#include "base/status.h"

namespace sirr::storage {

// How to reach the database. The password (SIRR_DATABASE_PASSWORD_FILE) is a credential: it is
// kept in SecretBytes and never logged; without it libpq uses its passfile (PGPASSFILE,
// ~/.pgpass) or the URL.
struct PgConnectOptions {
  std::string url;  // a libpq URI or key=value conninfo (multi-host, sslmode, ...)
  std::shared_ptr<const SecretBytes> password;
  std::string application_name = "sirrd";
};

// The statement's parameters, $1..$n in the order added.
class PgParams {
 public:
  PgParams& Add(std::string_view v) { return Push(std::string(v), true, 1); }
  PgParams& Add(int64_t v) { return Push(std::to_string(v), true, 0); }
  PgParams& Add(int v) { return Add(int64_t{v}); }
  template <typename E>
  requires std::is_enum_v<E> PgParams& Add(E v) { return Add(static_cast<int64_t>(v)); }
  PgParams& Add(const std::optional<int64_t>& v) {
    return v ? Add(*v) : Push(std::string(), false, 0);
  }
  PgParams& AddBool(bool v) { return Push(v ? "t" : "f", true, 0); }
  PgParams& AddBlob(const Bytes& v) {
    return Push(std::string(reinterpret_cast<const char*>(v.data()), v.size()), true, 1);
  }
  PgParams& AddNull() { return Push(std::string(), false, 0); }
  size_t size() const { return values_.size(); }

 private:
  friend class PgConnection;
  PgParams& Push(std::string v, bool present, int format) {
    values_.push_back(std::move(v));
    present_.push_back(present);
    formats_.push_back(format);
    return *this;
  }
  std::vector<std::string> values_;
  std::vector<bool> present_;
  std::vector<int> formats_;
};

// One statement's result rows (text format).
class PgResult {
 public:
  explicit PgResult(PGresult* r) : r_(r, &PQclear) {}
  int rows() const { return PQntuples(r_.get()); }
  // Rows changed by INSERT/UPDATE/DELETE.
  int64_t affected() const;
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string Text(int row, int col) const {
    return std::string(PQgetvalue(r_.get(), row, col), PQgetlength(r_.get(), row, col));
  }
  int64_t Int(int row, int col) const;
  std::optional<int64_t> OptInt(int row, int col) const {
    if (IsNull(row, col)) return std::nullopt;
    return Int(row, col);
  }
  bool Bool(int row, int col) const { return PQgetvalue(r_.get(), row, col)[0] == 't'; }
  Bytes Blob(int row, int col) const;  // NULL: empty
  PGresult* raw() const { return r_.get(); }

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> r_;
};

class PgConnection {
 public:
  // Connects (connect_timeout 5 s and TCP keepalives unless the URL says otherwise). Errors are
  // one line naming what failed (refused, authentication, missing database, ...), never the
  // password: Unavailable.
  static StatusOr<std::unique_ptr<PgConnection>> Connect(const PgConnectOptions& options);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // A statement with parameters, prepared once per connection. `sql` must be a string literal
  // (or another string that outlives the connection): its address keys the statement cache.
  StatusOr<PgResult> Query(const char* sql, const PgParams& params = PgParams());
  // A statement (or several, separated by ';') without parameters, not prepared.
  Status Exec(std::string_view sql);

  // Several statements in one round trip (libpq pipeline mode), run in order; one result per
  // statement. After a failed statement the server skips the rest (their results say so).
  struct Statement {
    const char* sql;  // as for Query
    const PgParams* params;
  };
  std::vector<StatusOr<PgResult>> Pipeline(const std::vector<Statement>& statements);
  // BEGIN, sent with the next statement instead of on its own (one round trip fewer).
  void BeginWithNext() { begin_pending_ = true; }
  // ROLLBACK, or nothing when the BEGIN was never sent.
  Status Rollback();
  // The connection is lost (reset by the server, failover, network): drop it.
  bool broken() const { return unusable_ || PQstatus(conn_) != CONNECTION_OK; }
  // "host:port" of the server this connection reached (for messages).
  std::string Where() const;
  PGconn* raw() { return conn_; }

 private:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  Status ErrorOf(PGresult* r, std::string_view what);
  // The prepared statement's name for `sql` (prepared now if it is new on this connection).
  StatusOr<const std::string*> Prepared(const char* sql);
  // The value and length arrays libpq takes, pointing into a PgParams.
  struct RawParams {
    explicit RawParams(const PgParams& params);
    std::vector<const char*> values;
    std::vector<int> lengths;
  };

  PGconn* conn_;
  bool begin_pending_ = false;
  bool unusable_ = false;                                  // a pipeline left it in an unknown state
  std::unordered_map<const char*, std::string> prepared_;  // sql -> statement name
};

// Array literals for one parameter holding many values (`$1::text::text[]`, `$1::text::bigint[]`):
// {"a","b"} with quotes and backslashes escaped, and {1,2}.
std::string PgTextArray(const std::vector<std::string_view>& values);
std::string PgIntArray(const std::vector<int64_t>& values);

// The Status for a failed statement: a lost connection, a read-only server, a serialization
// failure or an exhausted server are Unavailable (503: the transaction rolled back, a retry
// may work); a unique violation is AlreadyExists; invalid text (bad UTF-8, NUL) InvalidArgument;
// the rest Internal.
Status PgStatus(std::string_view sqlstate, std::string_view message, bool connection_lost);

}  // namespace sirr::storage
