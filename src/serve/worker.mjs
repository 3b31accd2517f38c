// The model worker's entry when the service runs from the TypeScript source (a clone): tsx first, as bin/hybridgl.js
// does for the main thread. Compiled (the package), worker.js is the entry.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
