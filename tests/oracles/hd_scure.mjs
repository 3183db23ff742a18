// Oracle: @scure/bip39 + @scure/bip32 (+ @noble/hashes Keccak-256 for addresses), for Sirr's HD
// wallet tests. Reads a JSON array on stdin, writes a JSON array on stdout.
//   node hd_scure.mjs derive [{mnemonic, passphrase, path}]
//     -> [{seed, root_xpub, xpub, public_key (compressed), private_key, address}]
// Hex without 0x; address EIP-55. Must sit next to node_modules (ESM resolves beside the script).
import { mnemonicToSeedSync } from '@scure/bip39';
import { HDKey } from '@scure/bip32';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { readFileSync } from 'node:fs';

const hex = (b) => Buffer.from(b).toString('hex');

function address(compressed) {
  const pub = secp256k1.Point.fromBytes(compressed).toBytes(false);
  const lower = hex(keccak_256(pub.slice(1)).slice(12));
  const h = hex(keccak_256(new TextEncoder().encode(lower)));
  let out = '0x';
  for (let i = 0; i < 40; i++) out += parseInt(h[i], 16) >= 8 ? lower[i].toUpperCase() : lower[i];
  return out;
}

const items = JSON.parse(readFileSync(0, 'utf8'));
const out = items.map((it) => {
  const seed = mnemonicToSeedSync(it.mnemonic, it.passphrase);
  const root = HDKey.fromMasterSeed(seed);
  const key = root.derive(it.path);
  return {
    seed: hex(seed),
    root_xpub: root.publicExtendedKey,
    xpub: key.publicExtendedKey,
    public_key: hex(key.publicKey),
    private_key: hex(key.privateKey),
    address: address(key.publicKey),
  };
});
process.stdout.write(JSON.stringify(out));
