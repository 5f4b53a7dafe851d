// Opens the workbench (which starts the Node extension host); the harness extension runs the mocha suite in there
// and writes the result file. Usage: node run-exthost-tests.js <workbenchUrl> <resultFile> <shotsDir>
const fs = require('fs');
const { launch } = require('./browser');
const [url, resultFile, shots] = process.argv.slice(2);
(async () => {
  const browser = await launch();
  const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
  await page.goto(url);
  const t0 = Date.now();
  while (!fs.existsSync(resultFile) && Date.now() - t0 < 640000) await new Promise(r => setTimeout(r, 250));
  await page.screenshot({ path: `${shots}/00-exthost-tests.png` });
  await browser.close();
  const res = fs.existsSync(resultFile) ? JSON.parse(fs.readFileSync(resultFile, 'utf8')) : { code: 'timeout' };
  if (res.code !== 0) console.error('extension-host tests failed:', res);
  process.exit(res.code === 0 ? 0 : 1);
})().catch(e => { console.error(e); process.exit(1); });
