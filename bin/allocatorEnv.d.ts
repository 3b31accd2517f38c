// Types of bin/allocatorEnv.js (plain JavaScript: it runs before tsx is registered).
export declare const ALLOCATOR_TUNABLES: string;
export declare function allocatorEnv(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): Record<string, string>;
