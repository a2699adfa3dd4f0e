#!/usr/bin/env node
// Renders the marketplace icon media/icon.png (128×128; vsce accepts only PNG for
// `icon`) from the SVG below, with Debian's Chromium through playwright-core.
// The artwork is the activity-bar glyph (media/zeromq.svg: two rings and four
// spokes) drawn as a small topology: the spokes end in peer nodes, one of them
// highlighted as the socket under observation. Rerun after changing the SVG and
// commit both:  node scripts/make-icon.mjs [out.png]
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2] ?? join(ROOT, 'media', 'icon.png');
const SIZE = 128;

const svg = `
<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}" viewBox="0 0 128 128">
  <defs>
    <linearGradient id="bg" x1="0" y1="0" x2="1" y2="1">
      <stop offset="0" stop-color="#263a5e"/>
      <stop offset="1" stop-color="#101a2e"/>
    </linearGradient>
  </defs>
  <rect x="4" y="4" width="120" height="120" rx="24" fill="url(#bg)"/>
  <g fill="none" stroke="#e8eefc" stroke-width="6" stroke-linecap="round">
    <circle cx="64" cy="64" r="34"/>
    <circle cx="64" cy="64" r="15"/>
    <path d="M16 64h33M79 64h33M64 16v33M64 79v33"/>
  </g>
  <g stroke="#101a2e" stroke-width="4">
    <circle cx="16" cy="64" r="9" fill="#e8eefc"/>
    <circle cx="64" cy="16" r="9" fill="#e8eefc"/>
    <circle cx="64" cy="112" r="9" fill="#e8eefc"/>
    <circle cx="112" cy="64" r="10" fill="#f25c3c"/>
  </g>
  <circle cx="64" cy="64" r="6" fill="#f25c3c"/>
</svg>`;

const browser = await chromium.launch({
  executablePath: process.env.ZMQ_TEST_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: SIZE, height: SIZE }, deviceScaleFactor: 1 });
  await page.setContent(`<!doctype html><html><body style="margin:0;background:transparent">${svg}</body></html>`);
  mkdirSync(dirname(out), { recursive: true });
  await page.locator('svg').screenshot({ path: out, omitBackground: true });
  console.log(`wrote ${out} (${SIZE}×${SIZE})`);
} finally {
  await browser.close();
}
