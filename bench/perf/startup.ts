// Start-up of a one-shot segment: milliseconds from process start to the models validated (sha256 of each file used
// by G2L + guidance; what `hybridgl segment` waits for, its sessions being created at first use) or, with `eager`, to
// every session also created (no warm-up).
// usage: npx tsx bench/perf/startup.ts MODELS_DIR [eager]   (cold cache: sync; echo 3 > /proc/sys/vm/drop_caches)
import { commandAllocatorTuning } from '../../src/models/allocatorTuning.ts';
import { loadModels, type ModelName } from '../../src/models/loadModels.ts';

const used: ModelName[] = ['sam_encoder', 'sam_decoder', 'clip_trunk', 'clip_head_g2l', 'clip_text', 'gem_visual'];
const eager = process.argv[3] === 'eager';
const imported = performance.now();
const models = await loadModels(process.argv[2], { device: 'cpu', models: used, lazy: !eager, warmup: false, allocator: commandAllocatorTuning() });
const ready = performance.now();
await models.dispose();
console.log(`${eager ? 'eager' : 'lazy'}: since process start, modules imported ${imported.toFixed(0)} ms, ` +
  `models ready ${ready.toFixed(0)} ms (loadModels ${(ready - imported).toFixed(0)} ms)`);
