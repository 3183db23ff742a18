// Opens share links in headless Chromium (Debian's /usr/bin/chromium, driven by puppeteer-core
// over the DevTools protocol) the way a person would: the page asks first, "Reveal" fetches and
// decrypts in the browser, the value shows with a copy button, a reload says the link is gone.
// Run from .oracles/node (ESM resolves puppeteer-core beside the script):
//   node share_reveal.mjs LINK LINK_PHONE LINK_NOFRAGMENT SECRET SHOTS_DIR
// Exit 0 when every check holds; prints each check.
import puppeteer from 'puppeteer-core';

const [link, phoneLink, noFragmentLink, secret, shots] = process.argv.slice(2);
const fail = (m) => { console.error(`FAIL: ${m}`); process.exit(1); };
const ok = (m) => console.log(`ok: ${m}`);

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-dev-shm-usage'],
});
try {
  const problems = [];
  const open = async (url, viewport) => {
    const page = await browser.newPage();
    await page.setViewport(viewport);
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().includes('404')) problems.push(`console: ${m.text()}`);
    });
    const resp = await page.goto(url, {waitUntil: 'networkidle0'});
    return {page, status: resp.status()};
  };
  const state = (page) => page.evaluate(() => document.body.dataset.state);
  const visibleText = (page) => page.evaluate(() => document.body.innerText);

  // 1. Desktop: ask, reveal, value, copy, gone on reload.
  const desktop = {width: 1100, height: 760, deviceScaleFactor: 1};
  let {page, status} = await open(link, desktop);
  if (status !== 200) fail(`the link's page answered ${status}`);
  if ((await state(page)) !== 'live') fail(`state ${await state(page)} before revealing`);
  if ((await visibleText(page)).includes(secret)) fail('the secret shows before "Reveal"');
  if (!(await visibleText(page)).includes('Reveal the secret')) fail('no reveal button');
  ok('the page asks before revealing');
  await page.screenshot({path: `${shots}/share-ask.png`});
  await page.click('#reveal');
  await page.waitForFunction(() => document.body.dataset.state !== 'live', {timeout: 10000});
  if ((await state(page)) !== 'shown') fail(`after Reveal: state ${await state(page)}: ${await visibleText(page)}`);
  const shown = await page.$eval('#value', (e) => e.textContent);
  if (shown !== secret) fail(`shown value ${JSON.stringify(shown)} is not the secret`);
  ok('Reveal decrypts and shows the value');
  if (page.url().includes('#')) fail('the key stayed in the address bar after the reveal');
  ok('the key is removed from the address bar');
  const ctx = browser.defaultBrowserContext();
  await ctx.overridePermissions(new URL(link).origin, ['clipboard-read', 'clipboard-write']);
  await page.click('#copy');
  await page.waitForFunction(() => document.getElementById('copied').textContent === 'Copied');
  const clip = await page.evaluate(() => navigator.clipboard.readText());
  if (clip !== secret) fail('the copy button did not copy the value');
  ok('the copy button copies the value');
  await page.screenshot({path: `${shots}/share-revealed.png`});
  await page.reload({waitUntil: 'networkidle0'});
  if ((await state(page)) !== 'gone') fail(`reload: state ${await state(page)}`);
  if (!(await visibleText(page)).includes('no longer available')) fail('reload: no "no longer available"');
  ok('a reload says the link is no longer available');
  await page.close();
  ({page, status} = await open(link, desktop));  // the whole link again, in a new tab
  if (status !== 404 || (await state(page)) !== 'gone') fail(`the used link again: ${status}`);
  if ((await visibleText(page)).includes(secret)) fail('the used link shows the value');
  ok('the used link, opened again with its key, is no longer available');
  await page.screenshot({path: `${shots}/share-gone.png`});
  await page.close();

  // 2. A link without its fragment: a clear message, nothing consumed.
  ({page} = await open(noFragmentLink, desktop));
  if ((await state(page)) !== 'problem' || !(await visibleText(page)).includes('incomplete'))
    fail(`a link without its key: ${await visibleText(page)}`);
  ok('a link without its key says so (and consumes nothing)');
  await page.close();

  // 3. Phone-sized viewport.
  const phone = {width: 390, height: 844, deviceScaleFactor: 2, isMobile: true, hasTouch: true};
  ({page} = await open(phoneLink, phone));
  const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  if (!fits) fail('the page scrolls sideways on a phone');
  await page.screenshot({path: `${shots}/share-ask-phone.png`});
  await page.tap('#reveal');
  await page.waitForFunction(() => document.body.dataset.state === 'shown', {timeout: 10000});
  if ((await page.$eval('#value', (e) => e.textContent)) !== secret) fail('phone: wrong value');
  await page.screenshot({path: `${shots}/share-revealed-phone.png`});
  ok('on a phone-sized viewport the page fits and reveals');
  await page.close();

  if (problems.length) fail(`the page logged problems (CSP or script): ${problems.join('; ')}`);
  ok('no script errors and no Content-Security-Policy violations');
} finally {
  await browser.close();
}
