// The npm age-encryption package (TypeScript age) as a command, for interoperability tests.
// Copied next to node_modules (.oracles/node) before it runs: ESM resolves packages beside the
// script. Commands (IN/OUT are files; armored input is detected):
//   encrypt-r RECIPIENT IN OUT [armor]     encrypt-p PASSPHRASE IN OUT [armor]
//   decrypt-i IDENTITY_FILE IN OUT         decrypt-p PASSPHRASE IN OUT
import * as age from 'age-encryption';
import { readFileSync, writeFileSync } from 'node:fs';

const [op, key, input, output, armor] = process.argv.slice(2);
const bytes = new Uint8Array(readFileSync(input));
if (op.startsWith('encrypt')) {
  const e = new age.Encrypter();
  if (op === 'encrypt-r') e.addRecipient(key);
  else e.setPassphrase(key);
  const ct = await e.encrypt(bytes);
  writeFileSync(output, armor === 'armor' ? age.armor.encode(ct) : ct);
} else {
  const d = new age.Decrypter();
  if (op === 'decrypt-i') {
    for (const l of readFileSync(key, 'utf8').split('\n'))
      if (l.startsWith('AGE-SECRET-KEY-1')) d.addIdentity(l.trim());
  } else {
    d.addPassphrase(key);
  }
  const text = Buffer.from(bytes).toString('latin1').trimStart();
  const file = text.startsWith('-----BEGIN AGE ENCRYPTED FILE-----') ? age.armor.decode(text) : bytes;
  writeFileSync(output, await d.decrypt(file));
}
