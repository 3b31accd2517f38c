// Loads the compiled addon: a prebuild for this platform (prebuildify) or the local cmake-js build.
import { createRequire } from 'node:module';

import type { NativeAddon } from './addon.ts';
import { withKernelTrace } from './kernelTrace.ts';
import { PACKAGE_ROOT as root } from './packageRoot.ts';

const require = createRequire(import.meta.url);

function load(): NativeAddon {
  try {
    return require('node-gyp-build')(root);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(
      `hybridgl: the native addon is not built (${why}). Run 'npm install' (or 'npm run build:native') in ${root}.`,
    );
  }
}

/** The raw addon, each call reported to the kernel trace hook when one is set. Use the typed wrappers in bindings/
 *  rather than this. */
export const native: NativeAddon = withKernelTrace(load());
