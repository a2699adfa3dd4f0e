#!/usr/bin/env node
// Crops PNGs with Debian's Chromium (playwright-core), no image library needed:
//   node scripts/crop-png.mjs IN OUT X Y WIDTH HEIGHT [IN OUT X Y WIDTH HEIGHT]...
// Used by scripts/update-screenshots.sh to cut the walkthrough's pictures (the
// side bar, the editor) out of whole-window UI test screenshots, so that they stay
// readable in the walkthrough's narrow media column.
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 0 || args.length % 6 !== 0) {
  console.error('usage: node scripts/crop-png.mjs IN OUT X Y WIDTH HEIGHT [...]');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.ZMQ_TEST_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
try {
  const page = await browser.newPage({ deviceScaleFactor: 1 });
  for (let i = 0; i < args.length; i += 6) {
    const [input, output] = args.slice(i, i + 2);
    const [x, y, width, height] = args.slice(i + 2, i + 6).map(Number);
    const data = readFileSync(input).toString('base64');
    await page.setViewportSize({ width: 4000, height: 3000 });
    await page.setContent(`<body style="margin:0"><img src="data:image/png;base64,${data}"></body>`);
    const size = await page.locator('img').evaluate((img) => ({ w: img.naturalWidth, h: img.naturalHeight }));
    if (x + width > size.w || y + height > size.h) throw new Error(`${input} is ${size.w}×${size.h}: cannot crop ${width}×${height} at ${x},${y}`);
    await page.screenshot({ path: output, clip: { x, y, width, height } });
    console.log(`${output}  <-  ${input} (${width}×${height} at ${x},${y})`);
  }
} finally {
  await browser.close();
}
