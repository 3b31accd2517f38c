// The model worker's entry: TypeScript through tsx, as bin/hybridgl.js does for the main thread.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
