// Runs a model directory's reference cases (models/export.py --reference) through onnxruntime-node and prints the
// relative error of every output: `npx tsx scripts/models/compare_reference.ts DIR [fp32|fp16] [tolerance]`.
import { loadModels, type Precision } from '../../src/models/loadModels.ts';
import { loadReference, referenceErrors } from '../../test/modelReference.ts';

const [dir, precision = 'fp32', tolerance = '1e-5'] = process.argv.slice(2);
if (!dir) {
  console.error('usage: compare_reference.ts DIR [fp32|fp16] [tolerance]');
  process.exit(2);
}
const models = await loadModels(dir, { device: 'auto', precision: precision as Precision, warmup: false });
let worst = 0;
for (const [model, output, err] of await referenceErrors(models, loadReference(dir))) {
  console.log(`${model.padEnd(26)} ${output.padEnd(18)} relative error ${err.toExponential(3)}`);
  worst = Math.max(worst, err);
}
await models.dispose();
console.log(`worst ${worst.toExponential(3)} (tolerance ${tolerance}, ${precision}, ${models.device})`);
process.exit(worst <= Number(tolerance) ? 0 : 1);
