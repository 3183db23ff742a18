#include "storage/postgres/pg_conn.h"

#include <charconv>
#include <utility>

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

StatusOr<const std::string*> PgConnection::Prepared(const char* sql) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "s" + std::to_string(prepared_.size());
    PgResult prep(PQprepare(conn_, name.c_str(), sql, 0, nullptr));
    if (PQresultStatus(prep.raw()) != PGRES_COMMAND_OK) return ErrorOf(prep.raw(), "prepare");
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  return &it->second;
}

PgConnection::RawParams::RawParams(const PgParams& params)
    : values(params.size()), lengths(params.size()) {
  for (size_t i = 0; i < params.size(); ++i) {
    values[i] = params.present_[i] ? params.values_[i].data() : nullptr;
    lengths[i] = static_cast<int>(params.values_[i].size());
  }
}

StatusOr<PgResult> PgConnection::Query(const char* sql, const PgParams& params) {
  if (begin_pending_) return std::move(Pipeline({{sql, &params}}).front());
  if (broken()) return UnavailableError("database: connection lost");
  SIRR_ASSIGN_OR_RETURN(const std::string* name, Prepared(sql));
  RawParams raw(params);
  PgResult r(PQexecPrepared(conn_, name->c_str(), static_cast<int>(params.size()),
                            raw.values.data(), raw.lengths.data(), params.formats_.data(), 0));
  const ExecStatusType st = PQresultStatus(r.raw());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return ErrorOf(r.raw(), "statement");
  return r;
}

std::vector<StatusOr<PgResult>> PgConnection::Pipeline(const std::vector<Statement>& statements) {
  std::vector<StatusOr<PgResult>> out;
  auto finish = [&](const Status& st) {  // every statement without a result gets `st`
    while (out.size() < statements.size()) out.push_back(st);
    return std::move(out);
  };
  if (broken()) return finish(UnavailableError("database: connection lost"));
  std::vector<const std::string*> names;
  for (const Statement& s : statements) {
    auto name = Prepared(s.sql);
    if (!name.ok()) return finish(name.status());  // nothing sent (a pending BEGIN stays so)
    names.push_back(*name);
  }
  const bool begin = std::exchange(begin_pending_, false);
  if (PQenterPipelineMode(conn_) != 1) return finish(ErrorOf(nullptr, "pipeline"));
  bool sent =
      !begin || PQsendQueryParams(conn_, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
  for (size_t i = 0; sent && i < statements.size(); ++i) {
    const PgParams& p = *statements[i].params;
    RawParams raw(p);
    sent = PQsendQueryPrepared(conn_, names[i]->c_str(), static_cast<int>(p.size()),
                               raw.values.data(), raw.lengths.data(), p.formats_.data(), 0) == 1;
  }
  sent = sent && PQpipelineSync(conn_) == 1;  // also flushes what was queued
  if (!sent) {
    // The connection is in an unknown state: never used again.
    unusable_ = true;
    return finish(UnavailableError("database: " + OneLine(PQerrorMessage(conn_))));
  }
  // One result per statement (then the NULL that ends it), then the sync. A failed statement
  // makes the server skip the rest: they report PGRES_PIPELINE_ABORTED and get its error.
  Status failed = OkStatus();
  auto next = [&]() -> StatusOr<PgResult> {
    PGresult* raw = PQgetResult(conn_);
    if (!raw) {
      unusable_ = true;
      return UnavailableError("database: connection lost");
    }
    PgResult r(raw);
    const ExecStatusType st = PQresultStatus(raw);
    if (PGresult* end = PQgetResult(conn_)) {  // more than one result: not ours to read
      PQclear(end);
      unusable_ = true;
      return UnavailableError("database: unexpected results in a pipeline");
    }
    if (st == PGRES_PIPELINE_ABORTED)
      return failed.ok() ? InternalError("database: statement skipped") : failed;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return ErrorOf(raw, "statement");
    return r;
  };
  if (begin) {
    auto r = next();
    if (!r.ok()) failed = r.status();
    if (unusable_ || broken()) return finish(failed);
  }
  for (size_t i = 0; i < statements.size(); ++i) {
    auto r = next();
    if (!r.ok() && failed.ok()) failed = r.status();
    out.push_back(failed.ok() ? std::move(r) : StatusOr<PgResult>(failed));
    if (unusable_ || broken())
      return finish(failed.ok() ? UnavailableError("database: connection lost") : failed);
  }
  PGresult* sync = PQgetResult(conn_);
  const bool synced = sync && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
  if (sync) PQclear(sync);
  if (!synced || PQexitPipelineMode(conn_) != 1) unusable_ = true;
  return out;
}

Status PgConnection::Rollback() {
  if (std::exchange(begin_pending_, false)) return OkStatus();  // nothing was begun
  return Exec("ROLLBACK");
}

Status PgConnection::Exec(std::string_view sql) {
  if (broken()) return UnavailableError("database: connection lost");
  const std::string text =
      (std::exchange(begin_pending_, false) ? "BEGIN; " : "") + std::string(sql);
  PgResult r(PQexec(conn_, text.c_str()));
  const ExecStatusType st = PQresultStatus(r.raw());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return ErrorOf(r.raw(), "statement");
  return OkStatus();
}

}  // namespace sirr::storage
