// The web page of `hybridgl serve` in headless Chromium (Debian's /usr/bin/chromium through playwright-core): load
// it, drop in the demo photo, ask two expressions, check what it drew against the API's answer, then a third
// expression on the same photo that comes from the cache; a screenshot of each state is saved. Skips only when no
// Chromium is installed.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DEMO_IMAGE, FIXTURE_MODELS } from '../bench/loadtest.ts';
import { rleArea } from '../bindings/rle.ts';
import { createSegmenter, type Segmenter } from '../src/segmenter.ts';
import { createLocalEngine, type SegmentEngine } from '../src/serve/engine.ts';
import { createService, type Service } from '../src/serve/server.ts';
import { CLIP_VOCAB_PATH } from './sharedData.ts';

const CHROMIUM = process.env.HYBRIDGL_CHROMIUM ?? '/usr/bin/chromium';
/** Where the screenshots go (kept after the run, to be looked at). */
const SHOTS = process.env.HYBRIDGL_SCREENSHOT_DIR ?? tmpdir();

describe.skipIf(!existsSync(CHROMIUM) || !existsSync(CLIP_VOCAB_PATH))('the hybridgl page in headless Chromium', () => {
  let segmenter: Segmenter, engine: SegmentEngine, service: Service, context: BrowserContext, url: string, profile: string;

  beforeAll(async () => {
    segmenter = await createSegmenter({ models: FIXTURE_MODELS, vocabPath: CLIP_VOCAB_PATH });
    engine = createLocalEngine(segmenter, { maxEntries: 4, maxBytes: 2 ** 30 });
    service = await createService({ engine, maxPixels: 4096 * 4096, maxBodyBytes: 32 * 2 ** 20, timeoutMs: 60_000, maxQueue: 4 });
    const { port } = await service.listen('127.0.0.1', 0);
    url = `http://127.0.0.1:${port}`;
    profile = mkdtempSync(join(tmpdir(), 'hybridgl-chromium-'));
    // A fresh profile directory: nothing from an earlier run or another user.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 1000 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run'],
    });
  });

  afterAll(async () => {
    await context?.close();
    await service?.shutdown();
    await segmenter?.dispose();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('segments a dropped photo, draws each mask with its candidates and timings, and answers again from the cache', async () => {
    const page = await context.newPage();
    const external: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(url) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) external.push(r.url());
    });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}/`);
    expect(await page.title()).toBe('hybridgl');
    await page.setInputFiles('#file', DEMO_IMAGE);
    await page.waitForFunction(() => !(document.getElementById('submit') as HTMLButtonElement).disabled);
    expect(await page.textContent('#drop-text')).toMatch(/480×320/);
    await page.fill('#expressions', 'the dog on the left\nthe bowl');
    await page.click('#submit');
    await page.waitForSelector('#cached[data-cached]');

    const response = await page.evaluate(() => (window as unknown as { lastResponse: any }).lastResponse); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(response.cached).toBe(false);
    const cards = page.locator('.result');
    expect(await cards.count()).toBe(2);
    for (const [i, r] of response.results.entries()) {
      const card = cards.nth(i);
      expect(await card.getAttribute('data-expression')).toBe(r.expression);
      const canvas = card.locator('canvas');
      // The drawing is the chosen proposal's mask, at the photo's size, every mask pixel tinted.
      expect(await canvas.getAttribute('data-proposal')).toBe(String(r.proposal));
      expect(Number(await canvas.getAttribute('data-mask-pixels'))).toBe(rleArea(r.mask));
      expect(await canvas.evaluate((c: HTMLCanvasElement) => [c.width, c.height])).toEqual([480, 320]);
      const rows = card.locator('tbody tr');
      expect(await rows.count()).toBe(r.candidates.length);
      const first = await rows.nth(0).locator('td').allTextContents();
      const c0 = r.candidates[0];
      expect(first).toEqual([`#${c0.proposal}`, c0.clip.toFixed(2), c0.relation?.toFixed(3) ?? '', c0.coherence === null ? 'NaN' : c0.coherence?.toFixed(3) ?? '', c0.final?.toFixed(3) ?? '']);
      expect(await card.locator('tr.chosen').getAttribute('data-proposal')).toBe(String(r.proposal));
    }
    // The first expression's colour (red) is really on the canvas.
    const tinted = await cards.nth(0).locator('canvas').evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let reddish = 0;
      for (let p = 0; p < d.length; p += 4) if (d[p] > d[p + 1] + 60 && d[p] > d[p + 2] + 60) reddish++;
      return reddish;
    });
    expect(tinted).toBeGreaterThan(0);
    const stages = await page.locator('#timings tbody tr').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.stage));
    expect(stages).toEqual(expect.arrayContaining(['queue', 'decode', 'samEncoder', 'gem', 'total']));
    await page.screenshot({ path: join(SHOTS, 'hybridgl-page.png'), fullPage: true });

    // Clicking another candidate draws its mask instead.
    const other = response.results[0].candidates.find((c: { proposal: number }) => c.proposal !== response.results[0].proposal);
    if (other) {
      await cards.nth(0).locator(`tr[data-proposal="${other.proposal}"]`).click();
      expect(await cards.nth(0).locator('canvas').getAttribute('data-proposal')).toBe(String(other.proposal));
      expect(Number(await cards.nth(0).locator('canvas').getAttribute('data-mask-pixels'))).toBe(rleArea(other.mask));
    }

    // A new expression on the same photo: answered from the cache, without the image stages.
    await page.fill('#expressions', 'the person on the right');
    await page.click('#submit');
    await page.waitForFunction(() => document.querySelectorAll('.result').length === 1 && document.getElementById('cached')!.dataset.cached === 'true');
    expect(await page.locator('.result').getAttribute('data-expression')).toBe('the person on the right');
    expect(await page.textContent('#status')).toMatch(/from the cache/);
    const cachedStages = await page.locator('#timings tbody tr').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.stage));
    expect(cachedStages).not.toContain('samEncoder');
    await page.screenshot({ path: join(SHOTS, 'hybridgl-page-cached.png'), fullPage: true });

    // A blank expression list is refused by the page itself.
    await page.fill('#expressions', '   ');
    await page.click('#submit');
    expect(await page.textContent('#status')).toMatch(/at least one expression/);
    expect(errors).toEqual([]);
    expect(external).toEqual([]);
    expect(engine.cacheStats()).toMatchObject({ entries: 1, misses: 1, hits: 1 });
  });
});
