#include "core/vaults.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <sstream>

#include "core/core_test_env.h"

namespace sirr::core {
namespace {

using testing::CoreEnv;

Principal Jwt(const std::string& owner) {
  Principal p;
  p.kind = PrincipalKind::kJwt;
  p.id = owner;
  p.owner = owner;
  p.capabilities = kVaultScopedCapabilities;
  return p;
}

Principal Token(CapabilitySet caps, std::vector<std::string> vaults, bool all = false) {
  Principal p;
  p.kind = PrincipalKind::kToken;
  p.id = "token:t";
  p.token_id = "t";
  p.capabilities = caps;
  p.all_vaults = all;
  std::sort(vaults.begin(), vaults.end());
  p.vault_ids = std::move(vaults);
  return p;
}

std::string FileBytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class VaultsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(env_.keeper_->Unseal(env_.random_.RandomSecret(32)).ok()); }
  CoreEnv env_{"sirr-vaults"};
  Vaults& vaults_ = *env_.vaults_;
  Secrets& secrets_ = *env_.secrets_;
  RequestContext admin_ = CoreEnv::Ctx();
};

TEST_F(VaultsTest, CreateGetListDeleteWithNamesUniquePerOwner) {
  auto prod = vaults_.Create(admin_, {"prod", "production"});
  ASSERT_TRUE(prod.ok()) << prod.status();
  EXPECT_TRUE(prod->wrapped_key.empty());  // never handed out
  EXPECT_EQ(vaults_.Create(admin_, {"prod", ""}).status().code(), StatusCode::kAlreadyExists);
  // The same name in another owner's namespace is a different vault.
  auto org = CoreEnv::Ctx(Jwt("organization:o1"));
  auto theirs = vaults_.Create(org, {"prod", ""});
  ASSERT_TRUE(theirs.ok());
  EXPECT_EQ(theirs->owner, "organization:o1");
  EXPECT_EQ(vaults_.Get(admin_, "prod")->id, prod->id);
  EXPECT_EQ(vaults_.Get(org, "prod")->id, theirs->id);
  EXPECT_EQ(vaults_.Get(admin_, theirs->id)->id, theirs->id);  // admin reaches it by id
  EXPECT_EQ(vaults_.List(admin_, 0, 10)->total, 3);            // default, prod, theirs
  EXPECT_EQ(vaults_.List(org, 0, 10)->total, 1);
  ASSERT_TRUE(vaults_.Create(admin_, {"vaulty vault", ""}).ok());  // display names
  EXPECT_EQ(vaults_.Get(admin_, "vaulty vault")->name, "vaulty vault");
  EXPECT_EQ(vaults_.Delete(admin_, "vaulty vault", false).status().code(), StatusCode::kOk);
  for (const char* bad : {"", "-x", " a", "a ", "a  b", "a/b", "ü"})
    EXPECT_EQ(vaults_.Create(admin_, {bad, ""}).status().code(), StatusCode::kInvalidArgument)
        << bad;
  EXPECT_EQ(vaults_.Create(admin_, {std::string(65, 'a'), ""}).status().code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(vaults_.Delete(admin_, "prod", false).ok());
  EXPECT_EQ(vaults_.Get(admin_, "prod").status().code(), StatusCode::kNotFound);
}

TEST_F(VaultsTest, OutOfScopeVaultsLookExactlyLikeMissingOnes) {
  auto o1 = CoreEnv::Ctx(Jwt("organization:o1"));
  auto o2 = CoreEnv::Ctx(Jwt("organization:o2"));
  auto mine = vaults_.Create(o1, {"keys", ""});
  ASSERT_TRUE(mine.ok());
  ASSERT_TRUE(secrets_.Push(o1, CoreEnv::Req("a", "v", "keys")).ok());
  for (const std::string& ref : {mine->id, std::string("keys")}) {
    auto theirs = vaults_.Get(o2, ref);
    auto missing = vaults_.Get(o2, "no-such-vault");
    EXPECT_EQ(theirs.status().code(), StatusCode::kNotFound);
    EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
    EXPECT_EQ(secrets_.Pull(o2, ref, "a").status().code(), StatusCode::kNotFound);
    EXPECT_EQ(vaults_.Delete(o2, ref, true).status().code(), StatusCode::kNotFound);
  }
  EXPECT_EQ(vaults_.List(o2, 0, 10)->total, 0);
  // A JWT principal never sees instance vaults either.
  EXPECT_EQ(vaults_.Get(o1, "default").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(secrets_.Pull(o1, mine->id, "a")->value.reveal_string(), "v");
}

TEST_F(VaultsTest, TokensSeeTheirVaultsAndCreatedVaultsJoinTheirScope) {
  auto a = vaults_.Create(admin_, {"a", ""});
  auto b = vaults_.Create(admin_, {"b", ""});
  ASSERT_TRUE(a.ok() && b.ok());
  // The token row must exist for a created vault to be granted to it.
  ASSERT_TRUE(
      env_.storage_
          ->CreateToken(
              {"t", "t", Bytes(32, 1), "vaults:create", false, {}, 1, "admin", {}, {}, 0, {}})
          .ok());
  auto scoped =
      CoreEnv::Ctx(Token(Bit(Capability::kSecretsList) | Bit(Capability::kVaultsCreate), {a->id}));
  EXPECT_TRUE(vaults_.Get(scoped, "a").ok());
  EXPECT_EQ(vaults_.Get(scoped, "b").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(vaults_.List(scoped, 0, 10)->total, 1);
  auto c = vaults_.Create(scoped, {"c", ""});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(env_.storage_->GetToken("t")->vault_ids, std::vector<std::string>{c->id});
  auto star = CoreEnv::Ctx(Token(Bit(Capability::kSecretsList), {}, true));
  EXPECT_EQ(vaults_.List(star, 0, 10)->total, 4);  // default, a, b, c
}

TEST_F(VaultsTest, CapabilitiesAreCheckedBeforeScopeAndNamed) {
  auto reader = CoreEnv::Ctx(Token(Bit(Capability::kSecretsRead), {}, true));
  auto created = vaults_.Create(reader, {"x", ""});
  ASSERT_EQ(created.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(created.status().message().find("vaults:create"), std::string::npos);
  auto deleted = vaults_.Delete(reader, "default", false);
  EXPECT_EQ(deleted.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(deleted.status().message().find("vaults:delete"), std::string::npos);
  auto push = secrets_.Push(reader, CoreEnv::Req("n", "v"));
  EXPECT_EQ(push.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(push.status().message().find("secrets:write"), std::string::npos);
}

TEST_F(VaultsTest, DeletingANonEmptyVaultNeedsForce) {
  ASSERT_TRUE(vaults_.Create(admin_, {"full", ""}).ok());
  ASSERT_TRUE(secrets_.Push(admin_, CoreEnv::Req("a", "v", "full")).ok());
  auto refused = vaults_.Delete(admin_, "full", false);
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("force"), std::string::npos);
  EXPECT_EQ(secrets_.Pull(admin_, "full", "a")->value.reveal_string(), "v");  // untouched
  auto forced = vaults_.Delete(admin_, "full", true);
  ASSERT_TRUE(forced.ok());
  EXPECT_EQ(forced->secrets_destroyed, 1);
}

// A ciphertext copied into another vault's row does not decrypt there: the AAD binds it to
// its vault and record, and the other vault's key differs anyway.
TEST_F(VaultsTest, CiphertextCopiedIntoAnotherVaultFailsToDecrypt) {
  auto a = vaults_.Create(admin_, {"a", ""});
  auto b = vaults_.Create(admin_, {"b", ""});
  ASSERT_TRUE(secrets_.Push(admin_, CoreEnv::Req("s", "alpha", "a")).ok());
  ASSERT_TRUE(secrets_.Push(admin_, CoreEnv::Req("s", "bravo", "b")).ok());
  const int64_t now = env_.clock_.NowMillis();
  auto from_a = env_.storage_->ReadSecret(a->id, "s", now);
  auto in_b = env_.storage_->GetSecretMeta(b->id, "s");
  ASSERT_TRUE(from_a.ok() && in_b.ok());
  storage::SecretRow moved = *in_b;
  moved.value = from_a->value;  // a's ciphertext in b's row
  ASSERT_TRUE(env_.storage_->PutSecret(moved, true, now).ok());
  auto pulled = secrets_.Pull(admin_, "b", "s");
  EXPECT_EQ(pulled.status().code(), StatusCode::kDataLoss);
  // The same ciphertext under a new record id in its own vault fails too (record binding).
  storage::SecretRow renamed = *from_a;
  renamed.id = "another-id";
  renamed.name = "t";
  ASSERT_TRUE(env_.storage_->PutSecret(renamed, false, now).ok());
  EXPECT_EQ(secrets_.Pull(admin_, "a", "t").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(secrets_.Pull(admin_, "a", "s")->value.reveal_string(), "alpha");
}

// Crypto-shredding: after a forced delete neither the wrapped vault key nor any ciphertext of
// the vault is left in the database files (main file, WAL, shared memory).
TEST_F(VaultsTest, ForcedDeleteLeavesNothingDecryptableInTheDatabaseFiles) {
  auto v = vaults_.Create(admin_, {"doomed", ""});
  ASSERT_TRUE(v.ok());
  std::vector<Bytes> ciphertexts;
  for (int i = 0; i < 20; ++i) {
    auto row = secrets_.Push(admin_, CoreEnv::Req("s" + std::to_string(i), "value", "doomed"));
    ASSERT_TRUE(row.ok());
    ciphertexts.push_back(
        env_.storage_->ReadSecret(v->id, row->name, env_.clock_.NowMillis())->value);
  }
  const Bytes wrapped = env_.storage_->GetVault(v->id, "")->wrapped_key;
  ASSERT_GT(wrapped.size(), 40u);
  const std::string db = env_.db_path();
  // Move everything into the main file first, so the test sees that the copies are there
  // before the delete (and would see them after, were they not zeroed).
  {
    sqlite3* c = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &c), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(c, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(c);
    const std::string before = FileBytes(db);
    ASSERT_NE(before.find(std::string(wrapped.begin(), wrapped.end())), std::string::npos);
    ASSERT_NE(before.find(std::string(ciphertexts[0].begin(), ciphertexts[0].end())),
              std::string::npos);
  }
  ASSERT_TRUE(vaults_.Delete(admin_, "doomed", true).ok());
  for (const std::string& f : {db, db + "-wal", db + "-shm"}) {
    const std::string bytes = FileBytes(f);
    auto contains = [&](const Bytes& b) {
      return bytes.find(std::string(b.begin(), b.end())) != std::string::npos;
    };
    EXPECT_FALSE(contains(wrapped)) << f;
    for (const auto& c : ciphertexts) EXPECT_FALSE(contains(c)) << f;
  }
  EXPECT_EQ(env_.storage_->GetVault(v->id, "").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace sirr::core
