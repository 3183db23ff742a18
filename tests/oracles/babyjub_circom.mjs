// Oracle: circomlibjs (iden3's Baby Jubjub EdDSA-Poseidon and Poseidon) and blake-hash (its
// BLAKE-512), for Sirr's Baby Jubjub tests. Reads a JSON array on stdin, writes a JSON array.
//   node babyjub_circom.mjs blake    [hex]                       -> [blake512 hex]
//   node babyjub_circom.mjs poseidon [[0x field elements]]       -> [0x hash]
//   node babyjub_circom.mjs sign     [{private_key, message}]    -> [{public_key, signature}]
//   node babyjub_circom.mjs verify   [{public_key, message, signature}] -> [bool]
// Keys and signatures are packed hex (no 0x); messages are 0x-hex field elements.
// Must sit next to node_modules (ESM resolves beside the script).
import { buildEddsa, buildPoseidon } from 'circomlibjs';
import createBlakeHash from 'blake-hash';
import { readFileSync } from 'node:fs';

const hex = (b) => Buffer.from(b).toString('hex');
const op = process.argv[2];
const items = JSON.parse(readFileSync(0, 'utf8'));
let out;
if (op === 'blake') {
  out = items.map((h) => hex(createBlakeHash('blake512').update(Buffer.from(h, 'hex')).digest()));
} else {
  const eddsa = await buildEddsa();
  const F = eddsa.babyJub.F;
  if (op === 'poseidon') {
    const poseidon = await buildPoseidon();
    out = items.map((xs) => '0x' + poseidon.F.toObject(poseidon(xs.map((x) => BigInt(x)))).toString(16));
  } else if (op === 'sign') {
    out = items.map((it) => {
      const prv = Buffer.from(it.private_key, 'hex');
      const pub = eddsa.prv2pub(prv);
      const sig = eddsa.signPoseidon(prv, F.e(BigInt(it.message)));
      return { public_key: hex(eddsa.babyJub.packPoint(pub)), signature: hex(eddsa.packSignature(sig)) };
    });
  } else if (op === 'verify') {
    out = items.map((it) => {
      const pub = eddsa.babyJub.unpackPoint(Buffer.from(it.public_key, 'hex'));
      const sig = eddsa.unpackSignature(Buffer.from(it.signature, 'hex'));
      if (!pub || !sig.R8) return false;
      return eddsa.verifyPoseidon(F.e(BigInt(it.message)), sig, pub);
    });
  } else {
    throw new Error('unknown op ' + op);
  }
}
process.stdout.write(JSON.stringify(out));
globalThis.curve_bn128?.terminate?.();
