#include "server/storage_setup.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/encoding.h"
#include "crypto/crypto.h"
#include "storage/postgres/pg_storage.h"
#include "storage/sqlite/sqlite_storage.h"

namespace sirr::server {

namespace {

bool ValidNodeId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  return true;
}

StatusOr<std::shared_ptr<const SecretBytes>> ReadPasswordFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgumentError("SIRR_DATABASE_PASSWORD_FILE " + path + " cannot be read");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t end = text.find_first_of("\r\n");
  auto password =
      std::make_shared<SecretBytes>(SecretBytes::FromString(std::string_view(text).substr(0, end)));
  SecureWipe(text.data(), text.size());
  if (password->empty())
    return InvalidArgumentError("SIRR_DATABASE_PASSWORD_FILE " + path + " is empty");
  return std::shared_ptr<const SecretBytes>(std::move(password));
}

}  // namespace

StatusOr<std::string> NodeId(const ServerConfig& config) {
  if (!config.node_id.empty()) {
    if (!ValidNodeId(config.node_id))
      return InvalidArgumentError("SIRR_NODE_ID must be 1 to 64 letters, digits, '-', '_' or '.'");
    return config.node_id;
  }
  const auto path = std::filesystem::path(config.data_dir) / "node-id";
  std::ifstream in(path);
  std::string id;
  if (in && std::getline(in, id) && ValidNodeId(id)) return id;
  if (in) return InvalidArgumentError(path.string() + " does not hold a node id; remove it");
  id = "node-" + HexEncode(crypto::SecureRandom::Get().RandomBytes(6));
  const auto tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return UnavailableError("cannot write " + tmp);
  const std::string line = id + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0)
    return UnavailableError("cannot write " + path.string());
  return id;
}

StatusOr<OpenedStorage> OpenStorage(const ServerConfig& config) {
  OpenedStorage out;
  if (config.storage == "sqlite" || config.storage.empty()) {
    const std::string db = (std::filesystem::path(config.data_dir) / "sirr.db").string();
    auto s = storage::SqliteStorage::Open(db);
    if (!s.ok()) return s.status();
    out.storage = std::move(s).value();
    out.where = "SQLite database " + db;
    return out;
  }
  if (config.storage != "postgres")
    return InvalidArgumentError("SIRR_STORAGE must be sqlite or postgres, not '" + config.storage +
                                "'");
  if (config.database_url.empty())
    return InvalidArgumentError(
        "SIRR_STORAGE=postgres needs SIRR_DATABASE_URL (e.g. "
        "postgresql://sirr@db.example.com:5432/sirr?sslmode=verify-full)");
  storage::PostgresOptions options;
  options.connect.url = config.database_url;
  if (!config.database_password_file.empty()) {
    SIRR_ASSIGN_OR_RETURN(options.connect.password,
                          ReadPasswordFile(config.database_password_file));
  }
  SIRR_ASSIGN_OR_RETURN(options.node_id, NodeId(config));
  options.connect.application_name = "sirrd/" + options.node_id;
  options.pool = config.database_pool;
  auto s = storage::PostgresStorage::Open(options);
  if (!s.ok())
    return Status(s.status().code(),
                  "storage postgres (SIRR_DATABASE_URL): " + std::string(s.status().message()));
  out.where = "PostgreSQL at " + (*s)->Where() + " (node " + options.node_id + ")";
  out.storage = std::move(s).value();
  out.postgres = true;
  out.node_id = options.node_id;
  return out;
}

}  // namespace sirr::server
