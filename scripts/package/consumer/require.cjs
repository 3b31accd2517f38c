// CommonJS: require('hybridgl') loads the ES module package (require(esm), Node >= 20.19 and >= 22.12), and its API
// works from there.
const { createSegmenter, rleDecode, rleEncode, backendInfo } = require('hybridgl');

if (typeof createSegmenter !== 'function') throw new Error('require(\'hybridgl\') gave no createSegmenter');
const mask = Uint8Array.from([0, 1, 1, 0, 1, 0]); // 2×3, row-major
const rle = rleEncode(mask, 2, 3);
const back = rleDecode(rle);
if (back.length !== mask.length || back.some((v, i) => v !== mask[i])) throw new Error(`RLE round trip: ${[...back]}`);
console.log(`require('hybridgl'): ok (backend ${backendInfo().cuda ? 'cuda' : 'cpu'}, counts ${Array.from(rle.counts).join(",")})`);
