#pragma once

// Storage: the persistence interface. Everything here is ciphertext or metadata; no plaintext
// secret value or key ever crosses this interface. No SQL outside src/storage/.
//
// Contract: every method is atomic (one transaction). Thread safety: implementations are
// thread-safe; any number of threads may call concurrently.

#include <cctype>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/metrics.h"
#include "base/secret_bytes.h"
#include "base/status.h"

namespace sirr::storage {

// Row ids are UUIDs (8-4-4-4-12 hex digits): only such a reference needs a by-id lookup
// (backends look a reference up by id first, then by name).
inline bool LooksLikeId(std::string_view ref) {
  if (ref.size() != 36) return false;
  for (size_t i = 0; i < ref.size(); ++i) {
    const char c = ref[i];
    const bool hyphen = i == 8 || i == 13 || i == 18 || i == 23;
    if (hyphen ? c != '-' : !std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Keyring row states (stored as text; the schema checks the set).
inline constexpr std::string_view kKeyActive = "active";
inline constexpr std::string_view kKeyRetiring = "retiring";
inline constexpr std::string_view kKeyRetired = "retired";

struct KeyringRow {
  int version = 0;
  Bytes key_id;            // 8 bytes
  std::string state;       // kKeyActive, kKeyRetiring or kKeyRetired
  int64_t created_at = 0;  // ms since epoch
  int64_t updated_at = 0;
  Bytes key_check;  // envelope v1 of a fixed string under the wrap key
  // The audit chain key wrapped by this version's wrap key (envelope kind `audit-key`); empty
  // in rows written before schema 7 until the next unseal fills it.
  Bytes audit_key;
};

struct VaultRow {
  std::string id;
  std::string name;
  std::string description;
  int64_t created_at = 0;
  Bytes wrapped_key;  // envelope v1 of the vault master key under the wrap key; empty: shredded
  // The namespace the vault belongs to: "" for instance vaults (admin and API tokens),
  // "application:<uuid>", "organization:<uuid>" or "user:<uuid>" for JWT principals.
  // Names are unique per owner.
  std::string owner;
};

// Which vaults a listing may return: all of them, those of one owner, and/or listed ids.
struct VaultScope {
  bool everything = false;
  std::optional<std::string> owner;
  std::vector<std::string> ids;
};

struct VaultPage {
  std::vector<VaultRow> rows;  // wrapped_key not filled
  int64_t total = 0;
};

struct TokenRow {
  std::string id;
  std::string name;
  Bytes hash;                // SHA-256 of the token value; the value itself is never stored
  std::string capabilities;  // space-separated capability names
  bool all_vaults = false;   // "*": every instance vault
  std::vector<std::string> vault_ids;
  int64_t created_at = 0;
  std::string created_by;  // principal id
  std::optional<int64_t> expires_at;
  std::optional<int64_t> max_uses;
  int64_t uses = 0;  // counted for tokens with max_uses
  std::optional<int64_t> revoked_at;
};

// A key in a vault. `material` is the private part (or symmetric key) sealed in envelope v1
// under the vault key with AAD "sirr/v1/key/<vault id>/<key id>"; `public_key` is public.
struct KeyRow {
  std::string id;
  std::string vault_id;
  std::string name;
  std::string description;
  std::string spec;   // canonical spec name
  std::string type;   // "symmetric" / "asymmetric"
  std::string usage;  // "encrypt/decrypt" / "sign/verify"
  int64_t created_at = 0;
  Bytes public_key;                      // empty for symmetric keys
  Bytes material;                        // envelope v1; filled only where asked for
  std::optional<int64_t> hd_last_index;  // BIP39 keys: the last BIP44 index used, if any
};

struct KeyFilter {
  std::string spec;  // canonical name; empty: any
  std::string type;  // empty: any
  int64_t offset = 0;
  int64_t limit = 25;
};

struct KeyPage {
  std::vector<KeyRow> rows;  // material not filled
  int64_t total = 0;
};

enum class SecretState { kLive = 0, kBurned = 1, kExpired = 2 };

struct SecretRow {
  std::string id;
  std::string vault_id;
  std::string name;
  std::string type;
  std::string description;
  int64_t created_at = 0;
  std::optional<int64_t> expires_at;  // ms since epoch
  std::optional<int64_t> max_reads;
  std::optional<int64_t> reads_remaining;  // null: unlimited
  SecretState state = SecretState::kLive;
  std::optional<int64_t> gone_at;  // when burned/expired
  // What the (client-side) value is: "" for plain values, "application/age" for an age file
  // encrypted before it reached the server, "application/vnd.sirr.share.v1" for a share link.
  std::string content_type;
  // Share links: SHA-256 of the proof a reveal must present (empty: none needed). Not secret
  // on its own: the proof is derived from a key the server never sees.
  Bytes access_hash;
  Bytes value;  // envelope v1; empty once burned/expired
};

struct SecretFilter {
  std::string type;    // empty: any
  std::string prefix;  // empty: any
  int64_t offset = 0;
  int64_t limit = 25;
};

struct SecretPage {
  std::vector<SecretRow> rows;  // values not filled
  int64_t total = 0;
};

// --- The audit journal ("audit before commit", DESIGN.md §7, docs/formats.md). A write that
// changes state carries a Journal: called inside the write's transaction, after its statements
// succeeded, with what the transaction found or did; the records it returns are inserted into
// the journal table in that same transaction. So a change commits together with its audit
// records or not at all. After the COMMIT the storage hands the records, in commit order, to
// the JournalSink (the audit log file); the journal rows are purged once the file holding them
// is synced (PurgeJournal). A write that fails (or is rolled back) leaves no journal row.
struct JournalEntry {
  int64_t id = 0;       // journal row id, assigned by the storage: increases in commit order
  int64_t time_ms = 0;  // when the event happened
  std::string fields;   // the serialised event (audit::EventFields); never secret material
};
// What the transaction found or did: `secret` (ReadSecret, DeleteSecret, ExpireDue: one call
// per row), `key` (DeleteKey), `index` (NextHdIndex: the index taken; RewrapVaultKeys: how many
// were rewrapped); nothing for the other writes.
struct JournalContext {
  const SecretRow* secret = nullptr;
  const KeyRow* key = nullptr;
  int64_t index = 0;
};
using Journal = std::function<std::vector<JournalEntry>(const JournalContext&)>;

// Receives committed journal records. Thread safety: called by one committing thread at a
// time, in commit order.
class JournalSink {
 public:
  virtual ~JournalSink() = default;
  // OK when records can be taken now. A write with a journal is refused (Unavailable, nothing
  // changed) while this fails, so committed-but-unwritten records stay bounded.
  virtual Status Ready() = 0;
  // The records of one committed transaction batch, in journal id order.
  virtual void Committed(std::vector<JournalEntry> entries) = 0;
};

// What a backend measures (registered by the composition root under sirr_storage_*).
struct StorageMetrics {
  metrics::Histogram commit_seconds{metrics::Histogram::LatencyBounds()};
  metrics::Histogram batch_size{{1, 2, 4, 8, 16, 32, 64, 128}};  // writes per commit
  metrics::Counter cache_hits;
  metrics::Counter cache_misses;
  metrics::Counter checkpoints;  // background WAL checkpoints
  metrics::Histogram checkpoint_seconds{metrics::Histogram::LatencyBounds()};
};

// Live rows, for the gauges (a COUNT each: called by a background refresh, not per scrape).
struct LiveCounts {
  int64_t secrets = 0;
  int64_t vaults = 0;
  int64_t keys = 0;
  int64_t tokens = 0;  // neither revoked nor expired
};

class Storage {
 public:
  virtual ~Storage() = default;

  virtual const StorageMetrics& metrics() const = 0;
  virtual StatusOr<LiveCounts> CountLive(int64_t now) = 0;

  // --- keyring and instance
  virtual StatusOr<std::vector<KeyringRow>> ListKeyring() = 0;
  // --- master key rotation (docs/sealing.md): vault master keys are the only records the
  // master key wraps; the envelope's key id (bytes 1..8) names the version that sealed each.
  // Adds `row` (state active) and marks every other active version retiring, in one
  // transaction. FailedPrecondition if the version or key id exists.
  virtual Status AddKeyVersion(const KeyringRow& row, const Journal& journal = {}) = 0;
  // Stores the audit chain key wrapped by `version`'s key (rows that lack it).
  virtual Status SetAuditKey(int version, const Bytes& wrapped) = 0;
  virtual Status SetKeyState(int version, std::string_view state, int64_t now,
                             const Journal& journal = {}) = 0;
  // Vaults whose key is (`wrapped_by`) or is not (!`wrapped_by`) wrapped by `key_id`
  // (shredded keys are not counted either way).
  virtual StatusOr<int64_t> CountVaultKeys(const Bytes& key_id, bool wrapped_by) = 0;
  // Up to `limit` vaults (id, wrapped_key) whose key is NOT wrapped by `key_id`, ids > `after`.
  virtual StatusOr<std::vector<VaultRow>> VaultsNotWrappedBy(const Bytes& key_id,
                                                             std::string_view after, int limit) = 0;
  struct Rewrap {
    std::string vault_id;
    Bytes old_wrapped, new_wrapped;
  };
  // Replaces each vault's wrapped key in one transaction, only where it still equals
  // old_wrapped (a vault shredded or rewrapped meanwhile is left alone). Returns how many.
  virtual StatusOr<int64_t> RewrapVaultKeys(const std::vector<Rewrap>& rewraps,
                                            const Journal& journal = {}) = 0;
  // A consistent copy of the whole database at `dest` (SQLite online backup, in steps so
  // writers continue), file mode 0600.
  virtual Status BackupTo(const std::string& dest) = 0;
  virtual StatusOr<int64_t> CountVaults() = 0;
  // Creates keyring version 1 and the first vault in one transaction. FailedPrecondition
  // if a keyring already exists (never initialises a second keyring over existing data).
  virtual Status InitializeInstance(const KeyringRow& key, const VaultRow& vault,
                                    const Journal& journal = {}) = 0;

  // --- vaults
  // The vault with this id (any owner), else the one with this name among `name_owner`'s
  // vaults. NotFound.
  virtual StatusOr<VaultRow> GetVault(std::string_view id_or_name, std::string_view name_owner) = 0;
  // AlreadyExists when the owner already has a vault of that name. A non-empty
  // `grant_token_id` adds the new vault to that token's scope in the same transaction.
  virtual Status CreateVault(const VaultRow& row, std::string_view grant_token_id,
                             const Journal& journal = {}) = 0;
  // Ordered by owner, then name. Never the system vaults (owner "system:…").
  virtual StatusOr<VaultPage> ListVaults(const VaultScope& scope, int64_t offset,
                                         int64_t limit) = 0;
  // Live secrets in the vault (tombstones hold no value and are not counted).
  virtual StatusOr<int64_t> CountLiveSecrets(std::string_view vault_id) = 0;
  // Crypto-shredding: overwrites the wrapped vault key, after which nothing in the vault can be
  // decrypted. NotFound.
  virtual Status ShredVaultKey(std::string_view vault_id, const Journal& journal = {}) = 0;
  // Deletes the vault, its secrets (any state), keys and token grants for it, then compacts
  // the write-ahead log so that no copy of the deleted rows stays in the database files.
  // Returns the number of secret and key rows removed. NotFound.
  virtual StatusOr<int64_t> DeleteVault(std::string_view vault_id, const Journal& journal = {}) = 0;

  // --- API tokens
  virtual Status CreateToken(const TokenRow& row, const Journal& journal = {}) = 0;
  // The token (any state) with this hash. NotFound.
  virtual StatusOr<TokenRow> FindTokenByHash(const Bytes& hash) = 0;
  virtual StatusOr<TokenRow> GetToken(std::string_view id) = 0;  // NotFound
  // Counts one use of a token with max_uses, atomically: false when it is used up or revoked.
  virtual StatusOr<bool> ConsumeTokenUse(std::string_view id) = 0;
  // All tokens, newest first (revoked ones too).
  virtual StatusOr<std::vector<TokenRow>> ListTokens() = 0;
  // Revokes the token and, transitively, every token it created. NotFound; revoking a revoked
  // token keeps the first revocation time.
  virtual Status RevokeToken(std::string_view id, int64_t now, const Journal& journal = {}) = 0;

  // --- secrets
  // Inserts a live secret. When a secret of that name exists: a live, unexpired one is
  // AlreadyExists unless `overwrite`; otherwise (or with overwrite) it is replaced.
  virtual Status PutSecret(const SecretRow& row, bool overwrite, int64_t now,
                           const Journal& journal = {}) = 0;
  // Metadata (value not filled) of the secret by id or name, in any state. NotFound.
  virtual StatusOr<SecretRow> GetSecretMeta(std::string_view vault_id,
                                            std::string_view id_or_name) = 0;
  // One read, atomically: a live secret past its expiry is marked expired (value destroyed)
  // and returned with state kExpired; a read-limited one has reads_remaining decremented, and
  // the read that exhausts it returns the value and destroys it (state kBurned) in the same
  // transaction. A burned/expired secret is returned with its state and no value. NotFound.
  virtual StatusOr<SecretRow> ReadSecret(std::string_view vault_id, std::string_view id_or_name,
                                         int64_t now, const Journal& journal = {}) = 0;
  // Live, unexpired secrets (metadata only) ordered by name.
  virtual StatusOr<SecretPage> ListSecrets(std::string_view vault_id, const SecretFilter& filter,
                                           int64_t now) = 0;
  // Removes the row (any state); returns its metadata. NotFound.
  virtual StatusOr<SecretRow> DeleteSecret(std::string_view vault_id, std::string_view id_or_name,
                                           const Journal& journal = {}) = 0;
  // Destroys the values of live secrets whose expiry is <= now; returns their metadata.
  virtual StatusOr<std::vector<SecretRow>> ExpireDue(int64_t now, int limit,
                                                     const Journal& journal = {}) = 0;
  // Deletes burned/expired tombstones that went away at or before `gone_before`.
  virtual StatusOr<int64_t> PurgeTombstones(int64_t gone_before) = 0;

  // --- keys
  // AlreadyExists when the vault already has a key of that name.
  virtual Status CreateKey(const KeyRow& row, const Journal& journal = {}) = 0;
  // The key by id, else by name (an id match wins). NotFound.
  virtual StatusOr<KeyRow> GetKey(std::string_view vault_id, std::string_view id_or_name,
                                  bool with_material) = 0;
  // Ordered by creation time, then id.
  virtual StatusOr<KeyPage> ListKeys(std::string_view vault_id, const KeyFilter& filter) = 0;
  virtual StatusOr<int64_t> CountKeys(std::string_view vault_id) = 0;
  // Removes the key; returns its metadata. NotFound.
  virtual StatusOr<KeyRow> DeleteKey(std::string_view vault_id, std::string_view id_or_name,
                                     const Journal& journal = {}) = 0;
  // BIP39 keys: takes the key's next BIP44 index (0, 1, 2, …) and records it as the last used,
  // atomically and durably: concurrent callers never get the same index.
  virtual StatusOr<int64_t> NextHdIndex(std::string_view vault_id, std::string_view key_id,
                                        const Journal& journal = {}) = 0;

  // --- audit chain head (to detect truncation of the audit log) and journal
  // Records the chain head and, in the same transaction, removes the journal rows with
  // id <= `journal_written` (their records are in a synced audit file).
  virtual Status SaveAuditHead(int64_t seq, const Bytes& mac, int64_t journal_written = 0) = 0;
  // Journal rows with id > `after`, in id order (at most `limit`): records committed but
  // perhaps not yet in the audit file (after a crash).
  virtual StatusOr<std::vector<JournalEntry>> ReadJournal(int64_t after, int limit) = 0;
  // Where committed journal records go; null: nowhere (tools, tests). Set before serving.
  virtual void SetJournalSink(JournalSink* sink) = 0;
  virtual StatusOr<std::optional<std::pair<int64_t, Bytes>>> LoadAuditHead() = 0;

  // --- node-wide jobs (several sirrd nodes on one database)
  // Holds the instance-wide lock named `job` (e.g. "rotation") while the returned holder lives.
  // FailedPrecondition when another node holds it. Single-process backends (SQLite, whose data
  // directory is locked by one sirrd) always grant it.
  virtual StatusOr<std::shared_ptr<void>> LockJob(std::string_view job) {
    (void)job;
    return std::shared_ptr<void>(std::make_shared<int>(0));
  }
};

}  // namespace sirr::storage
