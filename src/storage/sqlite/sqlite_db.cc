#include "storage/sqlite/sqlite_db.h"

namespace sirr::storage {

Status SqlError(sqlite3* db, std::string_view what) {
  int code = sqlite3_extended_errcode(db);
  std::string msg = "storage: " + std::string(what) + ": " + sqlite3_errmsg(db);
  // Busy, a full disk or an I/O error: the transaction is rolled back, nothing changed, and a
  // retry may work: Unavailable (503), never a 500.
  if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED ||
      (code & 0xff) == SQLITE_FULL || (code & 0xff) == SQLITE_IOERR)
    return UnavailableError(msg);
  if ((code & 0xff) == SQLITE_CONSTRAINT) return AlreadyExistsError(msg);
  return InternalError(msg);
}

}  // namespace sirr::storage
