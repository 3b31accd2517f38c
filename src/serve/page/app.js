// The hybridgl page: sends the photo and expressions to POST /v1/segment and draws each answer over the photo.
// Masks arrive as COCO RLE and are decoded here; nothing is loaded from anywhere but this server.

const $ = (id) => document.getElementById(id);
const form = $('form'), fileInput = $('file'), drop = $('drop'), preview = $('preview');
const expressionsInput = $('expressions'), tokenInput = $('token'), submit = $('submit'), statusLine = $('status');
const COLORS = [[230, 40, 40], [40, 120, 230], [40, 170, 60], [220, 150, 20], [160, 60, 200], [20, 170, 170]];

let photo = null; // { file, bitmap }

tokenInput.value = sessionStorage.getItem('hybridgl-token') ?? '';
tokenInput.addEventListener('change', () => sessionStorage.setItem('hybridgl-token', tokenInput.value));

function setStatus(text, kind = '') {
  statusLine.textContent = text;
  statusLine.className = kind;
}

async function choose(file) {
  if (!file || !file.type.startsWith('image/')) {
    setStatus('That is not an image file.', 'error');
    return;
  }
  // The server decodes like PIL: no EXIF rotation, so the drawing ignores it too.
  const bitmap = await createImageBitmap(file, { imageOrientation: 'none' });
  photo = { file, bitmap };
  preview.src = URL.createObjectURL(file);
  preview.hidden = false;
  $('drop-text').textContent = `${file.name} (${bitmap.width}×${bitmap.height})`;
  submit.disabled = false;
  setStatus('');
}

fileInput.addEventListener('change', () => choose(fileInput.files[0]));
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  choose(e.dataTransfer.files[0]);
});
drop.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' || e.key === ' ') fileInput.click();
});

/** COCO's compressed RLE string to run lengths (pycocotools' rleFrString). */
function rleCounts(s) {
  const counts = [];
  let p = 0;
  while (p < s.length) {
    let x = 0, k = 0, more = 1;
    while (more) {
      const c = s.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = c & 0x20;
      p++;
      k++;
      if (!more && (c & 0x10)) x |= -1 << (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

/** A COCO RLE (column-major runs, zeros first) to a row-major h×w 0/1 mask. */
function decodeRle(rle) {
  const [h, w] = rle.size;
  const mask = new Uint8Array(h * w);
  let i = 0, value = 0;
  for (const run of rleCounts(rle.counts)) {
    if (value) for (let j = i; j < i + run; j++) mask[(j % h) * w + Math.floor(j / h)] = 1;
    i += run;
    value ^= 1;
  }
  return mask;
}

/** The photo with `mask` tinted in `color` and its XYWH box outlined; returns the number of mask pixels. */
function draw(canvas, candidate, color) {
  const { bitmap } = photo;
  const [h, w] = candidate.mask.size;
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bitmap, 0, 0, w, h);
  const pixels = ctx.getImageData(0, 0, w, h);
  const mask = decodeRle(candidate.mask);
  let area = 0;
  for (let p = 0; p < mask.length; p++) {
    if (!mask[p]) continue;
    area++;
    for (let c = 0; c < 3; c++) pixels.data[4 * p + c] = Math.round(pixels.data[4 * p + c] * 0.45 + color[c] * 0.55);
  }
  ctx.putImageData(pixels, 0, 0);
  const [x, y, bw, bh] = candidate.bbox;
  ctx.strokeStyle = `rgb(${color.join(',')})`;
  ctx.lineWidth = Math.max(2, Math.round(Math.min(w, h) / 150));
  ctx.strokeRect(x, y, Math.max(bw, 1), Math.max(bh, 1));
  canvas.dataset.proposal = String(candidate.proposal);
  canvas.dataset.maskPixels = String(area);
  return area;
}

const fmt = (x, digits = 3) => (x === undefined ? '' : x === null ? 'NaN' : x.toFixed(digits));

function showResult(result, index) {
  const node = $('result-template').content.firstElementChild.cloneNode(true);
  const color = COLORS[index % COLORS.length];
  node.dataset.expression = result.expression;
  node.querySelector('h3').textContent = result.expression;
  const canvas = node.querySelector('canvas');
  const parse = result.parse;
  const parseText = [parse.position && `position ${parse.position}`, parse.relation && `relation ${parse.relation}`,
    parse.otherNouns?.length && `other nouns ${parse.otherNouns.join(', ')}`].filter(Boolean).join('; ');
  node.querySelector('.choice').textContent = `Chose proposal #${result.proposal} (score ${fmt(result.score)}); ` +
    `pure HybridGL would choose #${result.hybrid.proposal}.${parseText ? ` Parse: ${parseText}.` : ''}`;
  const tbody = node.querySelector('tbody');
  const rows = [];
  const select = (candidate, row) => {
    draw(canvas, candidate, color);
    for (const r of rows) r.classList.toggle('shown', r === row);
  };
  for (const c of result.candidates) {
    const row = document.createElement('tr');
    row.dataset.proposal = String(c.proposal);
    if (c.proposal === result.proposal) row.classList.add('chosen');
    for (const v of [`#${c.proposal}`, fmt(c.clip, 2), fmt(c.relation), fmt(c.coherence), fmt(c.final)]) {
      const td = document.createElement('td');
      td.textContent = v;
      row.append(td);
    }
    row.addEventListener('click', () => select(c, row));
    rows.push(row);
    tbody.append(row);
  }
  $('results').append(node);
  select({ proposal: result.proposal, mask: result.mask, bbox: result.bbox }, rows.find((r) => r.classList.contains('chosen')));
}

function showTimings(response) {
  const tbody = $('timings').querySelector('tbody');
  tbody.replaceChildren();
  const perExpression = {};
  for (const r of response.results) for (const [k, v] of Object.entries(r.timings)) perExpression[k] = (perExpression[k] ?? 0) + v;
  const rows = [...Object.entries(response.timings), ...Object.entries(perExpression).map(([k, v]) => [`  ${k} (all expressions)`, v])];
  for (const [stage, ms] of rows) {
    const row = document.createElement('tr');
    row.dataset.stage = stage.trim();
    for (const v of [stage, ms.toFixed(1)]) {
      const td = document.createElement('td');
      td.textContent = v;
      row.append(td);
    }
    tbody.append(row);
  }
  const cached = $('cached');
  cached.textContent = response.cached ? 'image from the cache' : 'image prepared now';
  cached.className = response.cached ? 'hit' : 'miss';
  cached.dataset.cached = String(response.cached);
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const expressions = expressionsInput.value.split('\n').map((s) => s.trim()).filter(Boolean);
  if (!photo) return setStatus('Choose a photo first.', 'error');
  if (expressions.length === 0) return setStatus('Type at least one expression.', 'error');
  const body = new FormData();
  body.append('image', photo.file);
  for (const x of expressions) body.append('expression', x);
  const headers = tokenInput.value ? { Authorization: `Bearer ${tokenInput.value}` } : {};
  submit.disabled = true;
  setStatus(`Segmenting ${expressions.length} expression${expressions.length > 1 ? 's' : ''}…`, 'busy');
  const t0 = performance.now();
  try {
    const res = await fetch('v1/segment', { method: 'POST', body, headers });
    const json = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
    if (!res.ok) {
      setStatus(`Error ${res.status}${json.field ? ` (${json.field})` : ''}: ${json.error}`, 'error');
      return;
    }
    window.lastResponse = json;
    $('results').replaceChildren();
    json.results.forEach(showResult);
    showTimings(json);
    $('output').hidden = false;
    setStatus(`${json.results.length} result${json.results.length > 1 ? 's' : ''} from ${json.image.proposals} proposals ` +
      `in ${(performance.now() - t0).toFixed(0)} ms${json.cached ? ' (image from the cache)' : ''}.`, 'done');
  } catch (err) {
    setStatus(`The request failed: ${err.message}`, 'error');
  } finally {
    submit.disabled = false;
  }
});
