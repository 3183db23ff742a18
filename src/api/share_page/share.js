// The share-link reveal page (docs/client-side-encryption.md "Share links", format v1).
// The link is https://SERVER/s/<id>#<K>, K = 32 random bytes, base64url without padding.
//   proof = HKDF-SHA-256(K, salt = "", info = "sirr-share-v1 proof", 32 bytes)
//   key   = HKDF-SHA-256(K, salt = "", info = "sirr-share-v1 encrypt", 32 bytes)
//   blob  = 0x01 || nonce (12) || AES-256-GCM(key, nonce, plaintext, aad = "sirr-share-v1")
// The page sends only the proof (the server keeps SHA-256 of it); K never leaves the browser.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const te = new TextEncoder();
  const setState = (s) => { document.body.dataset.state = s; };
  const problem = (title, text) => {
    $('problem-title').textContent = title;
    $('problem-text').textContent = text;
    setState('problem');
  };

  const fromB64url = (s) => {
    if (!/^[A-Za-z0-9_-]*$/.test(s)) return null;
    const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4));
    return Uint8Array.from(b, (c) => c.charCodeAt(0));
  };
  const toB64url = (u8) => btoa(String.fromCharCode(...u8))
      .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const fromB64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

  async function hkdf(k, info) {
    const base = await crypto.subtle.importKey('raw', k, 'HKDF', false, ['deriveBits', 'deriveKey']);
    return crypto.subtle.deriveBits(
        {name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: te.encode(info)}, base, 256);
  }

  async function open(k, blob) {
    if (blob.length < 1 + 12 + 16 || blob[0] !== 1) throw new Error('unknown share format');
    const key = await crypto.subtle.importKey('raw', await hkdf(k, 'sirr-share-v1 encrypt'),
                                              'AES-GCM', false, ['decrypt']);
    return new Uint8Array(await crypto.subtle.decrypt(
        {name: 'AES-GCM', iv: blob.subarray(1, 13), additionalData: te.encode('sirr-share-v1')},
        key, blob.subarray(13)));
  }

  function show(plain) {
    let text = null;
    try {
      text = new TextDecoder('utf-8', {fatal: true}).decode(plain);
    } catch (e) {
      text = null;
    }
    const pre = $('value');
    if (text !== null) {
      pre.textContent = text;
    } else {
      pre.textContent = `(binary value, ${plain.length} bytes)`;
      $('copy').hidden = true;
      const a = $('download');
      a.href = URL.createObjectURL(new Blob([plain], {type: 'application/octet-stream'}));
      a.download = 'secret.bin';
      a.hidden = false;
    }
    setState('shown');
    $('copy').addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(text);
      } catch (e) {  // older browsers, or no clipboard permission: select and copy
        const range = document.createRange();
        range.selectNodeContents(pre);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        document.execCommand('copy');
      }
      $('copied').textContent = 'Copied';
    });
  }

  async function reveal(id, k) {
    $('reveal').disabled = true;
    const proof = new Uint8Array(await hkdf(k, 'sirr-share-v1 proof'));
    const r = await fetch(`/api/v1/shares/${encodeURIComponent(id)}/reveal`, {
      method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({proof: toB64url(proof)}),
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
    // The key must not stay in the address bar or the history once the link is used up (a
    // refusal that consumed nothing keeps it, so the person can retry).
    const forget = () => history.replaceState(null, '', location.pathname);
    if (r.status === 404 || r.status === 410) {
      forget();
      return setState('gone');
    }
    if (r.status === 429) {
      const wait = r.headers.get('Retry-After') || 'a few';
      $('reveal').disabled = false;
      return problem('Too many attempts', `Try again in ${wait} seconds.`);
    }
    if (!r.ok) {
      $('reveal').disabled = false;
      return problem('The server could not answer',
                     `HTTP ${r.status}. Nothing was used up; try again later.`);
    }
    forget();
    const body = await r.json();
    let plain;
    try {
      plain = await open(k, fromB64(body.ciphertext));
    } catch (e) {
      return problem('This secret cannot be decrypted',
                     'The link is damaged (its key does not match). The link is now used up.');
    }
    show(plain);
  }

  function start() {
    if (document.body.dataset.state !== 'live') return;
    const id = location.pathname.split('/').pop();
    const k = fromB64url(location.hash.slice(1));
    if (!k || k.length !== 32) {
      return problem('This link is incomplete',
                     'The part after “#” is missing or damaged, so the secret cannot be ' +
                     'decrypted. Nothing was used up: copy the whole link and try again.');
    }
    if (!window.crypto || !crypto.subtle) {
      return problem('This page needs HTTPS',
                     'Your browser decrypts only on a secure (HTTPS) page. Nothing was used up.');
    }
    $('reveal').addEventListener('click', () => {
      reveal(id, k).catch(() => {
        $('reveal').disabled = false;
        problem('The server could not be reached', 'Nothing was used up; try again.');
      });
    });
  }

  start();
})();
