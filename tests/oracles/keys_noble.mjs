// Oracle: @noble/curves secp256k1 (RFC 6979, low-S) and @noble/hashes Keccak-256, for Sirr's
// key tests. Reads a JSON array on stdin, writes a JSON array on stdout.
//   node keys_noble.mjs sign   [{private_key, digest}]            -> [{signature, public_key, address}]
//   node keys_noble.mjs check  [{public_key, digest, signature, address}]
//                                                                  -> [{verified, recovered, address}]
// Signatures are Ethereum-style r|s|v (v = recovery id 0/1); hex without 0x except addresses.
// Must sit next to node_modules (ESM resolves packages beside the script).
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { readFileSync } from 'node:fs';

const hex = (b) => Buffer.from(b).toString('hex');
const bytes = (h) => Uint8Array.from(Buffer.from(h.replace(/^0x/, ''), 'hex'));

function address(pub) {
  const lower = hex(keccak_256(pub.slice(1)).slice(12));
  const h = hex(keccak_256(new TextEncoder().encode(lower)));
  let out = '0x';
  for (let i = 0; i < 40; i++) out += parseInt(h[i], 16) >= 8 ? lower[i].toUpperCase() : lower[i];
  return out;
}

const mode = process.argv[2];
const items = JSON.parse(readFileSync(0, 'utf8'));
const out = items.map((it) => {
  if (mode === 'sign') {
    const sk = bytes(it.private_key);
    const rec = secp256k1.sign(bytes(it.digest), sk, { prehash: false, format: 'recovered' });
    const sig = new Uint8Array([...rec.slice(1), rec[0]]);  // recovery byte first in noble
    const pub = secp256k1.getPublicKey(sk, false);
    return { signature: hex(sig), public_key: hex(pub), address: address(pub) };
  }
  if (mode === 'check') {
    const sig = bytes(it.signature), digest = bytes(it.digest), pub = bytes(it.public_key);
    const verified = secp256k1.verify(sig.slice(0, 64), digest, pub, { prehash: false });
    const rec = new Uint8Array([sig[64], ...sig.slice(0, 64)]);
    const recovered = secp256k1.recoverPublicKey(rec, digest, { prehash: false });
    const full = (b) => hex(secp256k1.Point.fromBytes(b).toBytes(false));
    return {
      verified,
      recovered: full(recovered) === full(pub),
      address: address(secp256k1.Point.fromBytes(pub).toBytes(false)) === it.address,
    };
  }
  throw new Error('mode must be sign or check');
});
process.stdout.write(JSON.stringify(out) + '\n');
