// Launches Debian's chromium through playwright-core (no browser download). CHROMIUM overrides the binary.
const { chromium } = require('playwright-core');
exports.launch = () => chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
