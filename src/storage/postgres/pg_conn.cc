#include "storage/postgres/pg_conn.h"

#include <charconv>

#include "base/encoding.h"

namespace sirr::storage {

namespace {

// libpq's messages end with a newline and may span lines ("connection to server at ... failed:
// Connection refused\n\tIs the server running ..."): one line, tabs and newlines folded.
std::string OneLine(std::string_view msg) {
  std::string out;
  for (char c : msg) {
    if (c == '\n' || c == '\t' || c == '\r') {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

Status PgStatus(std::string_view sqlstate, std::string_view message, bool connection_lost) {
  const std::string msg = "database: " + OneLine(message);
  if (connection_lost || sqlstate.starts_with("08") || sqlstate.starts_with("57P") ||
      sqlstate.starts_with("53") || sqlstate == "25006" || sqlstate == "40001" ||
      sqlstate == "40P01" || sqlstate == "55P03")
    return UnavailableError(msg);
  if (sqlstate == "23505") return AlreadyExistsError(msg);
  if (sqlstate == "22021" || sqlstate == "22P05") return InvalidArgumentError(msg);
  return InternalError(msg);
}

std::string PgTextArray(const std::vector<std::string_view>& values) {
  std::string out = "{";
  for (std::string_view v : values) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char ch : v) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  return out + "}";
}

std::string PgIntArray(const std::vector<int64_t>& values) {
  std::string out = "{";
  for (int64_t v : values) out += (out.size() > 1 ? "," : "") + std::to_string(v);
  return out + "}";
}

int64_t PgResult::affected() const {
  const char* n = PQcmdTuples(r_.get());
  int64_t v = 0;
  std::from_chars(n, n + std::char_traits<char>::length(n), v);
  return v;
}

int64_t PgResult::Int(int row, int col) const {
  const char* s = PQgetvalue(r_.get(), row, col);
  int64_t v = 0;
  std::from_chars(s, s + PQgetlength(r_.get(), row, col), v);
  return v;
}

Bytes PgResult::Blob(int row, int col) const {
  if (IsNull(row, col)) return Bytes();
  std::string_view hex(PQgetvalue(r_.get(), row, col), PQgetlength(r_.get(), row, col));
  if (hex.starts_with("\\x")) hex.remove_prefix(2);
  auto decoded = HexDecode(hex);
  return decoded.ok() ? std::move(decoded).value() : Bytes();
}

StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(const PgConnectOptions& options) {
  // Later keywords override earlier ones, and `dbname` expands the URL in place: the defaults
  // come first so that the URL's own settings win.
  std::vector<const char*> keys = {"connect_timeout", "keepalives_idle", "keepalives_interval",
                                   "keepalives_count", "application_name"};
  std::vector<const char*> values = {"5", "10", "5", "3", options.application_name.c_str()};
  SecretBytes password;
  if (options.password && !options.password->empty()) {
    password = options.password->Clone();
    const uint8_t nul = 0;
    password.Append({&nul, 1});
    keys.push_back("password");
    values.push_back(reinterpret_cast<const char*>(password.reveal().data()));
  }
  keys.push_back("dbname");
  values.push_back(options.url.c_str());
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (!conn) return UnavailableError("database: out of memory connecting");
  std::unique_ptr<PgConnection> c(new PgConnection(conn));
  if (PQstatus(conn) != CONNECTION_OK) {
    // libpq quotes a malformed URI in its message, and a URI may hold a password: never repeat it.
    std::string msg = OneLine(PQerrorMessage(conn));
    for (size_t at; !options.url.empty() && (at = msg.find(options.url)) != std::string::npos;)
      msg.replace(at, options.url.size(), "<the URL>");
    return UnavailableError("database: " + msg);
  }
  // Timestamps and text as sirrd expects them, whatever the server's defaults.
  // Notices ("relation already exists, skipping") are not errors: never printed.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  SIRR_RETURN_IF_ERROR(c->Exec("SET client_encoding = 'UTF8'; SET TIME ZONE 'UTC'"));
  return c;
}

PgConnection::~PgConnection() { PQfinish(conn_); }

std::string PgConnection::Where() const {
  const char* host = PQhost(conn_);
  const char* port = PQport(conn_);
  return std::string(host ? host : "?") + ":" + (port ? port : "?");
}

Status PgConnection::ErrorOf(PGresult* r, std::string_view what) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const char* msg = r ? PQresultErrorMessage(r) : PQerrorMessage(conn_);
  if (!msg || !*msg) msg = PQerrorMessage(conn_);
  return PgStatus(state ? state : "", std::string(what) + ": " + msg, broken());
}

StatusOr<PgResult> PgConnection::Query(const char* sql, const PgParams& params) {
  if (broken()) return UnavailableError("database: connection lost");
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "s" + std::to_string(prepared_.size());
    PgResult prep(PQprepare(conn_, name.c_str(), sql, 0, nullptr));
    if (PQresultStatus(prep.raw()) != PGRES_COMMAND_OK) return ErrorOf(prep.raw(), "prepare");
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  const int n = static_cast<int>(params.size());
  std::vector<const char*> values(n);
  std::vector<int> lengths(n);
  for (int i = 0; i < n; ++i) {
    values[i] = params.present_[i] ? params.values_[i].data() : nullptr;
    lengths[i] = static_cast<int>(params.values_[i].size());
  }
  PgResult r(PQexecPrepared(conn_, it->second.c_str(), n, values.data(), lengths.data(),
                            params.formats_.data(), 0));
  const ExecStatusType st = PQresultStatus(r.raw());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return ErrorOf(r.raw(), "statement");
  return r;
}

Status PgConnection::Exec(std::string_view sql) {
  if (broken()) return UnavailableError("database: connection lost");
  const std::string text(sql);
  PgResult r(PQexec(conn_, text.c_str()));
  const ExecStatusType st = PQresultStatus(r.raw());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return ErrorOf(r.raw(), "statement");
  return OkStatus();
}

}  // namespace sirr::storage
